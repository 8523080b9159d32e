package dashboard

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/zap/zaptest"

	"github.com/msgscript/msgscript/engine"
	"github.com/msgscript/msgscript/store"
)

// hostile is an error message a client can put in a script's last error.
const hostile = `<img src=x onerror=alert(1)>`

// registry holds three scripts, called as a client would: hello (three calls), fail (one call,
// failing with hostile in its error), broken (stored with a syntax error on line 3, and serving
// its previous version).
func registry(t *testing.T) *engine.Registry {
	t.Helper()
	reg := engine.NewRegistry(engine.Options{Logger: zaptest.NewLogger(t)})
	t.Cleanup(reg.Close)
	item := func(subject, name, src string) store.Event {
		return store.Event{Op: store.OpPut, Item: store.Item{
			Ref:    store.Ref{Kind: store.KindScript, Subject: subject, Name: name},
			Source: []byte(src), Origin: name + ".lua"}}
	}
	reg.Replace([]store.Event{
		item("funcs.hello", "hello", "function OnMessage(s, p) return 'hi ' .. p end\n"),
		item("funcs.fail", "fail", "function OnMessage(s, p) error(p) end\n"),
		item("funcs.broken", "broken", "function OnMessage(s, p) return 'v1' end\n"),
	})
	reg.Apply([]store.Event{item("funcs.broken", "broken", "-- the second version\nfunction OnMessage(s, p)\n  return 'v2' +\nend\n")})
	for range 3 {
		reg.Answer(context.Background(), "funcs.hello", &nats.Msg{Subject: "funcs.hello", Data: []byte("x")})
	}
	reg.Answer(context.Background(), "funcs.fail", &nats.Msg{Subject: "funcs.fail", Data: []byte(hostile)})
	return reg
}

func serve(t *testing.T, h *Handler, method, target string) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	resp := rec.Result()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func handler(t *testing.T, showSource bool) *Handler {
	reg := registry(t)
	return &Handler{ShowSource: showSource, Source: func() (engine.Instance, *engine.Registry, bool) {
		return engine.Instance{Service: "msgscript", ID: "ID1", Version: "v1.2.3", NATS: "nats://x"}, reg, true
	}}
}

// cell finds the text of a data-cell in the row of key.
func cell(t *testing.T, page, key, name string) string {
	t.Helper()
	row := regexp.MustCompile(`(?s)<tr data-key="` + regexp.QuoteMeta(key) + `">(.*?)</tr>`).FindStringSubmatch(page)
	if row == nil {
		t.Fatalf("no row %q in\n%s", key, page)
	}
	c := regexp.MustCompile(`(?s)data-cell="` + name + `"[^>]*>(.*?)</td>`).FindStringSubmatch(row[1])
	if c == nil {
		t.Fatalf("no cell %s in row %q", name, key)
	}
	return c[1]
}

func TestListPage(t *testing.T) {
	resp, page := serve(t, handler(t, false), "GET", "/")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("%d %v", resp.StatusCode, resp.Header)
	}
	if got := cell(t, page, "funcs.hello hello", "calls"); got != "3" {
		t.Errorf("hello's calls: %q", got)
	}
	if got := cell(t, page, "funcs.fail fail", "errors"); got != "1" {
		t.Errorf("fail's errors: %q", got)
	}
	if got := cell(t, page, "funcs.broken broken", "state"); !strings.Contains(got, "does not compile") {
		t.Errorf("broken's state: %q", got)
	}
	if got := cell(t, page, "funcs.hello hello", "p99"); !strings.HasPrefix(got, "≤ ") {
		t.Errorf("hello's 99th percentile: %q", got)
	}
	lastErr := cell(t, page, "funcs.fail fail", "last-error")
	if strings.Contains(page, hostile) || !strings.Contains(lastErr, "&lt;img src=x onerror=alert(1)&gt;") {
		t.Errorf("the hostile error is not escaped: %q", lastErr)
	}
	if want := "3 scripts: 0 with no version serving, 2 with a problem; 4 calls, 1 failed."; !strings.Contains(page, want) {
		t.Errorf("no summary %q", want)
	}
	if !strings.Contains(page, `<a href="?subject=funcs.hello&amp;name=hello">hello</a>`) {
		t.Error("no link to hello's page")
	}
}

// The policy allows the page's inline style and script, by their hashes, and nothing else.
func TestContentSecurityPolicyAllowsTheInlineParts(t *testing.T) {
	resp, page := serve(t, handler(t, false), "GET", "/")
	csp := resp.Header.Get("Content-Security-Policy")
	for _, tag := range []string{"style", "script"} {
		m := regexp.MustCompile(`(?s)<`+tag+`>(.*?)</`+tag+`>`).FindAllStringSubmatch(page, -1)
		if len(m) != 1 {
			t.Fatalf("%d inline %s elements", len(m), tag)
		}
		sum := sha256.Sum256([]byte(m[0][1]))
		if want := tag + "-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(csp, want) {
			t.Errorf("the policy %q lacks %s", csp, want)
		}
	}
	if !strings.HasPrefix(csp, "default-src 'none';") || strings.Contains(csp, "unsafe") {
		t.Errorf("policy: %q", csp)
	}
}

