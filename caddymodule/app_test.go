package caddymodule

import (
	"encoding/json"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/msgscript/msgscript/internal/testfiles"
	"github.com/msgscript/msgscript/internal/testnats"
	"github.com/msgscript/msgscript/internal/testnet"
)

const helloScript = `--* subject: funcs.hello
--* name: hello
function OnMessage(subject, payload)
    return "Processed subject: " .. subject .. " with payload: " .. payload
end
`

const helloReply = `{"hello":"Processed subject: funcs.hello with payload: John"}`

// helloHTTP is helloReply over HTTP, which ends JSON with a newline.
const helloHTTP = helloReply + "\n"

func scriptsDir(t *testing.T) string {
	return testfiles.Dir(t, map[string]string{"hello.lua": helloScript})
}

// loadConfig runs a Caddy config holding only the msgscript app (admin endpoint off) and stops it
// when the test ends.
func loadConfig(t *testing.T, app map[string]any) error {
	t.Helper()
	cfg, err := json.Marshal(map[string]any{
		"admin": map[string]any{"disabled": true},
		"apps":  map[string]any{"msgscript": app},
	})
	if err != nil {
		t.Fatal(err)
	}
	err = caddy.Load(cfg, true)
	t.Cleanup(func() { _ = caddy.Stop() })
	return err
}

func connectTo(t *testing.T, url string) *nats.Conn { return testnats.Connect(t, url) }

// loadCaddyfile adapts caddyfile and runs it, as `caddy run` would; it stops when the test ends.
func loadCaddyfile(t testing.TB, caddyfile string) {
	t.Helper()
	cfg, warnings, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(caddyfile), map[string]any{"filename": "Caddyfile"})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range warnings {
		t.Logf("adapt warning: %s", w)
	}
	if err := caddy.Load(cfg, true); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = caddy.Stop() })
}

func askHello(t *testing.T, nc *nats.Conn) {
	t.Helper()
	m, err := nc.Request("funcs.hello", []byte("John"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Data) != helloReply {
		t.Fatalf("got %s, want %s", m.Data, helloReply)
	}
}

func TestAppWithEmbeddedNATS(t *testing.T) {
	addr := testnet.FreeAddr(t)
	app := map[string]any{"embedded_nats": addr, "store": map[string]any{"backend": "dir", "path": scriptsDir(t)}}
	if err := loadConfig(t, app); err != nil {
		t.Fatal(err)
	}
	nc := connectTo(t, "nats://"+addr)
	askHello(t, nc)

	// Stopping Caddy stops the embedded server it started.
	if err := caddy.Stop(); err != nil {
		t.Fatal(err)
	}
	if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		conn.Close()
		t.Fatalf("%s still accepts connections after Stop", addr)
	}
}

func startNATS(t *testing.T) *server.Server { return testnats.Start(t) }

func TestAppWithOutsideNATS(t *testing.T) {
	ns := startNATS(t)
	t.Setenv("MSGSCRIPT_TEST_NATS", ns.ClientURL())
	app := map[string]any{"nats_url": "{env.MSGSCRIPT_TEST_NATS}", "store": map[string]any{"backend": "dir", "path": scriptsDir(t)}}
	if err := loadConfig(t, app); err != nil {
		t.Fatal(err)
	}
	askHello(t, connectTo(t, ns.ClientURL()))
}

