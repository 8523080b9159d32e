package luamods

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/msgscript/msgscript/callctx"
)

// clientSpan starts, when the call is traced, the span of a message or request the script sends,
// a child of the call's span, and puts the trace into the headers of carrier. Without a trace it does nothing
// (end with endClientSpan in any case).
func clientSpan(ctx context.Context, name string, kind trace.SpanKind, carrier propagation.TextMapCarrier, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	parent := trace.SpanFromContext(ctx)
	if !parent.SpanContext().IsValid() {
		return ctx, nil
	}
	ctx, span := parent.TracerProvider().Tracer("github.com/msgscript/msgscript/luamods").Start(ctx, name,
		trace.WithSpanKind(kind), trace.WithAttributes(attrs...))
	callctx.Trace.Inject(ctx, carrier)
	return ctx, span
}

// endClientSpan ends a span of clientSpan, with err if the message or request failed.
func endClientSpan(span trace.Span, err error) {
	if span == nil {
		return
	}
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}
