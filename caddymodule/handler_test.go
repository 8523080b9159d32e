package caddymodule

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"golang.org/x/crypto/bcrypt"

	"github.com/msgscript/msgscript/callctx"
	"github.com/msgscript/msgscript/internal/testfiles"
	"github.com/msgscript/msgscript/internal/testhttp"
	"github.com/msgscript/msgscript/internal/testnet"
	"github.com/msgscript/msgscript/script"

	// basic_auth and the rest of a standard Caddy, for configs written as users write them.
	_ "github.com/caddyserver/caddy/v2/modules/standard"
)

// The scripts behind the handler tests.
var handlerScripts = map[string]string{
	"hello.lua": helloScript,
	"fail.lua":  "--* subject: funcs.fail\nfunction OnMessage(s, p)\n  error('something went wrong')\nend\n",
	"loop.lua":  "--* subject: funcs.loop\n--* timeout: 100ms\nfunction OnMessage(s, p) while true do end end\n",
	"slow.lua":  "--* subject: funcs.slow\n--* timeout: 1s\nfunction OnMessage(s, p) while true do end end\n",
	"web.lua": `--* subject: web.echo
--* http: true
local function all(url, body, req)
  local names = {}
  for k in pairs(req.headers) do names[#names + 1] = k end
  table.sort(names)
  return body, 200, {
    ["X-Method"] = req.method, ["X-Url"] = url, ["X-Path"] = req.path, ["X-Q"] = req.query.q or "",
    ["X-Headers"] = table.concat(names, ","), ["Content-Type"] = "application/octet-stream"}
end
GET, POST, PUT, PATCH, DELETE, OPTIONS = all, all, all, all, all, all
function HEAD(url) return "", 204, {["X-Method"] = "HEAD"} end
`,
	"raw.lua": "--* subject: funcs.raw\n--* reply: raw\nfunction OnMessage(s, p) return '{\"greeting\":\"hi '..p..'\"}' end\n",
	"created.lua": "--* subject: web.created\n--* http: true\nfunction POST(url, body)\n" +
		"  return '{\"id\":7}', 201, {['Content-Type'] = 'application/json', ['Location'] = '/items/7', ['Set-Cookie'] = {'a=1', 'b=2'}}\nend\n",
}

// handlerSites are the ports of the test config's sites.
type handlerSites struct {
	plain, limited, auth, dead, custom string
	nats                               string
}

// startHandlerConfig runs one Caddy config with the msgscript app (embedded NATS) and five sites:
// the handler on its defaults (timeout 300ms), one with every option and its own NATS connection,
// one behind basic_auth, one whose NATS server is not there, and one with handle_errors.
func startHandlerConfig(t *testing.T) handlerSites {
	t.Helper()
	dir := testfiles.Dir(t, handlerScripts)
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	s := handlerSites{
		nats:    testnet.FreeAddr(t),
		plain:   testnet.FreeAddr(t),
		limited: testnet.FreeAddr(t),
		auth:    testnet.FreeAddr(t),
		dead:    testnet.FreeAddr(t),
		custom:  testnet.FreeAddr(t),
	}
	caddyfile := fmt.Sprintf(`{
	admin off
	msgscript {
		embedded_nats %s
		store dir %s
	}
}
http://%s {
	msgscript {
		timeout 300ms
	}
}
http://%s {
	msgscript {
		max_body 1KiB
		subjects funcs.* web.echo
		forward_headers X-Keep
		nats_url nats://%s
	}
}
http://%s {
	basic_auth {
		ann %s
	}
	msgscript
}
http://%s {
	msgscript {
		nats_url nats://127.0.0.1:%d
	}
}
http://%s {
	msgscript
	handle_errors {
		respond "custom {err.status_code}: {err.message}" {err.status_code}
	}
}
`, s.nats, dir, s.plain, s.limited, s.nats, s.auth, hash, s.dead, testnet.FreePort(t), s.custom)
	loadCaddyfile(t, caddyfile)
	return s
}

