package luapattern

import (
	"context"
	"fmt"
	"time"
)

// checkEvery is how many steps the matcher takes between two looks at its context. A step is a
// call of the matcher, one more length tried by a quantifier, one start position tried, or one
// character scanned by a loop; a few thousand of them take some microseconds, and looking costs
// some tens of nanoseconds, so a match notices the end of its context within microseconds
// whatever it does, at a cost lost in the noise.
const checkEvery = 4096

// stopper counts the matcher's steps and, every checkEvery of them, asks the context whether the
// match should go on. It reads the deadline itself too, rather than waiting for the context's
// timer to fire, which may come late on a busy machine.
type stopper struct {
	ctx         context.Context
	deadline    time.Time
	hasDeadline bool
	budget      int
}

// abort carries an error out of the matcher's recursion, as a panic, which the entry points
// recover; matching code has no error to pass back on its common paths.
type abort struct{ err error }

func (st *stopper) reset(ctx context.Context) {
	st.ctx = ctx
	st.budget = checkEvery
	st.hasDeadline = false
	if ctx != nil {
		st.deadline, st.hasDeadline = ctx.Deadline()
	}
}

// charge counts n steps, looking at the context when the budget is spent.
func (st *stopper) charge(n int) {
	st.budget -= n
	if st.budget < 0 {
		st.poll()
	}
}

func (st *stopper) poll() {
	st.budget = checkEvery
	if err := st.check(); err != nil {
		panic(abort{err})
	}
}

// check tells why the match must stop, or nil.
func (st *stopper) check() error {
	if st.ctx == nil {
		return nil
	}
	if err := st.ctx.Err(); err != nil {
		return stopped(err)
	}
	if st.hasDeadline && !time.Now().Before(st.deadline) {
		return stopped(context.DeadlineExceeded)
	}
	return nil
}

// stopped is the error of a match ended by its context; errors.Is finds the context's error in
// it.
func stopped(err error) error { return fmt.Errorf("pattern matching stopped: %w", err) }
