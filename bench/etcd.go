package main

import (
	"fmt"
	"net/url"
	"os"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// benchEtcd is one etcd member run inside this program for the scale mode's etcd store, the way
// internal/testetcd runs one for tests (which needs a testing.TB): on free loopback ports, with its
// data in a folder of its own, and a client to write the scripts.
type benchEtcd struct {
	etcd     *embed.Etcd
	cli      *clientv3.Client
	endpoint string
}

// startEtcd starts a member with its data in dir (which must not hold another member's).
func startEtcd(dir string) (*benchEtcd, error) {
	clientAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	peerAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	clientURL := url.URL{Scheme: "http", Host: clientAddr}
	peerURL := url.URL{Scheme: "http", Host: peerAddr}
	cfg := embed.NewConfig()
	cfg.Name = "bench"
	cfg.Dir = dir
	cfg.LogLevel = "error"
	// Closing the member logs its closed listeners as errors, in the middle of the table.
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	cfg.ListenClientUrls = []url.URL{clientURL}
	cfg.AdvertiseClientUrls = []url.URL{clientURL}
	cfg.ListenPeerUrls = []url.URL{peerURL}
	cfg.AdvertisePeerUrls = []url.URL{peerURL}
	cfg.InitialCluster = fmt.Sprintf("%s=%s", cfg.Name, peerURL.String())
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, fmt.Errorf("starting etcd: %v", err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(30 * time.Second):
		e.Close()
		return nil, fmt.Errorf("etcd did not become ready")
	}
	endpoint := clientURL.String()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 5 * time.Second})
	if err != nil {
		e.Close()
		return nil, err
	}
	return &benchEtcd{etcd: e, cli: cli, endpoint: endpoint}, nil
}

// stop closes the client and the member, and removes its data.
func (b *benchEtcd) stop() {
	b.cli.Close()
	b.etcd.Close()
	<-b.etcd.Server.StopNotify()
	_ = os.RemoveAll(b.etcd.Config().Dir)
}