func TestHandlerNormalAndHTTPMode(t *testing.T) {
	s := startHandlerConfig(t)
	base := "http://" + s.plain

	r := testhttp.Do(t, "POST", base+"/funcs.hello", strings.NewReader("John"))
	if r.Status != 200 || r.Body != helloHTTP || r.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("normal mode: %d %q %v", r.Status, r.Body, r.Header)
	}

	// A `--* reply: raw` script: its return value is the body, JSON typed as such, not wrapped.
	r = testhttp.Do(t, "POST", base+"/funcs.raw", strings.NewReader("Ann"))
	if r.Status != 200 || r.Body != `{"greeting":"hi Ann"}` || r.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("raw reply: %d %q %v", r.Status, r.Body, r.Header)
	}

	// HTTP mode: the script's status, headers (repeated ones too) and body, as they are.
	r = testhttp.Do(t, "POST", base+"/web.created", nil)
	if r.Status != 201 || r.Body != `{"id":7}` || r.Header.Get("Location") != "/items/7" ||
		strings.Join(r.Header.Values("Set-Cookie"), " ") != "a=1 b=2" || r.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("HTTP mode: %d %q %v", r.Status, r.Body, r.Header)
	}
	for name := range r.Header {
		if strings.HasPrefix(name, "Msgscript-") || strings.HasPrefix(name, "Nats-") {
			t.Errorf("internal header %s in the response", name)
		}
	}

	// Every verb, the rest of the path and the query string reach the script.
	for _, method := range []string{"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"} {
		r = testhttp.Do(t, method, base+"/web.echo/a/b?q=x%20y&z=1", strings.NewReader("payload-"+method))
		if r.Status != 200 || r.Body != "payload-"+method || r.Header.Get("X-Method") != method ||
			r.Header.Get("X-Url") != "/a/b?q=x%20y&z=1" || r.Header.Get("X-Path") != "/a/b" || r.Header.Get("X-Q") != "x y" {
			t.Errorf("%s: %d %q %v", method, r.Status, r.Body, r.Header)
		}
	}
	if r = testhttp.Do(t, "HEAD", base+"/web.echo", nil); r.Status != 204 || r.Header.Get("X-Method") != "HEAD" {
		t.Errorf("HEAD: %d %v", r.Status, r.Header)
	}

	// Bodies are raw bytes, large or empty.
	big := bytes.Repeat([]byte{0, 1, 2, 0xff, 'x'}, 180_000) // 900 KB, under the 1 MiB default
	r = testhttp.Do(t, "POST", base+"/web.echo", bytes.NewReader(big))
	if r.Status != 200 || r.Body != string(big) {
		t.Errorf("large body: %d, %d bytes back", r.Status, len(r.Body))
	}
	if r = testhttp.Do(t, "POST", base+"/web.echo", nil); r.Status != 200 || r.Body != "" {
		t.Errorf("empty body: %d %q", r.Status, r.Body)
	}
	// Request headers are passed on; a client cannot forge msgscript's own.
	r = testhttp.Do(t, "GET", base+"/web.echo", nil, "X-Custom", "1", "Msgscript-Status", "500")
	if r.Status != 200 || !strings.Contains(r.Header.Get("X-Headers"), "X-Custom") || strings.Contains(r.Header.Get("X-Headers"), "Msgscript") {
		t.Errorf("forwarded headers: %d %v", r.Status, r.Header.Get("X-Headers"))
	}
}

