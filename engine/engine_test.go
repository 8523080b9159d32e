package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/msgscript/msgscript/httpmsg"
	"github.com/msgscript/msgscript/internal/testetcd"
	"github.com/msgscript/msgscript/internal/testfiles"
	"github.com/msgscript/msgscript/store"
)

func request(t *testing.T, nc *nats.Conn, subject, payload string) *nats.Msg {
	t.Helper()
	m, err := nc.Request(subject, []byte(payload), 5*time.Second)
	if err != nil {
		t.Fatalf("request %s: %v", subject, err)
	}
	return m
}

func TestHelloOverNATS(t *testing.T) {
	ns := startNATS(t)
	dir := t.TempDir()
	testfiles.Write(t, dir, map[string]string{"hello.lua": hello})
	startEngine(t, ns, dir, Options{})

	m := request(t, connect(t, ns), "funcs.hello", "John")
	if got, want := string(m.Data), `{"hello":"Processed subject: funcs.hello with payload: John"}`; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	if m.Header.Get(micro.ErrorCodeHeader) != "" {
		t.Fatalf("unexpected error header: %v", m.Header)
	}
}

func TestSeveralScriptsOnOneSubject(t *testing.T) {
	ns := startNATS(t)
	dir := t.TempDir()
	testfiles.Write(t, dir, map[string]string{
		"a.lua":    "--* subject: funcs.multi\nfunction OnMessage(s, p) return 'a:' .. p end",
		"b.lua":    "--* subject: funcs.multi\nfunction OnMessage(s, p) return 'b:' .. p end",
		"fail.lua": "--* subject: funcs.multi\nfunction OnMessage(s, p) error('no luck') end",
		"slow.lua": "--* subject: funcs.multi\n--* timeout: 50ms\nfunction OnMessage(s, p) while p == 'slow' do end return 'slow' end",
	})
	startEngine(t, ns, dir, Options{})
	nc := connect(t, ns)

	m := request(t, nc, "funcs.multi", "x")
	if got, want := string(m.Data), `{"a":"a:x","b":"b:x","slow":"slow"}`; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	if code := m.Header.Get(micro.ErrorCodeHeader); code != "500" {
		t.Fatalf("error code %q, want 500", code)
	}
	if errs := m.Header.Values(micro.ErrorHeader); len(errs) != 1 || !strings.HasPrefix(errs[0], "fail: ") || !strings.Contains(errs[0], "fail.lua:2: no luck") {
		t.Fatalf("error header %q", errs)
	}

	m = request(t, nc, "funcs.multi", "slow")
	if got, want := string(m.Data), `{"a":"a:slow","b":"b:slow"}`; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	if errs := m.Header.Values(micro.ErrorHeader); len(errs) != 2 || !strings.Contains(strings.Join(errs, "|"), "slow: timed out after 50ms") {
		t.Fatalf("error header %q", errs)
	}
}

func TestOnlyTimeoutsGive504(t *testing.T) {
	ns := startNATS(t)
	dir := t.TempDir()
	testfiles.Write(t, dir, map[string]string{"loop.lua": "--* subject: funcs.loop\n--* timeout: 20ms\nfunction OnMessage() while true do end end"})
	startEngine(t, ns, dir, Options{})
	m := request(t, connect(t, ns), "funcs.loop", "")
	if string(m.Data) != "{}" || m.Header.Get(micro.ErrorCodeHeader) != "504" {
		t.Fatalf("got %s %v", m.Data, m.Header)
	}
}

func TestWildcardSubjects(t *testing.T) {
	ns := startNATS(t)
	dir := t.TempDir()
	testfiles.Write(t, dir, map[string]string{
		"star.lua": "--* subject: wild.*\nfunction OnMessage(s, p) return s end",
		"gt.lua":   "--* subject: deep.>\nfunction OnMessage(s, p) return s end",
	})
	startEngine(t, ns, dir, Options{})
	nc := connect(t, ns)
	for subject, want := range map[string]string{
		"wild.one":   `{"star":"wild.one"}`,
		"deep.a.b.c": `{"gt":"deep.a.b.c"}`,
	} {
		if got := string(request(t, nc, subject, "").Data); got != want {
			t.Errorf("%s: got %s, want %s", subject, got, want)
		}
	}
	if _, err := nc.Request("wild.one.two", nil, time.Second); !errors.Is(err, nats.ErrNoResponders) {
		t.Errorf("wild.* answered a two-token subject: %v", err)
	}
}

