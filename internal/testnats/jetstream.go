package testnats

import (
	"testing"

	"github.com/nats-io/nats-server/v2/server"
)

// StartJetStream runs a server with JetStream on, its storage in dir (a t.TempDir() when empty),
// shut down when the test ends. Give the same dir to a server started later to find the streams,
// consumers and buckets of the first.
func StartJetStream(t testing.TB, dir string) *server.Server {
	t.Helper()
	return StartJetStreamOn(t, -1, dir)
}

// StartJetStreamOn is StartJetStream on a given port (-1: a random one), to restart a server
// where its clients will reconnect.
func StartJetStreamOn(t testing.TB, port int, dir string) *server.Server {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	return start(t, &server.Options{Host: "127.0.0.1", Port: port, NoLog: true, NoSigs: true,
		JetStream: true, StoreDir: dir, ServerName: "test"})
}
