package luaenv

import "net/netip"

// notPublic are the ranges, beyond what netip classifies (loopback, RFC 1918 and ULA private,
// link-local, multicast, unspecified, broadcast), that are not the public internet: a name in
// http_hosts resolving into one of them would lead a sandboxed script into the server's own
// network. As Stripe's smokescreen does, an address is public only when no rule says otherwise.
var notPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"; 0.0.0.0 itself reaches the local host
	netip.MustParsePrefix("100.64.0.0/10"),   // CGNAT shared address space (RFC 6598): a provider's inside
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments (RFC 6890)
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation (RFC 5737)
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking (RFC 2544), used inside networks
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved (RFC 1112)
	netip.MustParsePrefix("::/96"),           // IPv4-compatible IPv6 (deprecated), and :: and ::1
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64 (RFC 8215)
	netip.MustParsePrefix("100::/64"),        // discard-only (RFC 6666)
	netip.MustParsePrefix("2001::/23"),       // IETF protocol assignments, Teredo tunnels included
	netip.MustParsePrefix("2001:db8::/32"),   // documentation (RFC 3849)
	netip.MustParsePrefix("fec0::/10"),       // site-local (deprecated, still routed inside some networks)
}

// Prefixes whose addresses carry an IPv4 address, which is what they reach: the well-known NAT64
// prefix (RFC 6052) in their last 32 bits, 6to4 (RFC 3056) in bits 16 to 48.
var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// publicAddr reports whether ip is a public internet address, the only kind a name in
// http_hosts may resolve to.
func publicAddr(ip netip.Addr) bool {
	ip = ip.Unmap() // ::ffff:127.0.0.1 is 127.0.0.1
	if !ip.IsGlobalUnicast() || ip.IsPrivate() {
		return false
	}
	for _, p := range notPublic {
		if p.Contains(ip) {
			return false
		}
	}
	b := ip.As16()
	switch {
	case nat64.Contains(ip):
		return publicAddr(netip.AddrFrom4([4]byte(b[12:16])))
	case sixToFour.Contains(ip):
		return publicAddr(netip.AddrFrom4([4]byte(b[2:6])))
	}
	return true
}
