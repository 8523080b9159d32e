package engine

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/msgscript/msgscript/httpmsg"
	"github.com/msgscript/msgscript/store"
)

// registryWith holds the given scripts (name -> text, each with its own subject header).
func registryWith(t *testing.T, scripts map[string]string) *Registry {
	t.Helper()
	reg := NewRegistry(Options{Logger: zaptest.NewLogger(t)})
	var batch []store.Event
	for name, text := range scripts {
		subject := strings.TrimSpace(strings.TrimPrefix(strings.SplitN(text, "\n", 2)[0], "--* subject:"))
		batch = append(batch, store.Event{Op: store.OpPut, Item: store.Item{
			Ref: store.Ref{Kind: store.KindScript, Subject: subject, Name: name}, Source: []byte(text), Origin: name + ".lua"}})
	}
	reg.Replace(batch)
	t.Cleanup(reg.Close)
	return reg
}

// serve takes an HTTP request the way the handler does: through a NATS message, the registry, and
// back to an HTTP response.
func serve(t *testing.T, reg *Registry, r *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	subject, rest, err := httpmsg.SplitPath(r.URL.Path)
	if err != nil {
		t.Fatal(err)
	}
	var body []byte
	if r.Body != nil {
		var err error
		if body, err = io.ReadAll(r.Body); err != nil {
			t.Fatal(err)
		}
	}
	reply := reg.Answer(context.Background(), subject, httpmsg.NewMsg(subject, rest, r, body, nil))
	w := httptest.NewRecorder()
	httpmsg.WriteReply(w, reply)
	return w
}

func TestHTTPModeStatusHeadersBody(t *testing.T) {
	reg := registryWith(t, map[string]string{"page": `--* subject: web.page
--* http: true
function GET(url, body, req)
  local h = req.headers["X-Token"] or "none"
  return "<p>" .. url .. " " .. req.path .. " " .. req.query.q .. " " .. h .. " " .. req.method .. "</p>", 201,
    {["Content-Type"] = "text/html", ["Set-Cookie"] = {"a=1", "b=2"}, ["X-Count"] = 3}
end
function POST(url, body, req)
  return tostring(#body) .. ":" .. body:byte(1) .. ":" .. req.raw_query .. ":" .. req.remote_addr
end
`})
	r := httptest.NewRequest("GET", "/web.page/a/b?q=x%20y&r=2", nil)
	r.Header.Set("X-Token", "secret")
	w := serve(t, reg, r)
	if w.Code != 201 || w.Body.String() != "<p>/a/b?q=x%20y&r=2 /a/b x y secret GET</p>" {
		t.Fatalf("GET: %d %q", w.Code, w.Body)
	}
	if w.Header().Get("Content-Type") != "text/html" || strings.Join(w.Header().Values("Set-Cookie"), ",") != "a=1,b=2" || w.Header().Get("X-Count") != "3" {
		t.Errorf("headers: %v", w.Header())
	}
	for name := range w.Header() {
		if strings.HasPrefix(name, "Msgscript-") {
			t.Errorf("internal header %s leaked into the response", name)
		}
	}

	r = httptest.NewRequest("POST", "/web.page?k=v", strings.NewReader("\x00\xffbinary"))
	r.RemoteAddr = "192.0.2.1:1234"
	if w := serve(t, reg, r); w.Code != 200 || w.Body.String() != "8:0:k=v:192.0.2.1:1234" {
		t.Fatalf("POST: %d %q", w.Code, w.Body)
	}

	// A verb the script has no function for.
	w = serve(t, reg, httptest.NewRequest("DELETE", "/web.page", nil))
	if w.Code != 405 || w.Header().Get("Allow") != "GET, POST" {
		t.Fatalf("DELETE: %d %v %q", w.Code, w.Header(), w.Body)
	}
}

// Without the header, a global function named after the verb puts the script in HTTP mode for
// that verb; other verbs reach OnMessage.
func TestVerbFunctionWithoutHeader(t *testing.T) {
	reg := registryWith(t, map[string]string{"both": `--* subject: web.both
function PUT(url, body) return "put " .. body, 202 end
function OnMessage(subject, payload) return "message " .. payload end
`})
	if w := serve(t, reg, httptest.NewRequest("PUT", "/web.both", strings.NewReader("x"))); w.Code != 202 || w.Body.String() != "put x" {
		t.Fatalf("PUT: %d %q", w.Code, w.Body)
	}
	w := serve(t, reg, httptest.NewRequest("POST", "/web.both", strings.NewReader("y")))
	if w.Code != 200 || w.Body.String() != "{\"both\":\"message y\"}\n" || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("POST: %d %q %v", w.Code, w.Body, w.Header())
	}
}

func TestHTTPModeErrors(t *testing.T) {
	reg := registryWith(t, map[string]string{
		"fails":     "--* subject: web.fails\n--* http: true\nfunction GET() error('no luck') end\n",
		"badstatus": "--* subject: web.badstatus\n--* http: true\nfunction GET() return 'x', 'teapot' end\n",
		"badheader": "--* subject: web.badheader\n--* http: true\nfunction GET() return 'x', 200, {['X-A'] = 'a\\r\\nInjected: yes'} end\n",
		"loop":      "--* subject: web.loop\n--* http: true\n--* timeout: 50ms\nfunction GET() while true do end end\n",
		"ctlname":   "--* subject: web.ctlname\n--* http: true\nfunction GET() return 'x', 200, {['X-\\1A'] = 'a'} end\n",
		"utf8name":  "--* subject: web.utf8name\n--* http: true\nfunction GET() return 'x', 200, {['X-é'] = 'a'} end\n",
		"noname":    "--* subject: web.noname\n--* http: true\nfunction GET() return 'x', 200, {[''] = 'a'} end\n",
		"switching": "--* subject: web.switching\n--* http: true\nfunction GET() return 'x', 101, {Upgrade = 'h2c'} end\n",
	})
	cases := []struct {
		path   string
		status int
		want   string
	}{
		{"/web.fails", 500, "fails: fails.lua:3: no luck"},
		{"/web.badstatus", 500, "as the status"},
		{"/web.badheader", 500, "invalid value for header"},
		{"/web.ctlname", 500, "invalid header name"},
		{"/web.utf8name", 500, "invalid header name"},
		{"/web.noname", 500, "invalid header name"},
		{"/web.switching", 500, "want a number from 200 to 999"},
		{"/web.loop", 504, "timed out"},
		{"/web.nothing", 404, "no script"},
	}
	for _, c := range cases {
		w := serve(t, reg, httptest.NewRequest("GET", c.path, nil))
		if w.Code != c.status || !strings.Contains(w.Body.String(), c.want) {
			t.Errorf("%s: %d %q, want %d and %q", c.path, w.Code, w.Body, c.status, c.want)
		}
	}
}