func TestNeverSubscribesToEverything(t *testing.T) {
	ns := startNATS(t)
	dir := t.TempDir()
	testfiles.Write(t, dir, map[string]string{
		"all.lua":   "--* subject: >\nfunction OnMessage() return 'all' end",
		"inbox.lua": "--* subject: _INBOX.>\nfunction OnMessage() return 'inbox' end",
		"ok.lua":    "--* subject: funcs.ok\nfunction OnMessage() return 'ok' end",
	})
	e := startEngine(t, ns, dir, Options{})
	if got := strings.Join(e.Registry().Subjects(), ","); got != "funcs.ok" {
		t.Fatalf("subjects %s, want only funcs.ok", got)
	}
	nc := connect(t, ns)
	if _, err := nc.Request("anything.else", nil, 500*time.Millisecond); !errors.Is(err, nats.ErrNoResponders) {
		t.Fatalf("something answers anything.else: %v", err)
	}
}

func TestMessagesWithoutReplyRunAndSendNothing(t *testing.T) {
	ns := startNATS(t)
	dir := t.TempDir()
	testfiles.Write(t, dir, map[string]string{"c.lua": "--* subject: funcs.count\nfunction OnMessage() count() return 'x' end"})
	var runs atomic.Int64
	startEngine(t, ns, dir, Options{Preload: []Preloader{counter(&runs)}})
	nc := connect(t, ns)
	for range 10 {
		if err := nc.Publish("funcs.count", nil); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "10 runs", func() bool { return runs.Load() == 10 })
}

// Two engines on one NATS server and one store, as two instances of msgscript: every message
// runs once, the two share the work, and both follow every change. The same for each store.
func TestTwoInstancesShareOneStore(t *testing.T) {
	backends := map[string]func(t *testing.T) func(*zap.Logger) store.Store{
		"dir":  func(t *testing.T) func(*zap.Logger) store.Store { return dirStore(t.TempDir()) },
		"etcd": func(t *testing.T) func(*zap.Logger) store.Store { return etcdStore(testetcd.Start(t)) },
	}
	for name, backend := range backends {
		t.Run(name, func(t *testing.T) {
			open := backend(t)
			ctx := context.Background()
			if err := open(nil).PutScript(ctx, "funcs.once", "once", []byte("function OnMessage() count() return 'v1' end")); err != nil {
				t.Fatal(err)
			}
			ns := startNATS(t)
			var a, b atomic.Int64
			ea := startEngineOn(t, ns, open, Options{Preload: []Preloader{counter(&a)}})
			eb := startEngineOn(t, ns, open, Options{Preload: []Preloader{counter(&b)}})
			nc := connect(t, ns)
			const n = 200
			for range n {
				request(t, nc, "funcs.once", "")
			}
			if a.Load()+b.Load() != n || a.Load() == 0 || b.Load() == 0 {
				t.Fatalf("runs: %d + %d, want %d in all, shared by both", a.Load(), b.Load(), n)
			}

			if err := open(nil).PutScript(ctx, "funcs.once", "once", []byte("function OnMessage() return 'v2' end")); err != nil {
				t.Fatal(err)
			}
			for name, e := range map[string]*Engine{"first": ea, "second": eb} {
				eventually(t, name+" instance serves v2", func() bool { return answer(e, "funcs.once") == `{"once":"v2"}` })
			}
			if err := open(nil).DeleteScript(ctx, "funcs.once", "once"); err != nil {
				t.Fatal(err)
			}
			for name, e := range map[string]*Engine{"first": ea, "second": eb} {
				eventually(t, name+" instance dropped the script", func() bool { return len(e.Registry().Subjects()) == 0 })
			}
		})
	}
}

