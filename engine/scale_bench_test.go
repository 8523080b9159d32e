package engine

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/msgscript/msgscript/store"
)

// BenchmarkScriptsHeap is what a script costs the heap once loaded and once called: a registry of
// 1,000 hello-sized scripts on distinct subjects, each called once; reported per script. The
// "bound" runs keep the default bound of idle states across scripts, "unbounded" one state per
// script (what a per-script pool alone keeps).
func BenchmarkScriptsHeap(b *testing.B) {
	const n = 1000
	for _, c := range []struct {
		name string
		idle int
	}{{"bound", 0}, {"unbounded", n * 8}} {
		b.Run(c.name, func(b *testing.B) {
			var loaded, called float64
			for b.Loop() {
				before := heapInUse()
				reg := NewRegistry(Options{IdleStates: c.idle})
				reg.Replace(manyScripts(n, hello))
				loaded = float64(heapInUse()-before) / n
				for i := range n {
					subject := fmt.Sprintf("funcs.s%d", i)
					reg.Answer(context.Background(), subject, &nats.Msg{Subject: subject, Data: []byte("x")})
				}
				called = float64(heapInUse()-before) / n
				reg.Close()
			}
			b.ReportMetric(loaded, "heap-B/script-loaded")
			b.ReportMetric(called, "heap-B/script-called")
		})
	}
}

func heapInUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse)
}

// BenchmarkLoadScripts is the start of a registry with 1,000 hello-sized scripts: every one
// compiled (on every CPU) and made ready to serve.
func BenchmarkLoadScripts(b *testing.B) {
	const n = 1000
	batch := manyScripts(n, hello)
	for b.Loop() {
		reg := NewRegistry(Options{})
		reg.Replace(batch)
		reg.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/script")
}

// BenchmarkEditAmong is one script's edit applied to a registry of 100 or 10,000: compiled, made
// the version serving, the subject map published. It should cost the same whatever the number of
// scripts.
func BenchmarkEditAmong(b *testing.B) {
	for _, n := range []int{100, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			reg := helloRegistry(b, n)
			i := 0
			for b.Loop() {
				i++
				reg.Apply([]store.Event{putScript("funcs.s7", "s", fmt.Sprintf("--* subject: funcs.s7\nfunction OnMessage() return '%d' end\n", i))})
			}
		})
	}
}

// BenchmarkCallsAcrossScripts is one call of a server whose calls go to many scripts in turn,
// each called again only after the others: 10 / 1,000 hello-sized scripts, called round robin.
// With more scripts than idle states are kept, a call finds no state of its script's own.
func BenchmarkCallsAcrossScripts(b *testing.B) {
	for _, n := range []int{10, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			reg := helloRegistry(b, n)
			msgs := make([]*nats.Msg, n)
			for i := range msgs {
				msgs[i] = &nats.Msg{Subject: fmt.Sprintf("funcs.s%d", i), Data: []byte("x")}
			}
			ctx := context.Background()
			i := 0
			for b.Loop() {
				m := msgs[i%n]
				reg.Answer(ctx, m.Subject, m)
				i++
			}
		})
	}
}

// helloRegistry is a registry of n hello scripts, funcs.s0 to funcs.s<n-1>, closed with b.
func helloRegistry(b *testing.B, n int) *Registry {
	reg := NewRegistry(Options{})
	b.Cleanup(reg.Close)
	reg.Replace(manyScripts(n, hello))
	return reg
}
