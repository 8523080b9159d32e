package luaenv_test

import (
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/msgscript/msgscript/luaenv"
)

// answering is an http.RoundTripper that answers every request with the request's own URL, and
// counts them.
type answering struct{ n atomic.Int32 }

func (a *answering) RoundTrip(req *http.Request) (*http.Response, error) {
	a.n.Add(1)
	return &http.Response{StatusCode: 299, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("answered " + req.URL.String())), Request: req}, nil
}

// Services.HTTPTransport reaches the scripts' http module, inside the sandbox as outside it:
// names that resolve nowhere (and a real server) are answered by it, and the sandbox's
// http_hosts still decides which URLs are asked for at all.
func TestHTTPTransportService(t *testing.T) {
	tg := newTarget(t)
	rt := &answering{}
	s := luaenv.Services{HTTPTransport: rt}
	get := func(u string) string {
		return `local r, err = require("http").get("` + u + `") if not r then return err end return r.status_code .. " " .. r.body`
	}
	if got, err := callWith(t, luaenv.Policy{}, s, get(tg.URL+"/x")); err != nil || got != "299 answered "+tg.URL+"/x" {
		t.Errorf("outside the sandbox: %q, %v", got, err)
	}
	inSandbox := luaenv.Policy{Sandbox: true, HTTPHosts: []string{"api.test"}}
	if got, err := callWith(t, inSandbox, s, get("https://api.test/y")); err != nil || got != "299 answered https://api.test/y" {
		t.Errorf("in the sandbox: %q, %v", got, err)
	}
	if got, err := callWith(t, inSandbox, s, get(tg.URL+"/z")); err != nil || !strings.Contains(got, "not in the sandbox's http_hosts") {
		t.Errorf("in the sandbox, a host not listed: %q, %v", got, err)
	}
	if rt.n.Load() != 2 || tg.hits.Load() != 0 {
		t.Errorf("the transport answered %d requests and the server %d; want 2 and 0", rt.n.Load(), tg.hits.Load())
	}
}