func TestHotReload(t *testing.T) {
	ns := startNATS(t)
	dir := t.TempDir()
	testfiles.Write(t, dir, map[string]string{"v.lua": "--* subject: funcs.v\nfunction OnMessage() return 'v1' end"})
	e := startEngine(t, ns, dir, Options{})
	nc := connect(t, ns)
	answer := func(subject string) string {
		m, err := nc.Request(subject, nil, time.Second)
		if err != nil {
			return err.Error()
		}
		return string(m.Data)
	}
	if got := answer("funcs.v"); got != `{"v":"v1"}` {
		t.Fatalf("got %s", got)
	}

	testfiles.Write(t, dir, map[string]string{"v.lua": "--* subject: funcs.v\nfunction OnMessage() return 'v2' end"})
	eventually(t, "v2 served", func() bool { return answer("funcs.v") == `{"v":"v2"}` })

	// A broken version is refused, reported with its line, and v2 keeps serving.
	testfiles.Write(t, dir, map[string]string{"v.lua": "--* subject: funcs.v\n\nfunction OnMessage() return 'v3' \n"})
	eventually(t, "broken version reported", func() bool {
		_, err := e.Registry().Script("funcs.v", "v")
		return err != nil
	})
	prog, err := e.Registry().Script("funcs.v", "v")
	if prog == nil || !strings.Contains(err.Error(), "v.lua") {
		t.Fatalf("serving %v, error %v", prog, err)
	}
	if got := answer("funcs.v"); got != `{"v":"v2"}` {
		t.Fatalf("after a broken version: got %s", got)
	}

	// A new file on a new subject is subscribed to.
	testfiles.Write(t, dir, map[string]string{"n.lua": "--* subject: funcs.new\nfunction OnMessage() return 'new' end"})
	eventually(t, "new subject served", func() bool { return answer("funcs.new") == `{"n":"new"}` })

	// Deleting the last script of a subject unsubscribes.
	os.Remove(filepath.Join(dir, "n.lua"))
	eventually(t, "funcs.new gone", func() bool { return answer("funcs.new") == nats.ErrNoResponders.Error() })
}

func TestLibraryChangeRecompilesDependents(t *testing.T) {
	ns := startNATS(t)
	dir := t.TempDir()
	testfiles.Write(t, dir, map[string]string{
		"s.lua":          "--* subject: funcs.lib\n--* require: greet\nfunction OnMessage(s, p) return greet(p) end",
		"libs/greet.lua": "function greet(n) return 'hello ' .. n end",
	})
	startEngine(t, ns, dir, Options{})
	nc := connect(t, ns)
	if got := string(request(t, nc, "funcs.lib", "Ann").Data); got != `{"s":"hello Ann"}` {
		t.Fatalf("got %s", got)
	}
	testfiles.Write(t, dir, map[string]string{"libs/greet.lua": "function greet(n) return 'bonjour ' .. n end"})
	eventually(t, "library change live", func() bool {
		return string(request(t, nc, "funcs.lib", "Ann").Data) == `{"s":"bonjour Ann"}`
	})
}

func TestScriptWaitingForItsLibrary(t *testing.T) {
	ns := startNATS(t)
	dir := t.TempDir()
	testfiles.Write(t, dir, map[string]string{"s.lua": "--* subject: funcs.wait\n--* require: later\nfunction OnMessage() return later() end"})
	e := startEngine(t, ns, dir, Options{})
	if _, err := e.Registry().Script("funcs.wait", "s"); err == nil || !strings.Contains(err.Error(), `requires library "later"`) {
		t.Fatalf("got %v", err)
	}
	testfiles.Write(t, dir, map[string]string{"libs/later.lua": "function later() return 'here' end"})
	nc := connect(t, ns)
	eventually(t, "script loaded once its library exists", func() bool {
		m, err := nc.Request("funcs.wait", nil, time.Second)
		return err == nil && string(m.Data) == `{"s":"here"}`
	})
}

