package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/msgscript/msgscript/internal/testbin"
	"github.com/msgscript/msgscript/internal/testfiles"
	"github.com/msgscript/msgscript/internal/testhttp"
	"github.com/msgscript/msgscript/internal/testnet"
)

// End-to-end tests: build the msgscript binary and drive it as a user would, with a NATS client.

// msgscriptBinary builds ./cmd/msgscript once per test run.
func msgscriptBinary(t *testing.T) string {
	return testbin.Build(t, "github.com/msgscript/msgscript/cmd/msgscript")
}

// server is a running msgscript process.
type server struct {
	cmd    *exec.Cmd
	output *testbin.Output
	done   chan error
}

// run starts `msgscript run --config config` in dir, with Caddy's state kept in a temporary home
// and env added to the environment.
func run(t *testing.T, dir, config string, env ...string) *server {
	t.Helper()
	return start(t, dir, env, "run", "--config", config)
}

// start runs msgscript with args in dir (a temporary folder when empty), with Caddy's state in a
// temporary home, NATS_URL and ETCD_ENDPOINTS emptied (only the config and flags count) and env
// added to the environment. The process is killed when the test ends; its output is logged when
// the test failed.
func start(t *testing.T, dir string, env []string, args ...string) *server {
	t.Helper()
	home := t.TempDir()
	if dir == "" {
		dir = home
	}
	cmd := exec.Command(msgscriptBinary(t), args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+home, "XDG_DATA_HOME="+home,
		"NATS_URL=", "ETCD_ENDPOINTS="), env...)
	s := &server{cmd: cmd, output: &testbin.Output{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = s.output, s.output
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-s.done
		if t.Failed() {
			t.Logf("msgscript %q output:\n%s", args, s.output)
		}
	})
	return s
}