// max_timeout reaches the engine: a script asking for an hour ends at it.
func TestAppMaxTimeoutCutsAScriptsDeadline(t *testing.T) {
	ns := startNATS(t)
	dir := testfiles.Dir(t, map[string]string{"spin.lua": "--* subject: funcs.spin\n--* timeout: 1h\nfunction OnMessage() while true do end end\n"})
	app := map[string]any{"nats_url": ns.ClientURL(), "max_timeout": "100ms", "store": map[string]any{"backend": "dir", "path": dir}}
	if err := loadConfig(t, app); err != nil {
		t.Fatal(err)
	}
	m, err := connectTo(t, ns.ClientURL()).Request("funcs.spin", nil, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Header.Get(micro.ErrorHeader); !strings.Contains(got, "timed out after 100ms") {
		t.Errorf("error %q, want the call timed out after 100ms", got)
	}
}

// With no nats_url, NATS_URL from the environment is used, as the original server did.
func TestAppTakesNATSURLFromEnvironment(t *testing.T) {
	ns := startNATS(t)
	t.Setenv("NATS_URL", ns.ClientURL())
	if err := loadConfig(t, map[string]any{"store": map[string]any{"backend": "dir", "path": scriptsDir(t)}}); err != nil {
		t.Fatal(err)
	}
	askHello(t, connectTo(t, ns.ClientURL()))
}

func TestAppRefusesBadConfig(t *testing.T) {
	cases := []struct {
		app  map[string]any
		want string
	}{
		{map[string]any{}, "no store configured"},
		{map[string]any{"nats_url": "nats://x", "embedded_nats": "127.0.0.1:1", "store": map[string]any{"backend": "dir", "path": "."}}, "exclude each other"},
		{map[string]any{"store": map[string]any{"backend": "dir"}}, "store dir: no path"},
		{map[string]any{"store": map[string]any{"backend": "etcd"}, "etcd_prefix": "msgscript/scripts/"}, "overlaps the etcd store's keys"},
		{map[string]any{"store": map[string]any{"backend": "etcd", "prefix": "apps/ms"}, "sandbox": true, "etcd_prefix": "apps/"}, "overlaps the etcd store's keys"},
		{map[string]any{"store": map[string]any{"backend": "dir", "path": filepath.Join(t.TempDir(), "missing")}, "embedded_nats": testnet.FreeAddr(t)}, "missing"},
		{map[string]any{"store": map[string]any{"backend": "dir", "path": "."}, "timeout": "1m", "max_timeout": "10s"}, "timeout 1m0s is over max_timeout 10s"},
	}
	for _, c := range cases {
		err := loadConfig(t, c.app)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: got %v, want an error containing %q", c.app, err, c.want)
		}
	}
}

// caddy reload while requests keep coming: the new config starts (sharing the NATS connection and
// the embedded server) before the old one drains, so no request goes unanswered.
func TestReloadUnderLoadLosesNoRequest(t *testing.T) {
	addr := testnet.FreeAddr(t)
	dir := scriptsDir(t)
	config := func(timeout string) map[string]any {
		return map[string]any{"embedded_nats": addr, "timeout": timeout, "store": map[string]any{"backend": "dir", "path": dir}}
	}
	if err := loadConfig(t, config("10s")); err != nil {
		t.Fatal(err)
	}

	var answered, failed atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		nc := connectTo(t, "nats://"+addr)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				m, err := nc.Request("funcs.hello", []byte("John"), 5*time.Second)
				if err == nil && string(m.Data) != helloReply {
					err = fmt.Errorf("reply %s", m.Data)
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				answered.Add(1)
			}
		}()
	}

	for i := range 5 {
		time.Sleep(100 * time.Millisecond)
		// A different timeout makes it a different config, so Caddy really reloads.
		if err := loadConfig(t, config(fmt.Sprintf("%ds", 11+i))); err != nil {
			t.Fatalf("reload %d: %v", i, err)
		}
	}
	time.Sleep(100 * time.Millisecond)
	close(stop)
	wg.Wait()
	if failed.Load() > 0 {
		t.Fatalf("%d of %d requests failed during reloads; first: %v", failed.Load(), failed.Load()+answered.Load(), firstErr.Load())
	}
	if answered.Load() < 100 {
		t.Fatalf("only %d requests answered", answered.Load())
	}
	t.Logf("%d requests answered across 5 reloads", answered.Load())
}

// The attack: an operator's NATS credentials shown on the dashboard, the admin API and the log.
// Passwords, tokens (a user with no password), URLs without a scheme and URLs that cannot be read
// are all hidden.
func TestRedactURLs(t *testing.T) {
	for in, want := range map[string]string{
		"nats://user:secret@a:4222, nats://b:4222,tls://u:p@c": "nats://user:xxxxx@a:4222,nats://b:4222,tls://u:xxxxx@c",
		"nats://s3cretTOKEN@127.0.0.1:4222":                    "nats://xxxxx@127.0.0.1:4222",
		"alice:hunter2@127.0.0.1:4222":                         "nats://alice:xxxxx@127.0.0.1:4222",
		"s3cretTOKEN@10.0.0.1":                                 "nats://xxxxx@10.0.0.1",
		"nats://a:b@%zz":                                       "(a URL that cannot be read)",
		"127.0.0.1:4222":                                       "nats://127.0.0.1:4222",
		"nats://127.0.0.1:4222?token=S3CRET":                   "nats://127.0.0.1:4222?xxxxx",
	} {
		if got := redactURLs(in); got != want {
			t.Errorf("redactURLs(%q) = %q, want %q", in, got, want)
		}
	}
}
