package main

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/msgscript/msgscript/internal/testbin"
	"github.com/msgscript/msgscript/internal/testetcd"
	"github.com/msgscript/msgscript/internal/testfiles"
	"github.com/msgscript/msgscript/internal/testnats"
	"github.com/msgscript/msgscript/internal/testnet"
)

// The production setup, end to end: msgscript serves scripts from etcd, and msgscriptcli manages
// them while it runs.
func TestScriptsInEtcdManagedWithTheCLI(t *testing.T) {
	etcd := testetcd.Start(t)
	addr := testnet.FreeAddr(t)
	dir := testfiles.Dir(t, map[string]string{
		"Caddyfile": fmt.Sprintf("{\n\tadmin off\n\tmsgscript {\n\t\tembedded_nats %s\n\t\tstore etcd %s\n\t}\n}\n", addr, etcd.Endpoint()),
		"echo.lua":  "--* subject: funcs.echo\n--* require: fmt\nfunction OnMessage(s, p) return wrap(p) end\n",
		"fmt.lua":   "function wrap(p) return '[' .. p .. ']' end\n",
		"fmt2.lua":  "--* name: fmt\nfunction wrap(p) return '<' .. p .. '>' end\n",
	})
	cli := cliOn(t, dir, etcd.Endpoint())

	s := run(t, dir, "Caddyfile")
	nc := connect(t, s, "nats://"+addr)
	cli("lib", "add", "fmt.lua")
	cli("add", "echo.lua")
	if got := string(request(t, nc, "funcs.echo", "x").Data); got != `{"echo":"[x]"}` {
		t.Fatalf("after add: %s", got)
	}
	cli("lib", "add", "fmt2.lua")
	waitFor(t, nc, "funcs.echo", `{"echo":"<x>"}`)
	cli("rm", "-s", "funcs.echo", "-n", "echo")
	waitFor(t, nc, "funcs.echo", nats.ErrNoResponders.Error())
	s.stop(t)
}

// cliOn returns a function that runs msgscriptcli in dir on the etcd at endpoint, and fails the
// test if it fails.
func cliOn(t *testing.T, dir, endpoint string) func(args ...string) {
	return func(args ...string) {
		t.Helper()
		cmd := exec.Command(testbin.Build(t, "github.com/msgscript/msgscript/cmd/msgscriptcli"), append([]string{"-e", endpoint}, args...)...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("msgscriptcli %v: %v\n%s", args, err, out)
		}
	}
}

// waitFor repeats a request until it gives want (the reply, or the error's text).
func waitFor(t *testing.T, nc *nats.Conn, subject, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := ""
		m, err := nc.Request(subject, []byte("x"), time.Second)
		if err != nil {
			got = err.Error()
		} else {
			got = string(m.Data)
		}
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: got %s, want %s", subject, got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Two msgscript processes on one etcd and one NATS, as a cluster runs: each message runs once,
// both share the work, and both follow a change made with the CLI.
func TestTwoInstancesShareTheWork(t *testing.T) {
	etcd := testetcd.Start(t)
	ns := testnats.Start(t)
	caddyfile := fmt.Sprintf("{\n\tadmin off\n\tmsgscript {\n\t\tnats_url %s\n\t\tstore etcd %s\n\t}\n}\n", ns.ClientURL(), etcd.Endpoint())
	script := "--* subject: funcs.who\nlocal nats = require('nats')\n" +
		"function OnMessage(s, p) assert(nats.publish('ran', p)) return '%s ' .. os.getenv('INSTANCE') end\n"
	dir := testfiles.Dir(t, map[string]string{"Caddyfile": caddyfile, "who.lua": fmt.Sprintf(script, "v1"), "who2.lua": fmt.Sprintf(script, "v2")})
	cli := cliOn(t, dir, etcd.Endpoint())
	cli("add", "-n", "who", "who.lua")
	a := run(t, dir, "Caddyfile", "INSTANCE=a")
	b := run(t, dir, "Caddyfile", "INSTANCE=b")
	nc := testnats.Connect(t, ns.ClientURL())
	ran, err := nc.SubscribeSync("ran")
	if err != nil {
		t.Fatal(err)
	}
	// Both instances are up once each has answered at least once.
	served := map[string]int{}
	const n = 200
	for i := 0; i < n || served["v1 a"] == 0 || served["v1 b"] == 0; i++ {
		if i > 2000 {
			t.Fatalf("the queue group did not share the work: %v\n%s\n%s", served, a.output, b.output)
		}
		m := request(t, nc, "funcs.who", strconv.Itoa(i))
		var reply map[string]string
		if err := json.Unmarshal(m.Data, &reply); err != nil {
			t.Fatalf("%s: %v", m.Data, err)
		}
		served[reply["who"]]++
	}
	total := served["v1 a"] + served["v1 b"]
	for i := 0; i < total; i++ {
		if _, err := ran.NextMsg(5 * time.Second); err != nil {
			t.Fatalf("%d runs seen for %d requests: %v", i, total, err)
		}
	}
	if extra, err := ran.NextMsg(200 * time.Millisecond); err == nil {
		t.Fatalf("a message ran twice (extra run %q)", extra.Data)
	}

	// A change made with the CLI reaches both.
	cli("add", "-n", "who", "who2.lua")
	for _, inst := range []string{"a", "b"} {
		deadline := time.Now().Add(10 * time.Second)
		for {
			m := request(t, nc, "funcs.who", "x")
			if strings.Contains(string(m.Data), "v2 "+inst) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("instance %s does not serve v2 (last %s)", inst, m.Data)
			}
		}
	}
	a.stop(t)
	b.stop(t)
}
