package engine

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	lua "github.com/yuin/gopher-lua"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/msgscript/msgscript/internal/testetcd"
	"github.com/msgscript/msgscript/internal/testnats"
	"github.com/msgscript/msgscript/store"
	"github.com/msgscript/msgscript/store/dirstore"
	"github.com/msgscript/msgscript/store/etcdstore"
)

// startNATS runs a real NATS server in-process on a random loopback port.
func startNATS(t testing.TB) *server.Server { return testnats.Start(t) }

func connect(t testing.TB, ns *server.Server) *nats.Conn { return testnats.Connect(t, ns.ClientURL()) }

// watch subscribes to subject on a connection of its own and waits until the server knows the
// subscription, so that nothing published afterwards, from anywhere, is missed.
func watch(t testing.TB, ns *server.Server, subject string) *nats.Subscription {
	t.Helper()
	nc := connect(t, ns)
	sub, err := nc.SubscribeSync(subject)
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return sub
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

// dirStore and etcdStore open a store the way each msgscript instance opens its own.
func dirStore(dir string) func(*zap.Logger) store.Store {
	return func(log *zap.Logger) store.Store { return dirstore.New(dir, log) }
}

func etcdStore(etcd *testetcd.Server) func(*zap.Logger) store.Store {
	return func(log *zap.Logger) store.Store { return etcdstore.New(etcd.Client(), "", log) }
}

// startEngine runs an engine over a folder store on its own connection to ns.
func startEngine(t testing.TB, ns *server.Server, dir string, opts Options) *Engine {
	t.Helper()
	return startEngineOn(t, ns, dirStore(dir), opts)
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
	eventuallyWithin(t, 5*time.Second, what, check)
}

// eventuallyWithin is eventually with its own bound.
func eventuallyWithin(t testing.TB, d time.Duration, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// atomicCounter is an atomic.Int64 that counter() can add to.
type atomicCounter struct{ atomic.Int64 }