func TestHandlerStatuses(t *testing.T) {
	s := startHandlerConfig(t)
	base, limited := "http://"+s.plain, "http://"+s.limited
	cases := []statusCase{
		{base + "/funcs.nothing", "", 404, "no script listens on funcs.nothing"},
		{base + "/funcs.fail", "", 500, "fail.lua:3: something went wrong"},
		{base + "/funcs.loop", "", 504, "timed out"}, // the script's own deadline
		// The handler's timeout (300ms), which the request tells the script (see funcs.silent
		// below): its own timeout error, or the handler's when that comes first.
		{base + "/funcs.slow", "", 504, "slow"},
		{"http://" + s.dead + "/funcs.hello", "", 503, "NATS is not reachable"},
	}
	check := func(cases []statusCase) {
		t.Helper()
		for _, c := range cases {
			r := testhttp.Do(t, "POST", c.url, strings.NewReader(c.body))
			if r.Status != c.status || !strings.Contains(r.Body, c.want) {
				t.Errorf("%s: %d %q, want %d and %q", c.url, r.Status, r.Body, c.status, c.want)
			}
		}
	}
	check(cases)

	nc := connectTo(t, "nats://"+s.nats)
	// From here on, whatever reaches NATS: refused requests must never be published. (The
	// subscription answers nothing, so it must not be there for the cases above.)
	seen := make(chan string, 1024)
	silentTimeout := make(chan string, 1)
	sub, err := nc.Subscribe(">", func(m *nats.Msg) {
		seen <- m.Subject
		if m.Subject == "funcs.silent" {
			silentTimeout <- m.Header.Get(callctx.HeaderTimeout)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}

	check([]statusCase{
		{base + "/funcs.silent", "", 504, "no reply from funcs.silent within 300ms"}, // only the subscriber above hears it
		{base + "/funcs..x", "", 400, "empty token"},
		{base + "/funcs.*", "", 400, "wildcard"},
		{base + "/funcs.>", "", 400, "wildcard"},
		{base + "/$SYS.REQ.SERVER.PING", "", 400, "reserved"},
		{base + "/_INBOX.abc", "", 400, "reserved"},
		{base + "/", "", 400, "no subject"},
		{base + "/web." + strings.Repeat("a", 4100), "", 414, "subject longer than 1024 bytes"},
		{limited + "/web.created", "", 403, "not open"},
		{limited + "/funcs.hello", strings.Repeat("x", 1025), 413, "over 1024 bytes"},
	})
	// A body over the limit without a Content-Length (chunked) is refused too.
	pr, pw := io.Pipe()
	go func() {
		_, _ = pw.Write(bytes.Repeat([]byte("y"), 4096))
		pw.Close()
	}()
	if r := testhttp.Do(t, "POST", limited+"/funcs.hello", pr); r.Status != 413 {
		t.Errorf("chunked body over the limit: %d %q", r.Status, r.Body)
	}
	// Bodies up to the limit arrive whole, of a known length or chunked.
	full := strings.Repeat("z", 1024)
	if r := testhttp.Do(t, "POST", limited+"/web.echo", strings.NewReader(full)); r.Status != 200 || r.Body != full {
		t.Errorf("a body of exactly max_body: %d, %d bytes", r.Status, len(r.Body))
	}
	pr, pw = io.Pipe()
	go func() {
		_, _ = pw.Write([]byte(full[:1000]))
		pw.Close()
	}()
	if r := testhttp.Do(t, "POST", limited+"/web.echo", pr); r.Status != 200 || r.Body != full[:1000] {
		t.Errorf("a chunked body within max_body: %d, %d bytes", r.Status, len(r.Body))
	}
	// Within the limits, the edge site's own connection works and only X-Keep is passed on.
	if r := testhttp.Do(t, "POST", limited+"/funcs.hello", strings.NewReader("John")); r.Status != 200 || r.Body != helloHTTP {
		t.Errorf("edge site: %d %q", r.Status, r.Body)
	}
	if r := testhttp.Do(t, "GET", limited+"/web.echo", nil, "X-Keep", "1", "X-Drop", "1"); r.Header.Get("X-Headers") != "X-Keep" {
		t.Errorf("forward_headers: %q", r.Header.Get("X-Headers"))
	}

	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	// The request told the scripts how long the handler waits, a little less, so that their own
	// timeout error comes back before it gives up.
	if got := <-silentTimeout; got != "270ms" {
		t.Errorf("%s: %q, want 270ms", callctx.HeaderTimeout, got)
	}
	time.Sleep(100 * time.Millisecond) // let the last messages arrive
	if err := sub.Unsubscribe(); err != nil {
		t.Fatal(err)
	}
	close(seen)
	published := map[string]int{}
	for subject := range seen {
		published[subject]++
	}
	for _, refused := range []string{"funcs..x", "funcs.*", "funcs.>", "$SYS.REQ.SERVER.PING", "_INBOX.abc", "web.created"} {
		if published[refused] > 0 {
			t.Errorf("a refused request was published on %q", refused)
		}
	}
	for subject := range published {
		if len(subject) > script.MaxSubjectLen {
			t.Errorf("a subject of %d bytes was published", len(subject))
		}
	}
	if published["funcs.hello"] != 1 || published["web.echo"] != 3 {
		t.Errorf("published %v; want funcs.hello once and web.echo three times (the refused bodies never)", published)
	}
}

type statusCase struct {
	url    string
	body   string
	status int
	want   string
}

// A site's handle_errors answers msgscript's failures as those of any other handler, with
// {err.status_code} and {err.message}; answers are left alone.
func TestHandlerFailuresReachHandleErrors(t *testing.T) {
	s := startHandlerConfig(t)
	base := "http://" + s.custom
	for _, c := range []statusCase{
		{base + "/funcs.nothing", "", 404, "custom 404: no script listens on funcs.nothing"},
		{base + "/$SYS.x", "", 400, `custom 400: subject "$SYS.x" is reserved for NATS itself`},
		{base + "/funcs.fail", "", 500, "custom 500: fail: "},
		{base + "/funcs.hello", "John", 200, helloHTTP},
	} {
		r := testhttp.Do(t, "POST", c.url, strings.NewReader(c.body))
		if r.Status != c.status || !strings.HasPrefix(r.Body, c.want) {
			t.Errorf("%s: %d %q, want %d and %q", c.url, r.Status, r.Body, c.status, c.want)
		}
	}
	if r := testhttp.Do(t, "DELETE", base+"/web.created", nil); r.Status != 405 || r.Header.Get("Allow") != "POST" {
		t.Errorf("a script's own 405 is its answer, not a failure: %d %q %v", r.Status, r.Body, r.Header)
	}
}

func TestHandlerBehindBasicAuth(t *testing.T) {
	s := startHandlerConfig(t)
	url := "http://" + s.auth + "/funcs.hello"
	if r := testhttp.Do(t, "POST", url, strings.NewReader("John")); r.Status != 401 {
		t.Fatalf("without credentials: %d", r.Status)
	}
	req, _ := http.NewRequest("POST", url, strings.NewReader("John"))
	req.SetBasicAuth("ann", "wrong")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 401 {
		t.Fatalf("wrong password: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	req, _ = http.NewRequest("POST", url, strings.NewReader("John"))
	req.SetBasicAuth("ann", "s3cret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(b) != helloHTTP {
		t.Fatalf("with credentials: %d %s", resp.StatusCode, b)
	}
}

// A script that calls its own subject through the HTTP handler loops no deeper than max_depth:
// its requests carry their depth as its NATS messages do.
func TestLoopThroughTheHandlerEndsAtMaxDepth(t *testing.T) {
	natsAddr, site := testnet.FreeAddr(t), testnet.FreeAddr(t)
	dir := testfiles.Dir(t, map[string]string{"loop.lua": `--* subject: funcs.hloop
local http = require("http")
local nats = require("nats")
function OnMessage(s, p)
  nats.publish("hops", p)
  local r, err = http.post("http://` + site + `/funcs.hloop", {body = p})
  if err then error(err) end
  return tostring(r.status_code)
end
`})
	caddyfile := fmt.Sprintf(`{
	admin off
	msgscript {
		embedded_nats %s
		store dir %s
		max_depth 3
	}
}
http://%s {
	msgscript
}
`, natsAddr, dir, site)
	loadCaddyfile(t, caddyfile)
	nc := connectTo(t, "nats://"+natsAddr)
	hops, err := nc.SubscribeSync("hops")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil { // the server knows the subscription before the first hop publishes
		t.Fatal(err)
	}
	r := testhttp.Do(t, "POST", "http://"+site+"/funcs.hloop", strings.NewReader("x"))
	if r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	// The request returned once every hop had: their messages are on their way. Wait for four,
	// then a while for a fifth.
	n := 0
	for wait := 5 * time.Second; ; wait = 500 * time.Millisecond {
		if n == 4 {
			wait = 300 * time.Millisecond
		}
		if _, err := hops.NextMsg(wait); err != nil {
			break
		}
		n++
	}
	if n != 4 { // depths 0 to 3
		// The body is what the first hop's own request got: where the chain stopped.
		t.Errorf("the script ran %d times, want 4 (max_depth 3); the first hop's request got %s", n, r.Body)
	}
}
