// Package testnats runs a real NATS server in-process on a random loopback port for tests.
package testnats

import (
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Start runs a server, shut down when the test ends; its ClientURL is where to connect.
func Start(t testing.TB) *server.Server {
	t.Helper()
	return start(t, &server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
}

// start runs a server with opts until the test ends.
func start(t testing.TB, opts *server.Options) *server.Server {
	t.Helper()
	ns, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	t.Cleanup(ns.Shutdown)
	return ns
}

// Connect opens a client connection to url, closed when the test ends.
func Connect(t testing.TB, url string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}
