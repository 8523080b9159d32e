package luaenv

import (
	"net"
	"net/netip"
)

// ownListeners tells whether an address is one this process listens on: Caddy's admin endpoint
// (wherever the config put it), the embedded NATS server, the HTTP servers. The sandbox's http
// module reaches none of them unless http_hosts names it with its port: an http_hosts entry
// 127.0.0.1 meant for a local service let a script PATCH the config through the admin endpoint,
// switching the sandbox off. The listeners are read from the system (listeningPorts) at every
// connection the sandbox makes (a fraction of a millisecond, next to a connection's own cost), so
// that one opened a moment ago (a reload moving the admin endpoint) counts at once.
type ownListeners struct {
	ports    []netip.AddrPort // what the process listens on; the unspecified address for "any"
	localIPs []netip.Addr
}

// has reports whether a connection to ap would reach one of the process's listeners.
func (o *ownListeners) has(ap netip.AddrPort) bool {
	o.ports, o.localIPs = listeningPorts(), localAddrs()
	ip := ap.Addr().Unmap()
	for _, l := range o.ports {
		if l.Port() != ap.Port() {
			continue
		}
		if l.Addr().Unmap() == ip {
			return true
		}
		if l.Addr().IsUnspecified() && (ip.IsLoopback() || o.isLocal(ip)) {
			return true
		}
	}
	return false
}

func (o *ownListeners) isLocal(ip netip.Addr) bool {
	for _, a := range o.localIPs {
		if a == ip {
			return true
		}
	}
	return false
}

// localAddrs are the addresses of the machine's interfaces.
func localAddrs() []netip.Addr {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var out []netip.Addr
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil {
			out = append(out, p.Addr().Unmap())
		}
	}
	return out
}
