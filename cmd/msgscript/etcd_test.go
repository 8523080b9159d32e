package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/msgscript/msgscript/internal/testbin"
	"github.com/msgscript/msgscript/internal/testetcd"
)

// The production setup, end to end: msgscript serves scripts from etcd, and msgscriptcli manages
// them while it runs.
func TestScriptsInEtcdManagedWithTheCLI(t *testing.T) {
	etcd := testetcd.Start(t)
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	files := map[string]string{
		"Caddyfile": fmt.Sprintf("{\n\tadmin off\n\tmsgscript {\n\t\tembedded_nats %s\n\t\tstore etcd %s\n\t}\n}\n", addr, etcd.Endpoint()),
		"echo.lua":  "--* subject: funcs.echo\n--* require: fmt\nfunction OnMessage(s, p) return wrap(p) end\n",
		"fmt.lua":   "function wrap(p) return '[' .. p .. ']' end\n",
		"fmt2.lua":  "--* name: fmt\nfunction wrap(p) return '<' .. p .. '>' end\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cli := func(args ...string) {
		t.Helper()
		cmd := exec.Command(testbin.Build(t, "github.com/msgscript/msgscript/cmd/msgscriptcli"), append([]string{"-e", etcd.Endpoint()}, args...)...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("msgscriptcli %v: %v\n%s", args, err, out)
		}
	}

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
