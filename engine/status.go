package engine

import (
	"errors"
	"sort"
	"time"

	"github.com/msgscript/msgscript/script"
	"github.com/msgscript/msgscript/store"
)

// ScriptStatus is what an operator sees of one script: the version serving, the stored one when
// it is not that one and why, and its calls since the engine started.
type ScriptStatus struct {
	Subject string `json:"subject"`
	Name    string `json:"name"`
	Origin  string `json:"origin"` // the file or etcd key
	// Version is the version serving (see Program.Version); empty when none compiled.
	Version  string `json:"version,omitempty"`
	Revision int64  `json:"revision,omitempty"` // etcd's revision of the version serving
	// Stored is the latest stored version when it is not the one serving, and Error why: its
	// compile error, located at file:line.
	Stored string `json:"stored,omitempty"`
	Error  string `json:"error,omitempty"`
	// NotServed says why a script that compiled is not served (a `--* reply: raw` script that
	// shares its subject); Version is then empty.
	NotServed string     `json:"not_served,omitempty"`
	ErrorLine *ErrorLine `json:"error_line,omitempty"`
	Libraries []string   `json:"libraries,omitempty"`
	HTTP      bool       `json:"http,omitempty"`
	Timeout   string     `json:"timeout,omitempty"`
	// Warnings are the header lines of the version serving that were read but not used
	// (unknown, repeated, or a subject header that differs from the subject it is stored under),
	// as "origin:line: message".
	Warnings []string `json:"warnings,omitempty"`
	// Trigger is set for a script that a stream or a schedule calls.
	Trigger *TriggerStatus `json:"trigger,omitempty"`
	Calls   CallCounts     `json:"calls"`
}

// ErrorLine is where a compile error is.
type ErrorLine struct {
	Origin string `json:"origin"`
	Line   int    `json:"line,omitempty"`
}

// CallCounts are counters as they read in JSON.
type CallCounts struct {
	Total     uint64        `json:"total"`
	OK        uint64        `json:"ok"`
	Errors    uint64        `json:"errors"`
	Timeouts  uint64        `json:"timeouts"`
	Refused   uint64        `json:"refused"`
	Time      time.Duration `json:"time_ns"`
	Average   time.Duration `json:"average_ns"`
	LastCall  *time.Time    `json:"last_call,omitempty"`
	LastError *LastError    `json:"last_error,omitempty"`
	// Buckets are the calls by duration, as Count.Buckets.
	Buckets []uint64 `json:"-"`
}

// ByOutcome is the number of calls that ended so.
func (c CallCounts) ByOutcome(o Outcome) uint64 {
	switch o {
	case OK:
		return c.OK
	case Failed:
		return c.Errors
	case TimedOut:
		return c.Timeouts
	}
	return c.Refused
}

// countsOf reads counters for a status.
func countsOf(c *counters) CallCounts {
	n := c.count()
	cc := CallCounts{
		Total: n.Total(), OK: n.Calls[OK], Errors: n.Calls[Failed], Timeouts: n.Calls[TimedOut], Refused: n.Calls[Refused],
		Time: n.Time, LastError: n.LastErr, Buckets: n.Buckets,
	}
	if ran := cc.Total - cc.Refused; ran > 0 {
		cc.Average = n.Time / time.Duration(ran)
	}
	if !n.LastCall.IsZero() {
		cc.LastCall = &n.LastCall
	}
	return cc
}

// Status is every script the registry knows, sorted by subject and name, those that never
// compiled included.
func (r *Registry) Status() []ScriptStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	list := make([]ScriptStatus, 0, len(r.scripts))
	for key, e := range r.scripts {
		list = append(list, r.statusOf(key, e))
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].Subject != list[j].Subject {
			return list[i].Subject < list[j].Subject
		}
		return list[i].Name < list[j].Name
	})
	return list
}

// ScriptStatus is the status of one script and its stored text (the version serving, or the one that
// did not compile when Status says so); ok is false when the registry has no such script.
func (r *Registry) ScriptStatus(subject, name string) (st ScriptStatus, source []byte, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := scriptKey{subject, name}
	e := r.scripts[key]
	if e == nil {
		return ScriptStatus{}, nil, false
	}
	return r.statusOf(key, e), e.item.Source, true
}