func TestScriptPage(t *testing.T) {
	hidden := handler(t, false)
	resp, page := serve(t, hidden, "GET", "/?subject=funcs.broken&name=broken")
	if resp.StatusCode != 200 || !strings.Contains(page, "The stored version does not compile (line 4)") {
		t.Fatalf("%d\n%s", resp.StatusCode, page)
	}
	if strings.Contains(page, "the second version") || !strings.Contains(page, "Set <code>show_source</code>") {
		t.Error("the source shows without show_source")
	}
	_, page = serve(t, handler(t, true), "GET", "/?subject=funcs.broken&name=broken")
	if !strings.Contains(page, "the second version") || !strings.Contains(page, `(<a href="#L4">line 4</a>)`) {
		t.Error("no source, or no link to the error's line, with show_source")
	}
	if !regexp.MustCompile(`class="line error-line" id="L4"><span class="ln" aria-hidden="true">4</span><mark>end</mark>`).MatchString(page) {
		t.Errorf("the error's line is not marked:\n%s", page)
	}
	_, page = serve(t, hidden, "GET", "/?subject=funcs.hello&name=hello")
	total := 0
	for _, m := range regexp.MustCompile(`<meter min="0" max="\d+" value="(\d+)">`).FindAllStringSubmatch(page, -1) {
		n, _ := strconv.Atoi(m[1])
		total += n
	}
	if !strings.Contains(page, `<caption>Calls by duration</caption>`) || total != 3 {
		t.Errorf("no histogram of hello's three calls:\n%s", page)
	}
}

func TestStatuses(t *testing.T) {
	h := handler(t, false)
	if resp, _ := serve(t, h, "GET", "/?subject=funcs.none&name=x"); resp.StatusCode != 404 {
		t.Errorf("unknown script: %d", resp.StatusCode)
	}
	if resp, _ := serve(t, h, "POST", "/"); resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST: %d %v", resp.StatusCode, resp.Header)
	}
	resp, part := serve(t, h, "GET", "/?part=main")
	if resp.StatusCode != 200 || strings.Contains(part, "<html") || !strings.Contains(part, `data-key="funcs.hello hello"`) {
		t.Errorf("part=main: %d\n%s", resp.StatusCode, part)
	}
	stopped := &Handler{Source: func() (engine.Instance, *engine.Registry, bool) { return engine.Instance{}, nil, false }}
	if resp, page := serve(t, stopped, "GET", "/"); resp.StatusCode != 503 || !strings.Contains(page, "msgscript is not running") {
		t.Errorf("stopped: %d\n%s", resp.StatusCode, page)
	}
}

func TestFormats(t *testing.T) {
	for d, want := range map[time.Duration]string{
		850 * time.Microsecond: "850µs", 12500 * time.Microsecond: "12.5ms", 1200 * time.Millisecond: "1.2s",
		100 * time.Microsecond: "100µs", 2500 * time.Microsecond: "2.5ms", 30 * time.Second: "30s",
	} {
		if got := duration(d); got != want {
			t.Errorf("duration(%s) = %q, want %q", d, got, want)
		}
	}
	for d, want := range map[time.Duration]string{0: "just now", 5 * time.Second: "5s ago", 90 * time.Minute: "1h ago", 72 * time.Hour: "3d ago"} {
		if got := ago(d); got != want {
			t.Errorf("ago(%s) = %q, want %q", d, got, want)
		}
	}
	buckets := make([]uint64, len(engine.DurationBuckets)+1)
	buckets[0], buckets[3] = 98, 2 // 98 calls ≤ 100µs, 2 ≤ 1ms
	if got := quantile(buckets, 0.99); got != "≤ 1ms" {
		t.Errorf("99th percentile: %q", got)
	}
	buckets[3], buckets[len(buckets)-1] = 0, 2
	if got := quantile(buckets, 0.99); got != "> 30s" {
		t.Errorf("99th percentile over the last bound: %q", got)
	}
}

// A stream script's page says which stream and consumer call it, what came of its messages, that
// its trigger does not run (this registry has no engine to run it), and the header it ignored.
func TestScriptPageShowsTheTrigger(t *testing.T) {
	reg := engine.NewRegistry(engine.Options{Logger: zaptest.NewLogger(t)})
	t.Cleanup(reg.Close)
	reg.Replace([]store.Event{{Op: store.OpPut, Item: store.Item{
		Ref:    store.Ref{Kind: store.KindScript, Subject: "hooks.in", Name: "hook"},
		Source: []byte("--* stream: HOOKS\n--* subjet: hooks.in\nfunction OnMessage() end\n"), Origin: "hook.lua"}}})
	h := &Handler{Source: func() (engine.Instance, *engine.Registry, bool) { return engine.Instance{}, reg, true }}
	_, page := serve(t, h, "GET", "/?subject=hooks.in&name=hook")
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`data-cell="trigger">stream HOOKS \(consumer msgscript_hook_hooks_in_[0-9a-f]{8}\): 0 acked, 0 retried, 0 dead-lettered<`),
		regexp.MustCompile(`data-cell="state" class="warn">serving [0-9a-f]{12}; its trigger does not run<`),
		regexp.MustCompile(`<dt>Header ignored</dt><dd class="warn">hook.lua:2: unknown header &#34;subjet&#34;, ignored \(did you mean subject\?\)</dd>`),
	} {
		if !want.MatchString(page) {
			t.Errorf("page lacks %s", want)
		}
	}
}