// Stop lets the messages already received finish and reply (Stop runs again, harmlessly, when the
// test ends).
func TestStopFinishesMessagesInFlight(t *testing.T) {
	ns := startNATS(t)
	dir := t.TempDir()
	testfiles.Write(t, dir, map[string]string{"slow.lua": "--* subject: funcs.slow\nfunction OnMessage() count() sleep(300) return 'done' end"})
	var runs atomic.Int64
	e := startEngine(t, ns, dir, Options{Preload: []Preloader{counter(&runs)}})
	nc := connect(t, ns)

	const n = 5
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, err := nc.Request("funcs.slow", nil, 5*time.Second)
			if err == nil && string(m.Data) != `{"slow":"done"}` {
				err = errors.New("bad reply " + string(m.Data))
			}
			errs <- err
		}()
	}
	eventually(t, "all calls running", func() bool { return runs.Load() == n })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// Stop does not wait for a NATS that is gone: draining a subscription waited for the server to
// confirm it, 10 s of nats.go's flush, so a server stopped while NATS was down took that long.
func TestStopWithNATSGone(t *testing.T) {
	ns := startNATS(t)
	dir := t.TempDir()
	testfiles.Write(t, dir, map[string]string{"hello.lua": hello})
	e := startEngine(t, ns, dir, Options{})
	request(t, connect(t, ns), "funcs.hello", "x")
	ns.Shutdown()
	eventually(t, "the engine's connection sees NATS gone", func() bool { return !e.disp.nc.Load().IsConnected() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Error("Stop waited out its context for a NATS that is gone")
	}
}

// A reply NATS cannot carry is answered at once with an error that says why, rather than left
// for the caller to wait out its timeout.
func TestReplyTooLargeForNATS(t *testing.T) {
	ns := startNATS(t)
	dir := t.TempDir()
	testfiles.Write(t, dir, map[string]string{
		"big.lua": "--* subject: funcs.big\nfunction OnMessage() return string.rep('x', 2 * 1024 * 1024) end",
		// An HTTP-mode reply whose headers alone are over it: the error counts them.
		"headers.lua": "--* subject: web.headers\n--* http: true\nfunction GET() local v = {} for i = 1, 100000 do v[i] = 'abcdefgh' end return 'ok', 200, {['X-Many'] = v} end",
	})
	startEngine(t, ns, dir, Options{})
	nc := connect(t, ns)
	m := request(t, nc, "funcs.big", "")
	if m.Header.Get(micro.ErrorCodeHeader) != "500" || !strings.Contains(m.Header.Get(micro.ErrorHeader), `reply of 2097162 bytes (0 of them headers) exceeds NATS max_payload 1048576`) {
		t.Fatalf("got %d bytes, headers %v", len(m.Data), m.Header)
	}
	req := nats.NewMsg("web.headers")
	req.Header.Set(httpmsg.HeaderMethod, "GET")
	m, err := nc.RequestMsg(req, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// 100,000 lines of "X-Many: abcdefgh\r\n" (1,800,000 bytes), the status's line and NATS's first
	// and last lines (35), and the body "ok".
	if got := m.Header.Get(micro.ErrorHeader); m.Header.Get(micro.ErrorCodeHeader) != "500" || !strings.Contains(got, "reply of 1800037 bytes (1800035 of them headers) exceeds NATS max_payload 1048576") {
		t.Fatalf("error %q", got)
	}
}

// An error message of any size reaches the caller and the log bounded.
func TestHugeErrorMessagesAreBounded(t *testing.T) {
	ns := startNATS(t)
	dir := t.TempDir()
	testfiles.Write(t, dir, map[string]string{"huge.lua": "--* subject: funcs.huge\nfunction OnMessage() error(string.rep('x', 10 * 1024 * 1024)) end"})
	core, logs := observer.New(zap.ErrorLevel)
	startEngine(t, ns, dir, Options{Logger: zap.New(core)})
	m := request(t, connect(t, ns), "funcs.huge", "")
	if got := m.Header.Get(micro.ErrorHeader); len(got) > 5000 || !strings.Contains(got, "(10485") {
		t.Errorf("error header of %d bytes: %.100s", len(got), got)
	}
	failed := logs.FilterMessage("script failed").All()
	if len(failed) != 1 || len(failed[0].ContextMap()["error"].(string)) > 5000 {
		t.Errorf("logged %v", failed)
	}
}
