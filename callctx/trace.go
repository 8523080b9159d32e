package callctx

import (
	"net/http"
	"strings"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/propagation"
)

// Trace is the propagation of W3C Trace Context (traceparent, tracestate) through messages and
// HTTP requests, so that the trace of a call goes on into what it reaches.
var Trace propagation.TextMapPropagator = propagation.TraceContext{}

// TraceHeaders carries trace context in NATS headers, which are case-sensitive: it writes the
// lower-case names of the W3C specification ("traceparent", what NATS's own message tracing
// reads), replacing a capitalised copy, and reads either, since a message made from an HTTP
// request carries the "Traceparent" of Go's canonical form.
type TraceHeaders nats.Header

func (h TraceHeaders) Get(key string) string {
	lower := strings.ToLower(key)
	if v := h[lower]; len(v) > 0 {
		return v[0]
	}
	if v := h[http.CanonicalHeaderKey(key)]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func (h TraceHeaders) Set(key, value string) {
	delete(h, http.CanonicalHeaderKey(key))
	h[strings.ToLower(key)] = []string{value}
}

func (h TraceHeaders) Keys() []string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	return keys
}

var _ propagation.TextMapCarrier = TraceHeaders(nil)
