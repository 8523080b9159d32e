package caddymodule

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/nats-io/nats.go"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/msgscript/msgscript/internal/testetcd"
	"github.com/msgscript/msgscript/internal/testnet"
)

// askUntil repeats a request until the reply is want, for changes that arrive through a watch.
func askUntil(t *testing.T, nc *nats.Conn, subject, payload, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	var got string
	for time.Now().Before(deadline) {
		m, err := nc.Request(subject, []byte(payload), time.Second)
		if err == nil {
			got = string(m.Data)
		} else {
			got = err.Error()
		}
		if got == want {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s: got %s, want %s", subject, got, want)
}

// A Caddy config with `store etcd` serves the keys the original msgscript wrote, follows their
// changes, recompiles the scripts of a changed library and ignores a value that does not compile.
func TestAppServesScriptsFromEtcd(t *testing.T) {
	srv := testetcd.Start(t)
	cli := srv.Client()
	ctx := context.Background()
	srv.Put("msgscript/scripts/funcs.hello/hello", helloScript)
	srv.Put("msgscript/libs/greeting", `function greet(who) return "Hi " .. who end`)
	srv.Put("msgscript/scripts/funcs.greet/greet", "--* subject: funcs.greet\n--* name: greet\n--* require: greeting\n"+
		"function OnMessage(s, p) return greet(p) end\n")

	ns := startNATS(t)
	t.Setenv("MSGSCRIPT_TEST_ETCD", srv.Endpoint())
	app := map[string]any{"nats_url": ns.ClientURL(), "store": map[string]any{"backend": "etcd", "endpoints": []string{"{env.MSGSCRIPT_TEST_ETCD}"}}}
	if err := loadConfig(t, app); err != nil {
		t.Fatal(err)
	}
	nc := connectTo(t, ns.ClientURL())
	askHello(t, nc)
	askUntil(t, nc, "funcs.greet", "Ann", `{"greet":"Hi Ann"}`)

	srv.Put("msgscript/libs/greeting", `function greet(who) return "Hello " .. who end`)
	askUntil(t, nc, "funcs.greet", "Ann", `{"greet":"Hello Ann"}`)

	srv.Put("msgscript/scripts/funcs.new/new", "--* subject: funcs.new\nfunction OnMessage(s, p) return 'new' end\n")
	askUntil(t, nc, "funcs.new", "", `{"new":"new"}`)

	// A broken version does not replace the good one.
	srv.Put("msgscript/scripts/funcs.new/new", "--* subject: funcs.new\nfunction OnMessage(s, p)\n  return 'broken'\n")
	srv.Put("msgscript/scripts/funcs.new/marker", "--* subject: funcs.new\nfunction OnMessage(s, p) return 'm' end\n")
	askUntil(t, nc, "funcs.new", "", `{"marker":"m","new":"new"}`)

	if _, err := cli.Delete(ctx, "msgscript/scripts/funcs.new/", clientv3.WithPrefix()); err != nil {
		t.Fatal(err)
	}
	askUntil(t, nc, "funcs.new", "", nats.ErrNoResponders.Error())
}

// etcd goes away and comes back: the cached scripts keep answering meanwhile, and a change made
// after it returns arrives.
func TestAppKeepsServingWhileEtcdIsDown(t *testing.T) {
	srv := testetcd.Start(t)
	srv.Put("msgscript/scripts/funcs.hello/hello", helloScript)
	ns := startNATS(t)
	app := map[string]any{"nats_url": ns.ClientURL(), "store": map[string]any{"backend": "etcd", "endpoints": []string{srv.Endpoint()}}}
	if err := loadConfig(t, app); err != nil {
		t.Fatal(err)
	}
	nc := connectTo(t, ns.ClientURL())
	askHello(t, nc)

	srv.Stop()
	askHello(t, nc)
	srv.Restart()
	srv.Put("msgscript/scripts/funcs.hello/hello", strings.Replace(helloScript, "Processed", "Handled", 1))
	askUntil(t, nc, "funcs.hello", "John", `{"hello":"Handled subject: funcs.hello with payload: John"}`)
}

func TestAppFailsToStartWithoutEtcd(t *testing.T) {
	ns := startNATS(t)
	dead := "http://127.0.0.1:" + strconv.Itoa(testnet.FreePort(t))
	app := map[string]any{"nats_url": ns.ClientURL(), "store": map[string]any{"backend": "etcd", "endpoints": []string{dead}, "dial_timeout": caddy.Duration(300 * time.Millisecond)}}
	err := loadConfig(t, app)
	if err == nil || !strings.Contains(err.Error(), "etcd") {
		t.Fatalf("started without etcd: %v", err)
	}
}
