package caddymodule

import (
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/msgscript/msgscript/internal/testfiles"
	"github.com/msgscript/msgscript/internal/testnet"
)

// collector is an OTLP/HTTP receiver: it keeps every span exported to it.
type collector struct {
	mu       sync.Mutex
	spans    []*tracepb.Span
	services []string // service.name of each span's resource, in step with spans
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	var req coltrace.ExportTraceServiceRequest
	if err == nil {
		err = proto.Unmarshal(b, &req)
	}
	if err != nil || r.URL.Path != "/v1/traces" {
		http.Error(w, fmt.Sprintf("%s: %v", r.URL.Path, err), http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rs := range req.ResourceSpans {
		service := ""
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.Key == "service.name" {
				service = kv.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				c.spans = append(c.spans, s)
				c.services = append(c.services, service)
			}
		}
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(nil)
}

// waitSpan waits for the span named name in trace traceID and returns it with its service.
func (c *collector) waitSpan(t *testing.T, traceID, name string) (*tracepb.Span, string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		for i, s := range c.spans {
			if hex.EncodeToString(s.TraceId) == traceID && s.Name == name {
				c.mu.Unlock()
				return s, c.services[i]
			}
		}
		c.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var seen []string
	for _, s := range c.spans {
		seen = append(seen, hex.EncodeToString(s.TraceId)+" "+s.Name)
	}
	t.Fatalf("no span %q in trace %s; spans: %s", name, traceID, strings.Join(seen, "; "))
	return nil, ""
}

// One trace from the HTTP request to what the scripts reach: Caddy's tracing directive starts it
// (and the handler passes it on even when it forwards none of the request's headers),
// the script answering the request is below it, the script that one asks through NATS below
// that, and the web server the second script calls receives the trace. A NATS client that sends
// a traceparent sees its trace continued too.
func TestTracingFollowsRequestsThroughScripts(t *testing.T) {
	col := new(collector)
	otlp := httptest.NewServer(col)
	t.Cleanup(otlp.Close) // after Caddy stops and sends its last spans
	t.Setenv("OTEL_TRACES_EXPORTER", "otlp")
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", otlp.URL)
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "20")
	t.Setenv("OTEL_SERVICE_NAME", "")

	parents := make(chan string, 1)
	downstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		parents <- r.Header.Get("Traceparent")
		_, _ = io.WriteString(w, "downstream")
	}))
	t.Cleanup(downstream.Close)

	dir := testfiles.Dir(t, map[string]string{
		"front.lua": `--* subject: trace.front
local nats = require("nats")
function OnMessage(subject, payload)
  local reply, err = nats.request("trace.back", payload, 5)
  if err then error(err) end
  return reply
end
`,
		"back.lua": `--* subject: trace.back
local http = require("http")
function OnMessage(subject, payload)
  local resp, err = http.get("` + downstream.URL + `")
  if err then error(err) end
  return resp.body
end
`,
	})
	natsAddr, site := testnet.FreeAddr(t), testnet.FreeAddr(t)
	caddyfile := fmt.Sprintf(`{
	admin off
	msgscript {
		embedded_nats %s
		store dir %s
		service_name traced
		tracing
	}
}
http://%s {
	tracing {
		span webhook
	}
	msgscript {
		forward_headers Content-Type
	}
}
`, natsAddr, dir, site)
	loadCaddyfile(t, caddyfile)

	resp, err := http.Post("http://"+site+"/trace.front", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "downstream") {
		t.Fatalf("POST /trace.front: %d %q", resp.StatusCode, body)
	}
	parent := <-parents // 00-<trace id>-<span id>-01
	fields := strings.Split(parent, "-")
	if len(fields) != 4 {
		t.Fatalf("the downstream server got traceparent %q", parent)
	}
	traceID := fields[1]

	webhook, _ := col.waitSpan(t, traceID, "webhook")
	front, service := col.waitSpan(t, traceID, "trace.front front")
	request, _ := col.waitSpan(t, traceID, "request trace.back")
	back, _ := col.waitSpan(t, traceID, "trace.back back")
	get, _ := col.waitSpan(t, traceID, "HTTP GET")
	for _, link := range []struct {
		child, parent *tracepb.Span
	}{{front, webhook}, {request, front}, {back, request}, {get, back}} {
		if string(link.child.ParentSpanId) != string(link.parent.SpanId) {
			t.Errorf("span %q is not below %q", link.child.Name, link.parent.Name)
		}
	}
	if hex.EncodeToString(get.SpanId) != fields[2] {
		t.Errorf("the downstream server's parent %s is not the script's HTTP span %x", fields[2], get.SpanId)
	}
	if service != "traced" {
		t.Errorf("the scripts' spans are of service %q, want service_name", service)
	}

	// A NATS client's trace, with the header in the specification's lower case.
	nc := connectTo(t, "nats://"+natsAddr)
	const clientTrace, clientSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	m := &nats.Msg{Subject: "trace.back", Header: nats.Header{"traceparent": {"00-" + clientTrace + "-" + clientSpan + "-01"}}}
	if _, err := nc.RequestMsg(m, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	<-parents
	back, _ = col.waitSpan(t, clientTrace, "trace.back back")
	if hex.EncodeToString(back.ParentSpanId) != clientSpan {
		t.Errorf("the script's span has parent %x, want the client's %s", back.ParentSpanId, clientSpan)
	}
}
