package engine

import (
	"sync/atomic"
	"time"
)

// logEvery lets a warning that anyone can cause (a client sending one bad message after another)
// reach the log once a second at most, with the number of times it was not said.
type logEvery struct {
	last    atomic.Int64 // unix nanos of the last time it was said
	skipped atomic.Int64
}

// allow reports whether to say it now and how many times it was kept quiet since the last time.
func (l *logEvery) allow() (skipped int64, ok bool) {
	now := time.Now().UnixNano()
	last := l.last.Load()
	if now-last < int64(time.Second) || !l.last.CompareAndSwap(last, now) {
		l.skipped.Add(1)
		return 0, false
	}
	return l.skipped.Swap(0), true
}
