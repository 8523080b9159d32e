//go:build !linux

package luaenv

import "net/netip"

// listeningPorts finds nothing outside Linux: there, only denied_addrs keeps the sandbox from
// msgscript's own listeners.
func listeningPorts() []netip.AddrPort { return nil }
