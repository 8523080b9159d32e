package engine

import (
	"sync"
	"sync/atomic"

	"github.com/msgscript/msgscript/script"
)

// TriggerStatus is how a stream or a schedule calls a script, whether it does now, and what
// became of the stream's messages.
type TriggerStatus struct {
	Stream   string `json:"stream,omitempty"`
	Consumer string `json:"consumer,omitempty"` // the durable consumer msgscript made
	Cron     string `json:"cron,omitempty"`
	// Running is false while the trigger cannot reach its stream or bucket; Error says why.
	Running bool   `json:"running"`
	Error   string `json:"error,omitempty"`
	// Messages of the stream: acked after a call succeeded, retried after one failed, and sent
	// to msgscript.dead.<subject> after the last try failed. Ticks: the ticks this instance ran.
	Acked   uint64 `json:"acked,omitempty"`
	Retried uint64 `json:"retried,omitempty"`
	Dead    uint64 `json:"dead_lettered,omitempty"`
	Ticks   uint64 `json:"ticks,omitempty"`
	// Skipped are the ticks this instance let go because its call of an earlier one still ran.
	Skipped uint64 `json:"ticks_skipped,omitempty"`
}

// triggerState is what a script's trigger reports, kept across its versions and triggers.
type triggerState struct {
	err                         atomic.Pointer[string]
	running                     atomic.Bool
	acked, retried, dead, ticks atomic.Uint64
	skipped                     atomic.Uint64
}

// triggerStates are the registry's, by script; sync.Map because triggers write them from their
// own goroutines, without the registry's lock.
type triggerStates struct{ m sync.Map }

func (t *triggerStates) of(key scriptKey) *triggerState {
	if s, ok := t.m.Load(key); ok {
		return s.(*triggerState)
	}
	s, _ := t.m.LoadOrStore(key, &triggerState{})
	return s.(*triggerState)
}

func (t *triggerStates) forget(key scriptKey) { t.m.Delete(key) }

// setError records why the trigger is not running (nil: it runs).
func (s *triggerState) setError(err error) {
	if err == nil {
		s.err.Store(nil)
		s.running.Store(true)
		return
	}
	msg := err.Error()
	s.err.Store(&msg)
	s.running.Store(false)
}

// statusOf reads the trigger of p, nil when nothing but messages calls it.
func (t *triggerStates) statusOf(key scriptKey, p *Program) *TriggerStatus {
	if p == nil || p.Headers.Stream == "" && p.Headers.Cron == "" {
		return nil
	}
	s := t.of(key)
	st := &TriggerStatus{Stream: p.Headers.Stream, Cron: p.Headers.Cron, Running: s.running.Load(),
		Acked: s.acked.Load(), Retried: s.retried.Load(), Dead: s.dead.Load(), Ticks: s.ticks.Load(),
		Skipped: s.skipped.Load()}
	if p.Headers.Stream != "" {
		st.Consumer = script.ResourceName(key.subject, key.name)
	}
	if e := s.err.Load(); e != nil {
		st.Error = *e
	}
	return st
}