// connect waits for the NATS server at url and connects.
func connect(t *testing.T, s *server, url string) *nats.Conn {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		nc, err := nats.Connect(url)
		if err == nil {
			t.Cleanup(nc.Close)
			return nc
		}
		select {
		case err := <-s.done:
			s.done <- err // for the cleanup, which waits for it
			t.Fatalf("msgscript exited: %v\n%s", err, s.output)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no NATS at %s: %v\n%s", url, err, s.output)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// request sends payload to subject, retrying while no script answers yet.
func request(t *testing.T, nc *nats.Conn, subject, payload string) *nats.Msg {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		m, err := nc.Request(subject, []byte(payload), 5*time.Second)
		if err == nil {
			return m
		}
		if !errors.Is(err, nats.ErrNoResponders) || time.Now().After(deadline) {
			t.Fatalf("request %s: %v", subject, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop sends SIGINT (Ctrl-C) and wants a clean exit.
func (s *server) stop(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.done:
		s.done <- err // for the cleanup
		if err != nil {
			t.Fatalf("msgscript did not exit cleanly on Ctrl-C: %v\n%s", err, s.output)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("msgscript still running 30s after Ctrl-C\n%s", s.output)
	}
}

// The README's first command: Caddyfile.example from the repository root serves the examples
// on an embedded NATS server, the HTTP bridge and the dashboard. Its default ports (4222, 7643,
// 2019) are moved to free ones, so that the test passes while msgscript itself runs.
func TestCaddyfileExample(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile(filepath.Join(root, "Caddyfile.example"))
	if err != nil {
		t.Fatal(err)
	}
	natsAddr, admin, web := testnet.FreeAddr(t), testnet.FreeAddr(t), testnet.FreeAddr(t)
	_, webPort, _ := net.SplitHostPort(web)
	cfg := string(example)
	for _, r := range [][2]string{
		{"{\n\tmsgscript {\n", "{\n\tadmin " + admin + "\n\tmsgscript {\n\t\tembedded_nats " + natsAddr + "\n"},
		{"\n:7643 {\n", "\n:" + webPort + " {\n"},
	} {
		if !strings.Contains(cfg, r[0]) {
			t.Fatalf("Caddyfile.example no longer has %q", r[0])
		}
		cfg = strings.Replace(cfg, r[0], r[1], 1)
	}
	config := filepath.Join(t.TempDir(), "Caddyfile")
	if err := os.WriteFile(config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	// Pushover is played by a local server.
	var pushed []url.Values
	var pushMu sync.Mutex
	pushover := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		pushMu.Lock()
		pushed = append(pushed, r.PostForm)
		pushMu.Unlock()
		_, _ = w.Write([]byte(`{"status":1}`))
	}))
	defer pushover.Close()
	s := run(t, root, config, "PUSHOVER_URL="+pushover.URL, "PUSHOVER_TOKEN=tok", "PUSHOVER_USER=usr")
	nc := connect(t, s, "nats://"+natsAddr)

	if got, want := string(request(t, nc, "funcs.hello", "John").Data), `{"hello":"Processed subject: funcs.hello with payload: John"}`; got != want {
		t.Errorf("funcs.hello: got %s, want %s", got, want)
	}
	if got, want := string(request(t, nc, "funcs.greet", "Ann").Data), `{"greet":"Hello, Ann!"}`; got != want {
		t.Errorf("funcs.greet: got %s, want %s", got, want)
	}
	m := request(t, nc, "funcs.fail", "")
	if string(m.Data) != "{}" || m.Header.Get(micro.ErrorCodeHeader) != "500" ||
		!strings.Contains(m.Header.Get(micro.ErrorHeader), "fail: examples/fail.lua:7: something went wrong") {
		t.Errorf("funcs.fail: got %s %v", m.Data, m.Header)
	}

	// The examples of the Lua toolbox.
	if got, want := string(request(t, nc, "funcs.json", `{"name":"Ann","items":[1,2,3]}`).Data), `{"json":"{\"greeting\":\"Hello, Ann\",\"sum\":6}"}`; got != want {
		t.Errorf("funcs.json: got %s, want %s", got, want)
	}
	events, err := nc.SubscribeSync("events.chain")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(request(t, nc, "funcs.chain", "Bo").Data), `{"chain":"hello said Processed subject: funcs.hello with payload: Bo"}`; got != want {
		t.Errorf("funcs.chain: got %s, want %s", got, want)
	}
	if ev, err := events.NextMsg(5 * time.Second); err != nil || string(ev.Data) != "Bo" {
		t.Errorf("funcs.chain published %v %v", ev, err)
	}
	if got, want := string(request(t, nc, "funcs.io", "abc").Data), `{"io":"read back 3 bytes: abc"}`; got != want {
		t.Errorf("funcs.io: got %s, want %s", got, want)
	}
	if got, want := string(request(t, nc, "funcs.hello_plugin", "").Data), `{"hello_plugin":"Hello from a Go plugin!"}`; got != want {
		t.Errorf("funcs.hello_plugin: got %s, want %s", got, want)
	}
	if got, want := string(request(t, nc, "notify.pushover", "disk full").Data), `{"pushover":"sent"}`; got != want {
		t.Errorf("notify.pushover: got %s, want %s", got, want)
	}
	pushMu.Lock()
	if len(pushed) != 1 || pushed[0].Get("message") != "disk full" || pushed[0].Get("token") != "tok" || pushed[0].Get("user") != "usr" {
		t.Errorf("pushover received %v", pushed)
	}
	pushMu.Unlock()

	// The HTTP bridge (Caddy starts its apps in any order: wait for it), normal mode and
	// the HTTP-mode example.
	waitForPort(t, s, web)
	if r := testhttp.Do(t, "POST", "http://"+web+"/funcs.hello", strings.NewReader("John")); r.Status != 200 || r.Body != `{"hello":"Processed subject: funcs.hello with payload: John"}`+"\n" {
		t.Errorf("POST /funcs.hello: %d %s", r.Status, r.Body)
	}
	page := testhttp.Do(t, "GET", "http://"+web+"/web.site/docs?name=%3Cb%3EAnn", nil)
	if page.Status != 200 || page.Header.Get("Content-Type") != "text/html; charset=utf-8" ||
		!strings.Contains(page.Body, "<h1>Hello, &lt;b&gt;Ann!</h1><p>You asked for /docs</p>") {
		t.Errorf("GET /web.site: %d %v %s", page.Status, page.Header, page.Body)
	}
	// The dashboard, for this machine.
	if r := testhttp.Do(t, "GET", "http://"+web+"/_/", nil); r.Status != 200 || !strings.Contains(r.Body, `<tr data-key="funcs.hello hello">`) {
		t.Errorf("GET /_/: %d %s", r.Status, r.Body)
	}
	s.stop(t)
}

// waitForPort waits until addr accepts connections.
func waitForPort(t *testing.T, s *server, addr string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on %s: %v\n%s", addr, err, s.output)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A folder of scripts served by the binary: edits are live without a restart.
func TestScriptChangesAreLive(t *testing.T) {
	addr := testnet.FreeAddr(t)
	dir := testfiles.Dir(t, map[string]string{
		"scripts/echo.lua": "--* subject: funcs.echo\nfunction OnMessage(s, p) return 'v1 ' .. p end\n",
		"Caddyfile":        fmt.Sprintf("{\n\tadmin off\n\tmsgscript {\n\t\tembedded_nats %s\n\t\tstore dir ./scripts\n\t}\n}\n", addr),
	})
	write := func(name, text string) { testfiles.Write(t, dir, map[string]string{"scripts/" + name: text}) }

	s := run(t, dir, "Caddyfile")
	nc := connect(t, s, "nats://"+addr)
	if got := string(request(t, nc, "funcs.echo", "x").Data); got != `{"echo":"v1 x"}` {
		t.Fatalf("got %s", got)
	}

	write("echo.lua", "--* subject: funcs.echo\nfunction OnMessage(s, p) return 'v2 ' .. p end\n")
	write("new.lua", "--* subject: funcs.new\nfunction OnMessage(s, p) return 'new' end\n")
	deadline := time.Now().Add(time.Second)
	for {
		m, err := nc.Request("funcs.echo", []byte("x"), time.Second)
		if err == nil && string(m.Data) == `{"echo":"v2 x"}` {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the edit is not live within a second (last: %v %v)", m, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := string(request(t, nc, "funcs.new", "").Data); got != `{"new":"new"}` {
		t.Fatalf("new script: got %s", got)
	}
	s.stop(t)
}
