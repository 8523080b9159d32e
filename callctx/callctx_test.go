package callctx

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/trace"
)

func TestHeadersRoundTrip(t *testing.T) {
	m := &nats.Msg{Subject: "a"}
	if timeout, depth := Read(m); timeout != 0 || depth != 0 {
		t.Fatalf("a message without headers: %s %d", timeout, depth)
	}
	Pass(WithDepth(context.Background(), 2), m)
	SetTimeout(m, 5*time.Second)
	if timeout, depth := Read(m); timeout != 4900*time.Millisecond || depth != 3 {
		t.Fatalf("got %s %d, want 4.9s and 3", timeout, depth)
	}
	SetTimeout(m, 300*time.Millisecond)
	if timeout, _ := Read(m); timeout != 270*time.Millisecond {
		t.Fatalf("got %s, want 270ms", timeout)
	}
	for _, bad := range []string{"soon", "-1s", "0s"} {
		m.Header.Set(HeaderTimeout, bad)
		m.Header.Set(HeaderDepth, "x")
		if timeout, depth := Read(m); timeout != 0 || depth != 0 {
			t.Errorf("%q read as %s %d", bad, timeout, depth)
		}
	}
}

func TestTraceHeaders(t *testing.T) {
	const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	for _, name := range []string{"traceparent", "Traceparent"} {
		h := nats.Header{name: {parent}}
		ctx := Trace.Extract(context.Background(), TraceHeaders(h))
		sc := trace.SpanContextFromContext(ctx)
		if !sc.IsValid() || sc.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" {
			t.Fatalf("header %s: read %v", name, sc)
		}
		out := nats.Header{"Traceparent": {"00-stale"}}
		Trace.Inject(ctx, TraceHeaders(out))
		if out.Get("traceparent") != parent || out.Get("Traceparent") != "" {
			t.Fatalf("header %s: wrote %v", name, out)
		}
	}
}
