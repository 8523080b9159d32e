package engine

import (
	"context"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/msgscript/msgscript/callctx"
)

// startSpan starts the span of one script call when the engine traces (Options.Tracer): a child
// of the trace the message carries in its headers (an HTTP request through Caddy's tracing
// directive, a script's nats.request, any client that sends a traceparent), else a new trace.
// The span rides in the call's context, where the Lua modules find it to pass it on.
func (r *Registry) startSpan(ctx context.Context, p *Program, m *nats.Msg) (context.Context, trace.Span) {
	if r.opts.Tracer == nil {
		return ctx, nil
	}
	if m.Header != nil {
		ctx = callctx.Trace.Extract(ctx, callctx.TraceHeaders(m.Header))
	}
	kind := trace.SpanKindConsumer
	if m.Reply != "" {
		kind = trace.SpanKindServer
	}
	return r.opts.Tracer.Start(ctx, p.Subject+" "+p.Name, trace.WithSpanKind(kind), trace.WithAttributes(
		attribute.String("messaging.system", "nats"),
		attribute.String("messaging.destination.name", m.Subject),
		attribute.String("msgscript.subject", p.Subject),
		attribute.String("msgscript.script", p.Name),
		attribute.String("msgscript.version", p.Version),
	))
}

// endSpan ends a call's span, with the call's error if it failed.
func endSpan(span trace.Span, ce *CallError) {
	if span == nil {
		return
	}
	if ce != nil {
		span.SetStatus(codes.Error, ce.Msg)
		span.SetAttributes(attribute.Bool("msgscript.timeout", ce.Timeout))
	}
	span.End()
}
