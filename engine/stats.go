package engine

import (
	"sync/atomic"
	"time"
)

// Outcome is how a call ended, as the counters and the metrics tell it.
type Outcome int

const (
	// OK is a call that answered.
	OK Outcome = iota
	// Failed is a call that raised an error (or was ended by the memory guard).
	Failed
	// TimedOut is a call that ran past its deadline.
	TimedOut
	// Refused is a message no script ran for: more hops deep than MaxDepth.
	Refused
	numOutcomes
)

func (o Outcome) String() string {
	return [...]string{"ok", "error", "timeout", "refused"}[o]
}

// Outcomes lists every Outcome, in order.
var Outcomes = []Outcome{OK, Failed, TimedOut, Refused}

// DurationBuckets are the upper bounds, in seconds, of the call-duration histogram: a hello call
// takes a few microseconds, a webhook that calls an API seconds.
var DurationBuckets = [...]float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// counters count the calls of one script (over its versions), or the messages of one subject
// pattern, with a few atomic adds a call.
type counters struct {
	calls    [numOutcomes]atomic.Uint64
	nanos    atomic.Int64
	buckets  [len(DurationBuckets) + 1]atomic.Uint64 // the last one: over the last bound
	lastCall atomic.Int64                            // unix nanos
	lastErr  atomic.Pointer[LastError]
}

// LastError is the last failure of a script or subject, and when it happened.
type LastError struct {
	Msg string    `json:"message"`
	At  time.Time `json:"at"`
}

// record counts one call that ended at end after d; msg is its error, if it failed.
func (c *counters) record(o Outcome, d time.Duration, end time.Time, msg string) {
	c.calls[o].Add(1)
	c.nanos.Add(int64(d))
	c.buckets[bucketOf(d)].Add(1)
	c.lastCall.Store(end.UnixNano())
	if o != OK {
		c.lastErr.Store(&LastError{Msg: msg, At: end})
	}
}

func bucketOf(d time.Duration) int {
	s := d.Seconds()
	for i, bound := range DurationBuckets {
		if s <= bound {
			return i
		}
	}
	return len(DurationBuckets)
}

// Count is what counters held at one moment.
type Count struct {
	// Calls by outcome (indexed by Outcome).
	Calls [numOutcomes]uint64 `json:"-"`
	// Time is the time spent in the calls, all together.
	Time time.Duration `json:"-"`
	// Buckets are the calls by duration: Buckets[i] took at most DurationBuckets[i] (and more
	// than the bound before), the last one longer than every bound. Not cumulative.
	Buckets  []uint64   `json:"-"`
	LastCall time.Time  `json:"-"`
	LastErr  *LastError `json:"-"`
}

// Total is every call, whatever its outcome.
func (c Count) Total() uint64 {
	var n uint64
	for _, v := range c.Calls {
		n += v
	}
	return n
}

// Errors are the calls that did not answer.
func (c Count) Errors() uint64 { return c.Total() - c.Calls[OK] }

func (c *counters) count() Count {
	var n Count
	for i := range c.calls {
		n.Calls[i] = c.calls[i].Load()
	}
	n.Time = time.Duration(c.nanos.Load())
	n.Buckets = make([]uint64, len(c.buckets))
	for i := range c.buckets {
		n.Buckets[i] = c.buckets[i].Load()
	}
	if at := c.lastCall.Load(); at != 0 {
		n.LastCall = time.Unix(0, at)
	}
	n.LastErr = c.lastErr.Load()
	return n
}

// outcomeOf tells how a call ended from its error.
func outcomeOf(ce *CallError) Outcome {
	switch {
	case ce == nil:
		return OK
	case ce.Timeout:
		return TimedOut
	}
	return Failed
}
