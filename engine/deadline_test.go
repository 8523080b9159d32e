package engine

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestDeadlineReusedUntilItFires(t *testing.T) {
	d := newDeadline(nil)
	t.Cleanup(func() { forgetDeadline(d) })
	for range 3 {
		d.arm(context.Background(), time.Hour)
		if d.disarm() {
			t.Fatal("a call that ended in time reports its deadline fired")
		}
		select {
		case <-d.Done():
			t.Fatal("Done closed after a call that ended in time")
		default:
		}
	}
	d.arm(context.Background(), 10*time.Millisecond)
	select {
	case <-d.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("deadline did not fire")
	}
	if !errors.Is(d.Err(), context.DeadlineExceeded) || !d.disarm() {
		t.Fatalf("err %v", d.Err())
	}
}

func TestDeadlineFollowsItsParent(t *testing.T) {
	type key struct{}
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
	d := newDeadline(nil)
	t.Cleanup(func() { forgetDeadline(d) })
	d.arm(parent, time.Hour)
	if d.Value(key{}) != "v" {
		t.Fatal("values of the parent are not visible")
	}
	cancel()
	select {
	case <-d.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("cancelling the parent did not end the call")
	}
	if !errors.Is(d.Err(), context.Canceled) || !d.disarm() {
		t.Fatalf("err %v", d.Err())
	}
}

// A parent cancelled after the call: nothing fires, the state stays usable.
func TestDeadlineParentAfterTheCall(t *testing.T) {
	parent, cancel := context.WithCancel(context.Background())
	d := newDeadline(nil)
	t.Cleanup(func() { forgetDeadline(d) })
	d.arm(parent, time.Hour)
	if d.disarm() {
		t.Fatal("fired")
	}
	cancel()
	time.Sleep(10 * time.Millisecond)
	if d.Err() != nil {
		t.Fatalf("a parent cancelled after the call reached the deadline: %v", d.Err())
	}
}

// One timer serves every call (deadlineClock): a call whose deadline comes before the one the
// timer is set for still ends in time, and so does one whose deadline comes after that of a call
// that ended early.
func TestDeadlineClockServesEveryCall(t *testing.T) {
	newArmed := func(timeout time.Duration) *deadline {
		d := newDeadline(nil)
		t.Cleanup(func() { forgetDeadline(d) })
		d.arm(context.Background(), timeout)
		return d
	}
	ended := func(d *deadline, what string) {
		t.Helper()
		select {
		case <-d.Done():
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: the call did not end at its deadline", what)
		}
		if !errors.Is(d.Err(), context.DeadlineExceeded) {
			t.Fatalf("%s: err %v", what, d.Err())
		}
	}
	later := newArmed(time.Hour)
	ended(newArmed(20*time.Millisecond), "an earlier deadline than the timer's")
	if later.disarm() {
		t.Fatal("the hour-long call ended")
	}

	early := newArmed(20 * time.Millisecond)
	after := newArmed(200 * time.Millisecond)
	if early.disarm() {
		t.Fatal("a call that ended in time reports its deadline fired")
	}
	ended(after, "a deadline after that of a call that ended early")
}
