package dashboard

import (
	"fmt"
	"html/template"
	"net/url"
	"strings"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/msgscript/msgscript/engine"
)

// page is what a template renders.
type page struct {
	Title     string
	RefreshMS int64
	Updated   time.Time
	Style     template.CSS
	Script    template.JS
	Running   bool
	Missing   bool // the script asked for is not there
	Instance  instance
	Scripts   []row   // the list page
	Summary   string  // the list page's one line: how many scripts, how many in trouble, how many calls
	Detail    *detail // a script's page
}

// summary counts the scripts, those in trouble and the calls in one line.
func summary(rows []row) string {
	var broken, failing int
	var calls, errs uint64
	for _, r := range rows {
		calls += r.Calls
		errs += r.Errors + r.Timeouts + r.Refused
		switch r.Health {
		case "bad":
			broken++
		case "warn":
			failing++
		}
	}
	return fmt.Sprintf("%s: %d with no version serving, %d with a problem; %s, %s failed.",
		plural(len(rows), "script"), broken, failing, plural(int(calls), "call"), humanize.Comma(int64(errs)))
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return humanize.Comma(int64(n)) + " " + what + "s"
}

// instance is the summary at the top of every page.
type instance struct {
	Service, ID, Version, Caddy, NATS, QueueGroup, Sandbox, MemoryLimit string
	InFlight, Waiting, IdleStates                                       int
	Loads, CompileFailures                                              uint64
}

func instanceOf(i engine.Instance) instance {
	sandbox := "off"
	if i.Sandbox {
		sandbox = "on"
	}
	return instance{
		Service: i.Service, ID: i.ID, Version: i.Version, Caddy: i.Caddy, NATS: i.NATS, QueueGroup: i.QueueGroup,
		Sandbox: sandbox, MemoryLimit: humanize.IBytes(i.MemoryLimit),
		InFlight: i.Activity.InFlight, Waiting: i.Activity.Waiting, IdleStates: i.Activity.IdleStates,
		Loads: i.Activity.Loads, CompileFailures: i.Activity.CompileFailures,
	}
}

// row is one script in the list, and the top of its page.
type row struct {
	Key                 string // subject and name: what the page's refresh matches cells by
	Subject, Name, Link string
	State               string
	Health              string // ok, warn or bad: the state's style (the text says it too)

	Calls, Errors, Timeouts, Refused uint64
	Average, P99                     string
	HasCalls                         bool
	LastCall                         moment
	HasError                         bool
	LastError                        string
	LastErrorAt                      moment

	CompileError string // why the latest stored version is not serving
	CompileLine  int    // its line, when known

	Origin    string
	Timeout   string
	HTTP      bool
	Libraries []string
	Revision  int64

	Trigger      string // how a stream or a schedule calls the script, and what came of it
	TriggerError string // why that trigger does not run now
	Warnings     []string
}

// moment is a time as the pages show it: how long ago, and exactly in its title.
type moment struct {
	Set        bool
	Ago        string
	ISO, Exact string
}

func momentOf(t *time.Time, now time.Time) moment {
	if t == nil || t.IsZero() {
		return moment{}
	}
	return moment{Set: true, Ago: ago(now.Sub(*t)), ISO: t.UTC().Format(time.RFC3339Nano), Exact: t.Local().Format("2006-01-02 15:04:05 MST")}
}

func rowOf(st engine.ScriptStatus, now time.Time) row {
	c := st.Calls
	r := row{
		Key: st.Subject + " " + st.Name, Subject: st.Subject, Name: st.Name, Link: scriptLink(st.Subject, st.Name),
		Calls: c.Total, Errors: c.Errors, Timeouts: c.Timeouts, Refused: c.Refused,
		Average: "–", P99: "–", LastCall: momentOf(c.LastCall, now),
		Origin: st.Origin, Timeout: st.Timeout, HTTP: st.HTTP, Libraries: st.Libraries, Revision: st.Revision,
		CompileError: st.Error, HasCalls: c.Total > 0,
	}
	if ran := c.Total - c.Refused; ran > 0 {
		r.Average = duration(c.Average)
		r.P99 = quantile(c.Buckets, 0.99)
	}
	if c.LastError != nil {
		r.LastError, r.LastErrorAt, r.HasError = c.LastError.Msg, momentOf(&c.LastError.At, now), true
	}
	if st.ErrorLine != nil {
		r.CompileLine = st.ErrorLine.Line
	}
	if tr := st.Trigger; tr != nil {
		r.Trigger, r.TriggerError = triggerOf(tr), tr.Error
	}
	r.Warnings = st.Warnings
	switch {
	case st.NotServed != "":
		r.State, r.Health = st.NotServed, "bad"
	case st.Version == "":
		r.State, r.Health = "does not compile", "bad"
	case st.Error != "":
		r.State, r.Health = "serving "+st.Version+"; stored "+st.Stored+" does not compile", "warn"
	case st.Trigger != nil && !st.Trigger.Running:
		r.State, r.Health = "serving "+st.Version+"; its trigger does not run", "warn"
	case c.LastError != nil && c.LastCall != nil && !c.LastError.At.Before(*c.LastCall):
		r.State, r.Health = "serving "+st.Version+"; last call failed", "warn"
	default:
		r.State, r.Health = "serving "+st.Version, "ok"
	}
	return r
}

