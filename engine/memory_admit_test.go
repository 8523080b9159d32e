package engine

import (
	"runtime"
	"strings"
	"testing"
)

// A large value is made only if it fits under the limit with what other calls are making at the
// same moment; what is admitted counts until it is made.
func TestLargeValuesAreAdmittedWhileTheyFit(t *testing.T) {
	g := newMemoryGuard()
	runtime.GC()
	g.limit.Store(heap() + 64<<20)
	if err := g.admit(60 << 20); err != nil {
		t.Fatalf("60 MiB with 64 MiB free: %v", err)
	}
	err := g.admit(60 << 20)
	if err == nil || !strings.Contains(err.Error(), "memory limit: a value of 60 MiB would take the server's memory over its memory_limit") {
		t.Fatalf("60 MiB more while the first is being made: %v", err)
	}
	g.admitted(60 << 20)
	if err := g.admit(60 << 20); err != nil {
		t.Fatalf("60 MiB once the first was made (and dropped): %v", err)
	}
	g.admitted(60 << 20)
	if g.making.Load() != 0 {
		t.Fatalf("%d bytes still counted as being made", g.making.Load())
	}
	// Small values are not counted, nor refused.
	g.limit.Store(1)
	if err := g.admit(admitFrom - 1); err != nil {
		t.Fatalf("a small value: %v", err)
	}
}
