package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// etcdProbeTimeout bounds the TCP check of one endpoint. A refused connection comes back at once;
// the bound only matters for a host that drops packets, which the etcd client is then left to
// wait for, as before.
const etcdProbeTimeout = time.Second

// checkEtcd fails at once when every etcd endpoint refuses connections. etcd's client retries a
// refused endpoint until the command's --timeout runs out, and each command then words the
// timeout its own way; nothing listening deserves one quick, plain answer.
func (g *globals) checkEtcd(endpoints []string) error {
	if !allRefused(endpoints, min(g.timeout, etcdProbeTimeout)) {
		return nil
	}
	list := strings.Join(endpoints, ",")
	return fmt.Errorf("cannot reach etcd at %s: connection refused; is etcd running at %s?", list, list)
}

// allRefused dials every endpoint at once and reports whether all of them refused. An endpoint it
// cannot dial over TCP (a unix socket), one that accepts, or one that fails otherwise (a timeout,
// an unknown host) counts as not refused: the etcd client decides about those.
func allRefused(endpoints []string, timeout time.Duration) bool {
	if len(endpoints) == 0 {
		return false
	}
	refused := make(chan bool, len(endpoints)) // buffered: late dials finish without a reader
	for _, ep := range endpoints {
		go func() {
			addr, ok := tcpAddr(ep)
			if !ok {
				refused <- false
				return
			}
			conn, err := net.DialTimeout("tcp", addr, timeout)
			if err == nil {
				conn.Close()
			}
			refused <- errors.Is(err, syscall.ECONNREFUSED)
		}()
	}
	for range endpoints {
		if !<-refused {
			return false
		}
	}
	return true
}

// tcpAddr turns an etcd endpoint (host:port, or an http or https URL) into the address to dial.
func tcpAddr(endpoint string) (string, bool) {
	if scheme, _, found := strings.Cut(endpoint, "://"); found {
		if scheme != "http" && scheme != "https" {
			return "", false
		}
		u, err := url.Parse(endpoint)
		if err != nil {
			return "", false
		}
		endpoint = u.Host
	}
	if _, _, err := net.SplitHostPort(endpoint); err != nil {
		return "", false
	}
	return endpoint, true
}
