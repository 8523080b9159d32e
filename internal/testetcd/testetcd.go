// Package testetcd runs a real etcd server in-process on loopback for tests, with a stop and a
// restart on the same data folder to play an outage.
package testetcd

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"

	"github.com/msgscript/msgscript/internal/testnet"
)

// Server is one etcd member started for a test. It is stopped when the test ends.
type Server struct {
	t         testing.TB
	dir       string
	clientURL url.URL
	peerURL   url.URL
	etcd      *embed.Etcd
	cli       *clientv3.Client // Put's, opened on first use
}

// Start runs an etcd member on free loopback ports with its data in a temporary folder.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		t:         t,
		dir:       t.TempDir(),
		clientURL: url.URL{Scheme: "http", Host: testnet.FreeAddr(t)},
		peerURL:   url.URL{Scheme: "http", Host: testnet.FreeAddr(t)},
	}
	s.start()
	t.Cleanup(s.Stop)
	return s
}

// Endpoint is the client URL, e.g. http://127.0.0.1:41234.
func (s *Server) Endpoint() string { return s.clientURL.String() }

// Client opens a client on the server, closed when the test ends.
func (s *Server) Client() *clientv3.Client {
	s.t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{s.Endpoint()}, DialTimeout: 5 * time.Second})
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { cli.Close() })
	return cli
}

// Put writes key = value, failing the test if etcd does not take it.
func (s *Server) Put(key, value string) {
	s.t.Helper()
	if s.cli == nil {
		s.cli = s.Client()
	}
	if _, err := s.cli.Put(context.Background(), key, value); err != nil {
		s.t.Fatal(err)
	}
}

// Stop shuts the member down; the data stays for Restart. Stopping twice is harmless.
func (s *Server) Stop() {
	if s.etcd == nil {
		return
	}
	s.etcd.Close()
	<-s.etcd.Server.StopNotify()
	s.etcd = nil
}

// Restart starts the member again on the same ports and data.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.start()
}

func (s *Server) start() {
	s.t.Helper()
	cfg := embed.NewConfig()
	cfg.Name = "test"
	cfg.Dir = s.dir
	cfg.LogLevel = "error"
	// Stopping the server logs its closed listeners as errors: keep tests quiet.
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	cfg.ListenClientUrls = []url.URL{s.clientURL}
	cfg.AdvertiseClientUrls = []url.URL{s.clientURL}
	cfg.ListenPeerUrls = []url.URL{s.peerURL}
	cfg.AdvertisePeerUrls = []url.URL{s.peerURL}
	cfg.InitialCluster = fmt.Sprintf("%s=%s", cfg.Name, s.peerURL.String())
	var err error
	// A port freed by the previous run can take a moment to be reusable.
	for attempt := 0; attempt < 50; attempt++ {
		if s.etcd, err = embed.StartEtcd(cfg); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatalf("starting etcd: %v", err)
	}
	select {
	case <-s.etcd.Server.ReadyNotify():
	case <-time.After(30 * time.Second):
		s.etcd.Close()
		s.t.Fatal("etcd did not become ready")
	}
}
