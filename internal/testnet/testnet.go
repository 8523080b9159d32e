// Package testnet gives tests loopback addresses for the servers they start.
package testnet

import (
	"net"
	"strconv"
	"testing"
)

// FreePort returns a port on 127.0.0.1 that nothing listens on now, for a server the test is about
// to start (an embedded NATS server, a Caddy site). Never a default port, so tests run while
// msgscript itself does.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// FreeAddr is FreePort as host:port.
func FreeAddr(t testing.TB) string {
	t.Helper()
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(FreePort(t)))
}
