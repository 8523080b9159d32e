package engine

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/msgscript/msgscript/callctx"
	"github.com/msgscript/msgscript/store"
)

// BenchmarkHelloOnMessage is the engine's bar: one OnMessage call of examples/hello.lua on a
// pooled state, with its deadline, fresh environment and cleanup (≤ 10 µs and ≤ 40 allocs, see
// README's Speed section).
func BenchmarkHelloOnMessage(b *testing.B) {
	p := newTestProgram(b, hello, nil, Options{})
	ctx := context.Background()
	payload := []byte("John")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.OnMessage(ctx, "funcs.hello", payload); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHelloOnMessageParallel is the same call from every CPU at once, on the shared pool.
func BenchmarkHelloOnMessageParallel(b *testing.B) {
	p := newTestProgram(b, hello, nil, Options{})
	ctx := context.Background()
	payload := []byte("John")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := p.OnMessage(ctx, "funcs.hello", payload); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkNewState is what every call would cost without the pool.
func BenchmarkNewState(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		newLuaState(&Options{}).close()
	}
}

// BenchmarkReply is the JSON reply built around the scripts' answers.
func BenchmarkReply(b *testing.B) {
	results := []result{{name: "hello", body: "Processed subject: funcs.hello with payload: John"}}
	b.ReportAllocs()
	for b.Loop() {
		newReply("_INBOX.x", "funcs.hello", results)
	}
}

// BenchmarkAnswerHello is what the engine does for one NATS message to funcs.hello, short of NATS
// itself: the lookup, the call under the engine's root context, the sender's wait from its
// Msgscript-Timeout header (as nats.request and the HTTP handler send it), the reply.
func BenchmarkAnswerHello(b *testing.B) {
	reg := NewRegistry(Options{})
	b.Cleanup(reg.Close)
	reg.Replace([]store.Event{putScript("funcs.hello", "hello", hello)})
	_, ctx := newCallRoot()
	m := &nats.Msg{Subject: "funcs.hello", Reply: "_INBOX.x", Data: []byte("John"), Header: nats.Header{callctx.HeaderTimeout: []string{"5s"}}}
	b.ReportAllocs()
	for b.Loop() {
		if r := reg.answerCore(ctx, "funcs.hello", m); len(r.Header) != 0 {
			b.Fatal(r.Header)
		}
	}
}
