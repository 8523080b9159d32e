package engine

import (
	"fmt"
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