// statusOf reads the status of one script; the registry's lock is held.
func (r *Registry) statusOf(key scriptKey, e *scriptEntry) ScriptStatus {
	st := ScriptStatus{Subject: key.subject, Name: key.name, Origin: e.item.Origin, Calls: countsOf(e.stats),
		Trigger: r.triggers.statusOf(key, e.prog)}
	if p := e.prog; p != nil {
		st.Version, st.Revision, st.Libraries, st.HTTP = p.Version, p.Revision, p.Libraries, p.Headers.HTTP
		st.Timeout = p.timeout.String()
		for _, w := range p.warnings() {
			st.Warnings = append(st.Warnings, w.Error())
		}
	}
	if e.alone != "" {
		st.NotServed, st.Version = e.alone, ""
		if e.err == nil {
			st.Stored = store.Version(e.item.Source)
		}
	}
	if e.err != nil {
		st.Stored, st.Error = store.Version(e.item.Source), e.err.Error()
		var located *script.Error
		if errors.As(e.err, &located) {
			st.ErrorLine = &ErrorLine{Origin: located.Origin, Line: located.Line}
		}
	}
	return st
}

// SubjectStatus is one subject pattern the engine subscribes to: its scripts and the counts of
// its messages.
type SubjectStatus struct {
	Pattern string     `json:"subject"`
	Scripts []string   `json:"scripts"`
	Calls   CallCounts `json:"calls"`
}

// SubjectStatus is every subject pattern with scripts, sorted.
func (r *Registry) SubjectStatus() []SubjectStatus {
	m := *r.bySubject.Load()
	list := make([]SubjectStatus, 0, len(m))
	for pattern, se := range m {
		st := SubjectStatus{Pattern: pattern, Calls: countsOf(se.stats)}
		for _, p := range se.progs {
			st.Scripts = append(st.Scripts, p.Name)
		}
		list = append(list, st)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Pattern < list[j].Pattern })
	return list
}

// Activity is what the engine does at one moment, and what it did since it started, for metrics.
type Activity struct {
	InFlight        int    `json:"in_flight"`        // calls running
	Waiting         int    `json:"waiting"`          // messages received, waiting for a call to take them
	IdleStates      int    `json:"idle_states"`      // Lua states pooled, ready for a call
	Loads           uint64 `json:"loads"`            // script versions compiled and put in service
	CompileFailures uint64 `json:"compile_failures"` // script versions that did not compile
	StoreEvents     uint64 `json:"store_events"`     // changes the store reported
	MemoryLimit     uint64 `json:"memory_limit"`     // bytes
}

// Activity reads the engine's gauges and counters.
func (e *Engine) Activity() Activity {
	a := Activity{
		Loads: e.reg.loads.Load(), CompileFailures: e.reg.compileFailures.Load(), StoreEvents: e.reg.storeEvents.Load(),
		MemoryLimit: e.reg.opts.MemoryLimit, IdleStates: e.reg.idleStates(),
	}
	a.InFlight, a.Waiting = e.disp.load()
	return a
}

// idleStates counts the Lua states the serving versions keep in their pools.
func (r *Registry) idleStates() int {
	n := 0
	for _, se := range *r.bySubject.Load() {
		for _, p := range se.progs {
			n += p.pool.size()
		}
	}
	return n
}

// Instance is what an instance of msgscript tells of itself (the admin API's /msgscript/instance):
// the engine's service identity and activity, and what the app around it knows (versions, NATS).
type Instance struct {
	Service     string   `json:"service"`
	ID          string   `json:"id"`
	Version     string   `json:"version"`
	Caddy       string   `json:"caddy,omitempty"`
	NATS        string   `json:"nats"`
	QueueGroup  string   `json:"queue_group"`
	Sandbox     bool     `json:"sandbox"`
	MemoryLimit uint64   `json:"memory_limit"`
	Activity    Activity `json:"activity"`
}
