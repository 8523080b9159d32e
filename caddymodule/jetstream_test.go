package caddymodule

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nats.go/micro"

	"github.com/msgscript/msgscript/engine"
	"github.com/msgscript/msgscript/internal/testfiles"
	"github.com/msgscript/msgscript/internal/testnet"
)

// The README's webhook example, run as a user would: a webhook POSTed to Caddy is stored in a
// stream of the embedded NATS server and answered at once; the script forwards it to an API that
// fails twice, then works; a second webhook meets an API that never works and ends as a dead
// letter carrying the API's error.
func TestWebhookExampleRetriesThenDeadLetters(t *testing.T) {
	var calls atomic.Int64
	var failFirst atomic.Int64
	failFirst.Store(2)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		body, _ := io.ReadAll(r.Body)
		if strings.Contains(string(body), "doomed") || failFirst.Add(-1) >= 0 {
			http.Error(w, "database unavailable", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusCreated)
	}))
	t.Cleanup(api.Close)

	src, err := os.ReadFile("../docs/webhook/forward_order.lua")
	if err != nil {
		t.Fatal(err)
	}
	script := strings.Replace(string(src), "http://127.0.0.1:9000/orders", api.URL, 1)
	script = strings.Replace(script, "--* backoff: 1s, 10s, 1m, 5m", "--* backoff: 100ms", 1)
	script = strings.Replace(script, "--* max_deliver: 5", "--* max_deliver: 3", 1)
	dir := testfiles.Dir(t, map[string]string{"forward_order.lua": script})

	natsAddr, site, admin := testnet.FreeAddr(t), testnet.FreeAddr(t), testnet.FreeAddr(t)
	loadCaddyfile(t, fmt.Sprintf("{\n\tadmin %s\n\tmsgscript {\n\t\tembedded_nats %s\n\t\tjetstream_dir %s\n\t\tstore dir %s\n\t}\n}\nhttp://%s {\n\tmsgscript {\n\t\tsubjects webhooks.*\n\t}\n}\n",
		admin, natsAddr, t.TempDir(), dir, site))

	// The README's setup: a stream for the webhooks, one keeping the dead letters.
	nc := connectTo(t, "nats://"+natsAddr)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for name, subject := range map[string]string{"WEBHOOKS": "webhooks.>", "DEAD": "msgscript.dead.>"} {
		if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{subject}}); err != nil {
			t.Fatal(err)
		}
	}
	dead, err := nc.SubscribeSync("msgscript.dead.>")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}

	post := func(body string) (int, string) {
		resp, err := http.Post("http://"+site+"/webhooks.orders", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// Accepted once stored: the sender learns where, not what the API said.
	status, body := post(`{"order":1}`)
	if status != http.StatusOK || !strings.Contains(body, `"stream":"WEBHOOKS"`) {
		t.Fatalf("POST: %d %s, want 200 and the stream's acknowledgement", status, body)
	}
	// Failed twice (the API down), then forwarded: three calls, no dead letter.
	waitFor(t, 15*time.Second, "the order forwarded", func() bool { return calls.Load() == 3 })

	status, _ = post(`{"order":"doomed"}`)
	if status != http.StatusOK {
		t.Fatalf("second POST: %d", status)
	}
	m, err := dead.NextMsg(15 * time.Second)
	if err != nil {
		t.Fatalf("no dead letter: %v", err)
	}
	if string(m.Data) != `{"order":"doomed"}` || m.Subject != "msgscript.dead.webhooks.orders" {
		t.Fatalf("dead letter %s %s", m.Subject, m.Data)
	}
	if e := m.Header.Get(micro.ErrorHeader); !strings.Contains(e, "orders API answered 503: database unavailable") {
		t.Fatalf("dead letter error %q", e)
	}
	if got := m.Header.Get("Msgscript-Deliveries"); got != "3" {
		t.Fatalf("deliveries %q, want 3", got)
	}
	if n := calls.Load(); n != 6 {
		t.Fatalf("API called %d times, want 3 for the first order and 3 for the doomed one", n)
	}
	// What an operator sees: the trigger in the status, its outcomes in /metrics.
	var scripts []engine.ScriptStatus
	if err := json.Unmarshal([]byte(adminGet(t, admin, "/msgscript/scripts")), &scripts); err != nil {
		t.Fatal(err)
	}
	if len(scripts) != 1 || scripts[0].Trigger == nil || scripts[0].Trigger.Stream != "WEBHOOKS" || !scripts[0].Trigger.Running {
		t.Fatalf("status: %+v", scripts)
	}
	// Counted once the dead letter is out: it may reach the test first.
	var metrics string
	waitFor(t, 5*time.Second, "the dead letter counted", func() bool {
		metrics = adminGet(t, admin, "/metrics")
		return strings.Contains(metrics, `msgscript_stream_messages_total{outcome="dead_lettered",script="forward_order",subject="webhooks.orders"} 1`)
	})
	for _, want := range []string{
		`msgscript_stream_messages_total{outcome="acked",script="forward_order",subject="webhooks.orders"} 1`,
		`msgscript_stream_messages_total{outcome="retried",script="forward_order",subject="webhooks.orders"} 4`,
		`msgscript_triggers_not_running 0`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// waitFor retries check until it passes or d has gone by.
func waitFor(t *testing.T, d time.Duration, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The embedded NATS server keeps its JetStream data where jetstream_dir says, across a restart of
// Caddy: a stream made before is there after.
func TestEmbeddedJetStreamKeepsItsData(t *testing.T) {
	dir, jsDir := scriptsDir(t), t.TempDir()
	addr := testnet.FreeAddr(t)
	caddyfile := fmt.Sprintf("{\n\tadmin off\n\tmsgscript {\n\t\tembedded_nats %s\n\t\tjetstream_dir %s\n\t\tstore dir %s\n\t}\n}\n", addr, jsDir, dir)
	loadCaddyfile(t, caddyfile)
	js, err := jetstream.New(connectTo(t, "nats://"+addr))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(context.Background(), jetstream.StreamConfig{Name: "KEPT", Subjects: []string{"kept.>"}}); err != nil {
		t.Fatalf("embedded server without JetStream: %v", err)
	}
	if _, err := js.Publish(context.Background(), "kept.1", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if entries, _ := filepath.Glob(filepath.Join(jsDir, "*")); len(entries) == 0 {
		t.Fatalf("nothing in jetstream_dir %s", jsDir)
	}
	stopCaddy(t)
	loadCaddyfile(t, caddyfile)
	js, err = jetstream.New(connectTo(t, "nats://"+addr))
	if err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(context.Background(), "KEPT")
	if err != nil {
		t.Fatalf("stream lost over a restart: %v", err)
	}
	if info, err := s.Info(context.Background()); err != nil || info.State.Msgs != 1 {
		t.Fatalf("stream after restart: %+v %v", info, err)
	}
}

// jetstream_dir off runs the embedded server without JetStream; a stream script says what is
// missing and the others still answer.
func TestEmbeddedJetStreamOff(t *testing.T) {
	dir := testfiles.Dir(t, map[string]string{
		"hello.lua": helloScript,
		"hook.lua":  "--* subject: hooks.in\n--* stream: HOOKS\nfunction OnMessage() end\n",
	})
	addr := testnet.FreeAddr(t)
	loadCaddyfile(t, fmt.Sprintf("{\n\tadmin off\n\tmsgscript {\n\t\tembedded_nats %s\n\t\tjetstream_dir off\n\t\tstore dir %s\n\t}\n}\n", addr, dir))
	nc := connectTo(t, "nats://"+addr)
	askHello(t, nc)
	js, _ := jetstream.New(nc)
	if _, err := js.AccountInfo(context.Background()); err == nil {
		t.Fatal("JetStream on with jetstream_dir off")
	}
}

// stopCaddy stops the running config, as `caddy stop` would.
func stopCaddy(t *testing.T) {
	t.Helper()
	if err := caddy.Stop(); err != nil {
		t.Fatal(err)
	}
}

// A jetstream_dir that cannot be a folder stops the start, saying which option to fix and why
// (the server itself only logs it, then never gets ready).
func TestEmbeddedJetStreamDirUnusable(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(fmt.Sprintf("{\n\tadmin off\n\tmsgscript {\n\t\tembedded_nats %s\n\t\tjetstream_dir %s\n\t\tstore dir %s\n\t}\n}\n",
		testnet.FreeAddr(t), filepath.Join(file, "js"), scriptsDir(t))), nil)
	if err != nil {
		t.Fatal(err)
	}
	err = caddy.Load(cfg, true)
	t.Cleanup(func() { _ = caddy.Stop() })
	if err == nil || !strings.Contains(err.Error(), "jetstream_dir") || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("got %v, want an error naming jetstream_dir", err)
	}
}
