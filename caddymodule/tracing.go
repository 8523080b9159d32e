package caddymodule

import (
	"context"
	"fmt"
	"os"

	"go.opentelemetry.io/contrib/exporters/autoexport"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/msgscript/msgscript/internal/version"
)

// newTracerProvider builds where the spans of script calls go when the app traces: an
// OpenTelemetry exporter configured, like Caddy's own tracing directive, by the standard OTEL_*
// environment (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_TRACES_EXPORTER...),
// so that one collector receives the HTTP request's span from Caddy and the scripts' below it.
// The service is service_name (msgscript by default) unless OTEL_SERVICE_NAME says otherwise.
// Shutdown sends the spans still batched.
func newTracerProvider(ctx context.Context, service string) (*sdktrace.TracerProvider, error) {
	exp, err := autoexport.NewSpanExporter(ctx)
	if err != nil {
		return nil, fmt.Errorf("tracing: %v", err)
	}
	attrs := []attribute.KeyValue{attribute.String("service.version", version.Get().Semver())}
	if os.Getenv("OTEL_SERVICE_NAME") == "" {
		attrs = append(attrs, attribute.String("service.name", service))
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(attrs...))
	if err != nil {
		return nil, fmt.Errorf("tracing: %v", err)
	}
	return sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res)), nil
}

// tracerName names the spans of script calls' instrumentation.
const tracerName = "github.com/msgscript/msgscript"
