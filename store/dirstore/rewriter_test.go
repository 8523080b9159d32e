package dirstore

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/msgscript/msgscript/store"
	"github.com/msgscript/msgscript/store/storetest"
)

// echoVersion is the text of version i of the script the rewriter writes.
func echoVersion(i int) string {
	return fmt.Sprintf("--* subject: funcs.echo\n--* name: echo\nfunction OnMessage(s, p) return 'v%d ' .. p end\n", i)
}

var echoRef = store.Ref{Kind: store.KindScript, Subject: "funcs.echo", Name: "echo"}

// echoCuts are where the rewriter cuts the text between its two steps: nothing written yet, the
// subject header cut in the middle (it reads `funcs.e`, another valid subject), the name header cut
// in the middle (another valid name). Read at such a moment, the file names no script or another
// one; a store must keep serving the version it has.
var echoCuts = []int{0, len("--* subject: funcs.e"), len("--* subject: funcs.echo\n--* name: ec")}

// rewriter rewrites a script in place in two steps, over and over, as a program saving without a
// rename does: first the text up to a cut (after emptying the file), then the rest. It alternates
// between an open file truncated and written twice, and two os.WriteFile calls (the first of half
// the text, the second of the whole).
type rewriter struct {
	t        testing.TB
	path     string
	rewrites atomic.Int64
	stopping chan struct{}
	stopped  chan string // the last version written
}

// rewrite starts rewriting path with echoVersion(1), echoVersion(2), ... until stop. pause(i) is how
// long the file stays cut short in rewrite i.
func rewrite(t testing.TB, path string, pause func(i int) time.Duration) *rewriter {
	w := &rewriter{t: t, path: path, stopping: make(chan struct{}), stopped: make(chan string, 1)}
	go func() {
		for i := 1; ; i++ {
			text := echoVersion(i)
			if err := w.writeInTwoSteps(i, text, pause(i)); err != nil {
				t.Error(err)
				w.stopped <- text
				return
			}
			w.rewrites.Add(1)
			select {
			case <-w.stopping:
				w.stopped <- text
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { w.stop() }) })
	return w
}

func (w *rewriter) writeInTwoSteps(i int, text string, pause time.Duration) error {
	cut := echoCuts[i%len(echoCuts)]
	if i%2 == 0 {
		if err := os.WriteFile(w.path, []byte(text[:cut]), 0o644); err != nil {
			return err
		}
		time.Sleep(pause)
		return os.WriteFile(w.path, []byte(text), 0o644)
	}
	f, err := os.OpenFile(w.path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Truncate(0); err != nil {
		return err
	}
	if _, err := f.WriteAt([]byte(text[:cut]), 0); err != nil {
		return err
	}
	time.Sleep(pause)
	_, err = f.WriteAt([]byte(text[cut:]), int64(cut))
	return err
}

// waitRewrites waits up to 5s for n rewrites.
func (w *rewriter) waitRewrites(n int64) {
	w.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for w.rewrites.Load() < n {
		if time.Now().After(deadline) {
			w.t.Fatalf("%d rewrites within 5s, want %d", w.rewrites.Load(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stop ends the rewriting once the current rewrite is done, and returns the last version written.
func (w *rewriter) stop() string {
	select {
	case <-w.stopping:
	default:
		close(w.stopping)
	}
	text := <-w.stopped
	w.stopped <- text
	return text
}

// recorder follows a store's Watch in the background, checks every event as it arrives and keeps
// them all.
type recorder struct {
	mu     sync.Mutex
	events []store.Event
}

// record watches st until the test ends; check returns an error for an event that must not
// happen, and the test fails with it.
func record(t *testing.T, st store.Store, check func(store.Event) error) *recorder {
	done := make(chan struct{})
	t.Cleanup(func() { close(done) }) // runs after the Watch below has stopped: cleanups run last-in first-out
	batches := storetest.Watch(t, st)
	r := &recorder{}
	go func() {
		for {
			select {
			case batch := <-batches:
				for _, ev := range batch {
					if err := check(ev); err != nil {
						t.Errorf("%v, in the batch:\n%s", err, storetest.Describe(batch))
					}
				}
				r.mu.Lock()
				r.events = append(r.events, batch...)
				r.mu.Unlock()
			case <-done:
				return
			}
		}
	}()
	return r
}

// waitFor waits up to 5s for an event that matches, among all the events so far and to come.
func (r *recorder) waitFor(t *testing.T, what string, match func(store.Event) bool) store.Event {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r.mu.Lock()
		for _, ev := range r.events {
			if match(ev) {
				r.mu.Unlock()
				return ev
			}
		}
		r.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// isPut matches a put of ref; with source, only of that text.
func isPut(ref store.Ref, source string) func(store.Event) bool {
	return func(ev store.Event) bool {
		return ev.Op == store.OpPut && ev.Item.Ref == ref && (source == "" || string(ev.Item.Source) == source)
	}
}

// onlyWholeEchoVersions refuses what a half-written echo.lua would cause: a delete, or a put of
// anything but a whole version of funcs.echo/echo (a phantom subject or name, a cut text). Puts of
// the scripts in others are fine.
func onlyWholeEchoVersions(others ...store.Ref) func(store.Event) error {
	return func(ev store.Event) error {
		switch {
		case ev.Op == store.OpDelete:
			return fmt.Errorf("%s was deleted", ev.Item.Ref)
		case ev.Item.Ref != echoRef:
			for _, ref := range others {
				if ev.Item.Ref == ref {
					return nil
				}
			}
			return fmt.Errorf("a phantom %s was put, from %q", ev.Item.Ref, ev.Item.Source)
		case !isEchoVersion(string(ev.Item.Source)):
			return fmt.Errorf("%s was put with a cut text %q", ev.Item.Ref, ev.Item.Source)
		}
		return nil
	}
}

func isEchoVersion(text string) bool {
	var i int
	_, err := fmt.Sscanf(text, echoVersion(0)[:strings.Index(echoVersion(0), "'v")]+"'v%d", &i)
	return err == nil && text == echoVersion(i)
}
