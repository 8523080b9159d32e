package luaenv

import (
	"net"
	"net/netip"
	"runtime"
	"testing"
)

// The process's own listeners are found, on the address they listen on, and for one that listens
// on every address, through loopback too.
func TestOwnListeners(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	specific, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer specific.Close()
	any, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer any.Close()
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	freePort := free.Addr().(*net.TCPAddr).AddrPort().Port()
	free.Close()
	var o ownListeners
	sp := specific.Addr().(*net.TCPAddr).AddrPort()
	ap := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), any.Addr().(*net.TCPAddr).AddrPort().Port())
	for _, c := range []struct {
		addr netip.AddrPort
		want bool
	}{
		{sp, true},
		{netip.AddrPortFrom(netip.MustParseAddr("127.0.0.2"), sp.Port()), false},
		{ap, true},
		{netip.AddrPortFrom(netip.MustParseAddr("::1"), ap.Port()), true},
		{netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), freePort), false},
	} {
		if got := o.has(c.addr); got != c.want {
			t.Errorf("%s: %v, want %v (listening: %v)", c.addr, got, c.want, o.ports)
		}
	}
}
