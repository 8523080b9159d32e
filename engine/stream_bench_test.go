package engine

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
	lua "github.com/yuin/gopher-lua"
	"go.uber.org/zap"

	"github.com/msgscript/msgscript/internal/testfiles"
	"github.com/msgscript/msgscript/internal/testnats"
)

// The same script run by a core NATS subscription and by a stream trigger: latency is one
// message published and its call done, one after the other; throughput is b.N messages published
// at once and all their calls done. The script signals each call to the benchmark through ran().
//
//	go test -run '^$' -bench 'Trigger' -benchtime 2000x ./engine
func BenchmarkTrigger(b *testing.B) {
	for _, mode := range []string{"core", "stream"} {
		b.Run(mode+"/latency", func(b *testing.B) { benchTrigger(b, mode, false) })
		b.Run(mode+"/throughput", func(b *testing.B) { benchTrigger(b, mode, true) })
	}
}

func benchTrigger(b *testing.B, mode string, burst bool) {
	ns := testnats.StartJetStream(b, "")
	ran := make(chan struct{}, 1<<16)
	signal := func(L *lua.LState) {
		L.SetGlobal("ran", L.NewFunction(func(*lua.LState) int { ran <- struct{}{}; return 0 }))
	}
	header := ""
	if mode == "stream" {
		header = "--* stream: BENCH\n"
	}
	js, err := jetstream.New(connect(b, ns))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "BENCH", Subjects: []string{"bench.>"}}); err != nil {
		b.Fatal(err)
	}
	dir := testfiles.Dir(b, map[string]string{"s.lua": "--* subject: bench.in\n" + header + "function OnMessage(s, p) ran() return p end\n"})
	startEngine(b, ns, dir, Options{Preload: []Preloader{signal}, Logger: zap.NewNop()})
	nc := connect(b, ns)
	publish := func() {
		if mode == "stream" {
			// What a webhook costs its sender: stored, acknowledged by the stream.
			if _, err := js.PublishAsync("bench.in", []byte("x")); err != nil {
				b.Fatal(err)
			}
			return
		}
		if err := nc.Publish("bench.in", []byte("x")); err != nil {
			b.Fatal(err)
		}
	}
	// One message first, so that the consumer is up before the clock runs.
	publish()
	<-ran
	b.ResetTimer()
	if burst {
		for range b.N {
			publish()
		}
		for range b.N {
			<-ran
		}
	} else {
		for range b.N {
			publish()
			<-ran
		}
	}
	b.StopTimer()
	if mode == "stream" {
		<-js.PublishAsyncComplete()
	}
}
