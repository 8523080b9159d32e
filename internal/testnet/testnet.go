// Package testnet gives tests loopback addresses for the servers they start.
package testnet

import (
	"net"
	"strconv"
	"sync"
	"testing"
)

// FreePort returns a port on 127.0.0.1 that nothing listens on now, for a server the test is about
// to start (an embedded NATS server, a Caddy site). Never a default port, so tests run while
// msgscript itself does, and never one it returned before in this process: the system may hand a
// port just closed out again, and a test asking for a NATS port and a site port then had both
// servers on the same one.
func FreePort(t testing.TB) int {
	t.Helper()
	givenMu.Lock()
	defer givenMu.Unlock()
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !given[port] {
			given[port] = true
			return port
		}
	}
}

var (
	givenMu sync.Mutex
	given   = map[int]bool{} // the ports FreePort returned
)

// FreeAddr is FreePort as host:port.
func FreeAddr(t testing.TB) string {
	t.Helper()
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(FreePort(t)))
}
