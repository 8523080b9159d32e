package luaenv

import (
	"net/netip"
	"testing"
)

// A name in http_hosts may resolve to public addresses alone: what a DNS answer could point at
// inside the server's host or network is refused.
func TestPublicAddr(t *testing.T) {
	for addr, want := range map[string]bool{
		"93.184.215.14":          true,
		"1.1.1.1":                true,
		"2606:4700:4700::1111":   true,
		"64:ff9b::5db8:d70e":     true, // NAT64 of a public address
		"127.0.0.1":              false,
		"127.8.9.10":             false,
		"::1":                    false,
		"::ffff:127.0.0.1":       false, // IPv4-mapped loopback
		"::ffff:10.0.0.1":        false,
		"10.0.0.1":               false,
		"172.16.5.4":             false,
		"192.168.1.1":            false,
		"fd00:ec2::254":          false, // ULA (AWS's IPv6 metadata service)
		"169.254.169.254":        false, // link-local (cloud metadata services)
		"fe80::1":                false,
		"100.64.0.1":             false, // CGNAT
		"100.127.255.254":        false,
		"0.0.0.0":                false,
		"0.1.2.3":                false,
		"::":                     false,
		"224.0.0.1":              false,
		"ff02::1":                false,
		"255.255.255.255":        false,
		"240.0.0.1":              false,
		"198.18.0.1":             false,
		"192.0.0.8":              false,
		"64:ff9b::7f00:1":        false, // NAT64 of 127.0.0.1
		"2002:a00:1::1":          false, // 6to4 of 10.0.0.1
		"2001:0:4136:e378::1":    false, // Teredo
		"fec0::1":                false,
		"::7f00:1":               false, // IPv4-compatible 127.0.0.1
		"2001:db8::1":            false,
		"100::1":                 false,
		"2a00:1450:4001:80b::1":  true,
		"2002:5db8:d70e::1":      true, // 6to4 of a public address
		"8.8.8.8":                true,
		"100.63.255.255":         true, // just below CGNAT
		"100.128.0.0":            true, // just above
		"172.32.0.1":             true, // just above 172.16/12
		"192.169.0.1":            true,
		"11.0.0.1":               true,
		"223.255.255.255":        true,
		"2001:4860:4860::8888":   true,
		"2606:2800:220:1::248":   true,
		"2a03:2880:f12f:83::1":   true,
		"2620:fe::fe":            true,
		"2001:200::1":            true, // outside 2001::/23
		"2400:cb00:2048:1::c629": true,
	} {
		if got := publicAddr(netip.MustParseAddr(addr)); got != want {
			t.Errorf("publicAddr(%s) = %v, want %v", addr, got, want)
		}
	}
}
