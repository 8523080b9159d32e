package engine

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	lua "github.com/yuin/gopher-lua"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/msgscript/msgscript/engine/store"
	"github.com/msgscript/msgscript/internal/testnats"
)

// startNATS runs a real NATS server in-process on a random loopback port.
func startNATS(t testing.TB) *server.Server { return testnats.Start(t) }

func connect(t testing.TB, ns *server.Server) *nats.Conn { return testnats.Connect(t, ns.ClientURL()) }

// writeScripts writes file -> text under dir.
func writeScripts(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, text := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// counter gives scripts a Go function count() that adds to n, to see how often they ran, and
// sleep(ms), to keep a call busy without burning CPU.
func counter(n *atomic.Int64) Preloader {
	return func(L *lua.LState) {
		L.SetGlobal("count", L.NewFunction(func(L *lua.LState) int {
			n.Add(1)
			return 0
		}))
		L.SetGlobal("sleep", L.NewFunction(func(L *lua.LState) int {
			select {
			case <-time.After(time.Duration(L.CheckInt(1)) * time.Millisecond):
			case <-L.Context().Done():
			}
			return 0
		}))
	}
}

// startEngine runs an engine over a folder store on its own connection to ns.
func startEngine(t testing.TB, ns *server.Server, dir string, opts Options) *Engine {
	t.Helper()
	return startEngineOn(t, ns, func(log *zap.Logger) store.Store { return store.NewDir(dir, log) }, opts)
}

// startEngineOn runs an engine over the store open gives, on its own connection to ns, and stops
// it when the test ends.
func startEngineOn(t testing.TB, ns *server.Server, open func(*zap.Logger) store.Store, opts Options) *Engine {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = zaptest.NewLogger(t)
	}
	e := New(connect(t, ns), open(opts.Logger), opts)
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := e.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return e
}

// eventually retries check until it passes or 5 s have gone by.
func eventually(t testing.TB, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