// triggerOf says how a trigger calls its script and what came of it.
func triggerOf(tr *engine.TriggerStatus) string {
	if tr.Stream != "" {
		return fmt.Sprintf("stream %s (consumer %s): %d acked, %d retried, %d dead-lettered",
			tr.Stream, tr.Consumer, tr.Acked, tr.Retried, tr.Dead)
	}
	return fmt.Sprintf("cron %s: %d ticks run here", tr.Cron, tr.Ticks)
}

// scriptLink is the relative link to a script's page.
func scriptLink(subject, name string) string {
	return "?" + paramSubject + "=" + url.QueryEscape(subject) + "&" + paramName + "=" + url.QueryEscape(name)
}

// detail is a script's page.
type detail struct {
	row
	Buckets    []bucket
	Source     []sourceLine
	ShowSource bool
}

// bucket is one bar of a script's latency histogram.
type bucket struct {
	Label string
	Count uint64
	Max   uint64 // the largest count, the bars' scale
}

func detailOf(st engine.ScriptStatus, now time.Time) detail {
	d := detail{row: rowOf(st, now)}
	var most uint64
	for _, n := range st.Calls.Buckets {
		most = max(most, n)
	}
	for i, n := range st.Calls.Buckets {
		label := "over " + duration(seconds(engine.DurationBuckets[len(engine.DurationBuckets)-1]))
		if i < len(engine.DurationBuckets) {
			label = "up to " + duration(seconds(engine.DurationBuckets[i]))
		}
		d.Buckets = append(d.Buckets, bucket{Label: label, Count: n, Max: max(most, 1)})
	}
	return d
}

// sourceLine is one line of a script's text; Error marks the line its compile error points at.
type sourceLine struct {
	N     int
	Text  string
	Error bool
}

func sourceOf(src []byte, at *engine.ErrorLine) []sourceLine {
	text := strings.TrimSuffix(string(src), "\n")
	lines := strings.Split(text, "\n")
	out := make([]sourceLine, len(lines))
	for i, l := range lines {
		out[i] = sourceLine{N: i + 1, Text: l, Error: at != nil && at.Line == i+1}
	}
	return out
}

// quantile is the upper bound of the bucket that holds the q-th quantile of the calls' durations.
func quantile(buckets []uint64, q float64) string {
	var total uint64
	for _, n := range buckets {
		total += n
	}
	if total == 0 {
		return "–"
	}
	want := uint64(q*float64(total) + 0.999999)
	var seen uint64
	for i, n := range buckets {
		seen += n
		if seen >= want {
			if i < len(engine.DurationBuckets) {
				return "≤ " + duration(seconds(engine.DurationBuckets[i]))
			}
			break
		}
	}
	return "> " + duration(seconds(engine.DurationBuckets[len(engine.DurationBuckets)-1]))
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// duration is d with three significant digits at most: 850µs, 12.5ms, 1.2s.
func duration(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return trim(float64(d)/float64(time.Microsecond)) + "µs"
	case d < time.Second:
		return trim(float64(d)/float64(time.Millisecond)) + "ms"
	default:
		return trim(d.Seconds()) + "s"
	}
}

func trim(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", v), ".0")
	default:
		return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.2f", v), "0"), ".")
	}
}

// ago says how long ago something happened, in the largest whole unit.
func ago(d time.Duration) string {
	switch {
	case d < time.Second:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d/time.Hour))
	default:
		return fmt.Sprintf("%dd ago", int(d/(24*time.Hour)))
	}
}
