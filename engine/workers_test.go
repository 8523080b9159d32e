package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/msgscript/msgscript/internal/testfiles"
)

// Goroutines follow the load, not the number of scripts: 500 subjects, each answered once, leave
// a few workers, not one or two per subject (20,000 goroutines for 10,000 scripts).
func TestGoroutinesDoNotGrowWithSubjects(t *testing.T) {
	ns := startNATS(t)
	files := map[string]string{}
	for i := range 500 {
		files[fmt.Sprintf("s%d.lua", i)] = fmt.Sprintf("--* subject: funcs.s%d\nfunction OnMessage(s, p) return 'ok' end\n", i)
	}
	dir := testfiles.Dir(t, files)
	before := runtime.NumGoroutine()
	startEngine(t, ns, dir, Options{})
	nc := connect(t, ns)
	for i := range 500 {
		if m := request(t, nc, fmt.Sprintf("funcs.s%d", i), ""); string(m.Data) != fmt.Sprintf(`{"s%d":"ok"}`, i) {
			t.Fatalf("funcs.s%d: %s", i, m.Data)
		}
	}
	if grown := runtime.NumGoroutine() - before; grown > 50 {
		t.Errorf("%d goroutines more with 500 subjects answered", grown)
	}
}

// A subject's queue is made when it is subscribed, not per message, and goes with its last script.
func TestSubjectQueuesFollowSubscriptions(t *testing.T) {
	ns := startNATS(t)
	dir := testfiles.Dir(t, map[string]string{"a.lua": "--* subject: funcs.a\nfunction OnMessage() return 'a' end\n", "b.lua": hello})
	e := startEngine(t, ns, dir, Options{})
	queues := func() map[string]bool {
		e.disp.wmu.Lock()
		defer e.disp.wmu.Unlock()
		out := map[string]bool{}
		for p := range e.disp.queues {
			out[p] = true
		}
		return out
	}
	if q := queues(); !q["funcs.a"] || !q["funcs.hello"] || len(q) != 2 {
		t.Fatalf("queues %v, want one per subscribed subject", q)
	}
	request(t, connect(t, ns), "funcs.a", "")
	if q := queues(); !q["funcs.a"] {
		t.Fatal("a message took its subject's queue away")
	}
	if err := os.Remove(filepath.Join(dir, "a.lua")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the queue of a subject with no script left goes", func() bool { return !queues()["funcs.a"] })
}
