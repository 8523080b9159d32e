package script

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseHeaders(t *testing.T) {
	src := "--* subject: funcs.hello\n" +
		"  --* name: hello\r\n" +
		"--* require: web\n" +
		"--* REQUIRE: util\n" +
		"--* html: true\n" +
		"--* timeout: 250ms\n" +
		"-- an ordinary comment: not a header\n" +
		"function OnMessage(s, p) return p end\n"
	h, err := ParseHeaders([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := Headers{Subject: "funcs.hello", SubjectLine: 1, Name: "hello", Requires: []string{"web", "util"}, HTTP: true, Timeout: 250 * time.Millisecond, TimeoutLine: 6}
	if !reflect.DeepEqual(h, want) {
		t.Fatalf("got %+v, want %+v", h, want)
	}
}

func TestParseHeadersErrors(t *testing.T) {
	cases := []headerErrorCase{
		{"\n\n--* timeout: forever\n", "line 3", "positive duration"},
		{"--* timeout: -1s\n", "line 1", "positive duration"},
		{"--* http: maybe\n", "line 1", "true or false"},
		{"--* subject\n", "line 1", "malformed header"},
		{"--* name:\n", "line 1", "has no value"},
		{"--* subject: >\n", "line 1", "wildcard"},
		{"--* name: a/b\n", "line 1", "contains '/'"},
		{"--* reply: text\n", "line 1", "raw or json"},
		{"--* http: true\n--* reply: raw\n", "line 2", "in HTTP mode"},
	}
	wantHeaderErrors(t, cases)
}

func TestParseReplyHeader(t *testing.T) {
	for src, raw := range map[string]bool{"--* reply: raw\n": true, "--* reply: RAW\n": true, "--* reply: json\n": false, "": false} {
		h, err := ParseHeaders([]byte(src))
		if err != nil || h.RawReply != raw {
			t.Errorf("%q: got raw %v, %v; want %v", src, h.RawReply, err, raw)
		}
	}
}

// A store needs the subject and name of a script even when another header is wrong, so that the
// error is reported against that script instead of the file silently vanishing.
func TestParseHeadersKeepsWhatItReadOnError(t *testing.T) {
	h, err := ParseHeaders([]byte("--* subject: funcs.a\n--* timeout: soon\n--* name: a\n"))
	if err == nil {
		t.Fatal("want an error for the bad timeout")
	}
	if h.Subject != "funcs.a" || h.Name != "a" {
		t.Fatalf("got %+v, want subject and name read", h)
	}
}

func TestParseJetStreamHeaders(t *testing.T) {
	src := "--* subject: hooks.github\n--* stream: HOOKS\n--* max_deliver: 3\n--* backoff: 100ms, 2s\n--* deliver: new\n"
	h, err := ParseHeaders([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if h.Stream != "HOOKS" || h.MaxDeliver != 3 || !h.DeliverNew || !reflect.DeepEqual(h.Backoff, []time.Duration{100 * time.Millisecond, 2 * time.Second}) {
		t.Fatalf("got %+v", h)
	}
	if h, err := ParseHeaders([]byte("--* subject: jobs.nightly\n--* cron: @every 1m\n")); err != nil || h.Cron != "@every 1m" {
		t.Fatalf("cron: got %+v, %v", h, err)
	}
}

func TestParseJetStreamHeadersErrors(t *testing.T) {
	cases := []headerErrorCase{
		{"--* stream: a.b\n", "line 1", "does not allow"},
		{"--* stream: S\n--* max_deliver: 0\n", "line 2", "from 1 to 1000"},
		{"--* stream: S\n--* max_deliver: lots\n", "line 2", "from 1 to 1000"},
		{"--* stream: S\n--* backoff: 1s, soon\n", "line 2", `got "soon"`},
		{"--* stream: S\n--* deliver: last\n", "line 2", "new or all"},
		{"--* subject: a\n--* max_deliver: 3\n", "line 2", "needs a `--* stream:` header"},
		{"--* subject: a\n\n--* deliver: new\n", "line 3", "needs a `--* stream:` header"},
		{"--* cron: every day\n", "line 1", "five fields"},
		{"--* cron: @every 10ms\n", "line 1", "a second or more"},
		{"--* cron: 0 0 30 2 *\n", "line 1", "never fires"},
		{"--* cron: 61 * * * *\n", "line 1", "five fields"},
		// robfig/cron panics on a zone with no schedule: it ended the process.
		{"--* cron: CRON_TZ=UTC\n", "line 1", "a time zone and no schedule"},
		{"--* cron: TZ=Europe/Paris\n", "line 1", "a time zone and no schedule"},
		{"--* subject: a.*\n--* cron: @hourly\n", "line 2", "without wildcards"},
		{"--* subject: a\n--* cron: @hourly\n--* stream: S\n", "line 2", "exclude each other"},
	}
	wantHeaderErrors(t, cases)
}

func TestSchedules(t *testing.T) {
	at := time.Date(2026, 11, 30, 10, 17, 42, 500, time.UTC)
	cases := []struct {
		spec string
		want time.Time
	}{
		{"@every 1m", time.Date(2026, 11, 30, 10, 18, 0, 0, time.UTC)},
		{"@every 1s", time.Date(2026, 11, 30, 10, 17, 43, 0, time.UTC)},
		{"*/5 * * * *", time.Date(2026, 11, 30, 10, 20, 0, 0, time.UTC)},
		{"*/10 * * * * *", time.Date(2026, 11, 30, 10, 17, 50, 0, time.UTC)},
		{"@daily", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)},
		{"CRON_TZ=Europe/Paris 0 12 * * *", time.Date(2026, 11, 30, 11, 0, 0, 0, time.UTC)},
		{"CRON_TZ=Asia/Tokyo @every 5s", time.Date(2026, 11, 30, 10, 17, 45, 0, time.UTC)},
	}
	for _, c := range cases {
		s, err := ParseSchedule(c.spec)
		if err != nil {
			t.Errorf("%s: %v", c.spec, err)
			continue
		}
		// The same tick whatever the zone of the instance asking: every instance must agree.
		for _, loc := range []*time.Location{time.UTC, time.FixedZone("X", 5*3600+1800)} {
			if got := s.Next(at.In(loc)); !got.Equal(c.want) {
				t.Errorf("%s from %v: got %v, want %v", c.spec, at.In(loc), got, c.want)
			}
		}
	}
}

func TestRetryDelay(t *testing.T) {
	b := []time.Duration{time.Second, time.Minute}
	for tries, want := range map[int]time.Duration{0: time.Second, 1: time.Second, 2: time.Minute, 9: time.Minute} {
		if got := RetryDelay(b, tries); got != want {
			t.Errorf("RetryDelay(%v, %d) = %v, want %v", b, tries, got, want)
		}
	}
	if got := RetryDelay(nil, 3); got != 30*time.Second {
		t.Errorf("default third wait: got %v", got)
	}
}

func TestResourceName(t *testing.T) {
	got := ResourceName("funcs.hello", "hello")
	if !strings.HasPrefix(got, "msgscript_hello_funcs_hello_") || len(got) != len("msgscript_hello_funcs_hello_")+8 {
		t.Fatalf("got %q", got)
	}
	if a, b := ResourceName("funcs.a_b", "x"), ResourceName("funcs_a.b", "x"); a == b {
		t.Fatalf("two scripts share %q", a)
	}
	long := ResourceName(strings.Repeat("s.", 200)+"x", strings.Repeat("n", 200))
	if len(long) > 200 || strings.ContainsAny(long, ".*> ") {
		t.Fatalf("got %q", long)
	}
}

// headerErrorCase is a text whose headers are wrong: the error must point at line and say msg.
type headerErrorCase struct{ src, line, msg string }

func wantHeaderErrors(t *testing.T, cases []headerErrorCase) {
	t.Helper()
	for _, c := range cases {
		_, err := ParseHeaders([]byte(c.src))
		var he *HeaderError
		if !errors.As(err, &he) {
			t.Errorf("%q: got %v, want a HeaderError", c.src, err)
			continue
		}
		if !strings.HasPrefix(err.Error(), c.line) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%q: got %q, want %s ... %s", c.src, err, c.line, c.msg)
		}
	}
}

// As in the original msgscript, a header it does not know is ignored and a repeated one is
// overridden by the later: the script loads, with warnings that say so (and what was meant).
func TestHeaderWarnings(t *testing.T) {
	src := "--* subject: funcs.a\n--* TODO: tidy this\n--* subjet: funcs.b\n--* executor: lua\n--* timeout: 1s\n--* timeout: 2s\n--* http: true\n--* html: false\n"
	h, err := ParseHeaders([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if h.Subject != "funcs.a" || h.Timeout != 2*time.Second || h.HTTP {
		t.Errorf("headers: %+v", h)
	}
	want := []HeaderError{
		{2, `unknown header "todo", ignored (known: subject, name, require, http, html, timeout, reply, stream, max_deliver, backoff, deliver, cron)`},
		{3, `unknown header "subjet", ignored (did you mean subject?)`},
		{4, `unknown header "executor", ignored (known: subject, name, require, http, html, timeout, reply, stream, max_deliver, backoff, deliver, cron)`},
		{6, `header "timeout" repeats the one on line 5; this later one wins`},
		{8, `header "html" repeats the one on line 7; this later one wins`},
	}
	if !reflect.DeepEqual(h.Warnings, want) {
		t.Errorf("warnings:\n got %v\nwant %v", h.Warnings, want)
	}
	if got := h.WarningsAt("a.lua")[1].Error(); got != `a.lua:3: unknown header "subjet", ignored (did you mean subject?)` {
		t.Errorf("located: %s", got)
	}
}

// Every problem of a text is reported at once, each at its line.
func TestParseFileReportsEveryProblem(t *testing.T) {
	_, err := ParseFile("a.lua", []byte("--* subject: funcs.a\n--* timeout: soon\n--* http: maybe\n--* name: a/b\n"))
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "a.lua:2: ") || !strings.HasPrefix(lines[1], "a.lua:3: ") || !strings.HasPrefix(lines[2], "a.lua:4: ") {
		t.Fatalf("got:\n%s", err)
	}
	var first *Error
	if !errors.As(err, &first) || first.Line != 2 {
		t.Fatalf("the first problem: %v", first)
	}
}
