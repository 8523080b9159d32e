package luaenv

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// sandboxDialer makes every connection of the sandbox's http module. It resolves the host
// itself and dials the addresses one by one, each through a net.Dialer whose Control checks the
// address the socket is about to connect to: whatever a redirect said or DNS answered, that is
// the address that counts. A connection goes to
//
//   - a host in http_hosts (the request and its redirects were checked; this is the last word),
//   - never to a denied address, nor to one of the process's own listeners (ownListeners)
//     unless http_hosts names it with its port,
//   - for a name, to a public address only (publicAddr); for an IP literal, to that address;
//     for "localhost", to the loopback addresses.
type sandboxDialer struct {
	hosts   httpHosts
	denied  []deniedAddr
	resolve func(ctx context.Context, host string) ([]netip.Addr, error)
	dialer  net.Dialer
}

func newSandboxDialer(p Policy, resolve func(ctx context.Context, host string) ([]netip.Addr, error)) (*sandboxDialer, error) {
	denied, err := parseDeniedAddrs(append([]string{DefaultDeniedAddr}, p.DeniedAddrs...))
	if err != nil {
		return nil, err
	}
	if resolve == nil {
		resolve = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	return &sandboxDialer{
		hosts:   parseHTTPHosts(p.HTTPHosts),
		denied:  denied,
		resolve: resolve,
		dialer:  net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}, // net/http's defaults
	}, nil
}

// DialContext is the http.Transport's DialContext.
func (d *sandboxDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, portText, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("http: bad port in %q", address)
	}
	if !d.hosts.allows(host, portText) {
		return nil, fmt.Errorf("http: host %q is not in the sandbox's http_hosts", host)
	}
	var addrs []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{ip}
	} else if addrs, err = d.resolve(ctx, host); err != nil {
		return nil, err
	}
	var first error
	for _, ip := range addrs {
		dialer := d.dialer
		dialer.ControlContext = func(ctx context.Context, _, address string, _ syscall.RawConn) error {
			return d.allowConnect(ctx, host, address)
		}
		conn, err := dialer.DialContext(ctx, network, netip.AddrPortFrom(ip, uint16(port)).String())
		if err == nil {
			return conn, nil
		}
		if first == nil {
			first = err
		}
	}
	if first == nil {
		first = fmt.Errorf("http: %s has no address", host)
	}
	return nil, first
}

// allowConnect is the check of the address a socket is about to connect to, for host.
func (d *sandboxDialer) allowConnect(ctx context.Context, host, address string) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return err
	}
	ip := ap.Addr().Unmap()
	for _, a := range d.denied {
		denied, err := a.matches(ctx, ip, ap.Port(), d.resolve)
		if err != nil {
			return err
		}
		if denied {
			return fmt.Errorf("http: %s is never reachable from msgscript's sandbox", address)
		}
	}
	if ip.IsUnspecified() {
		// 0.0.0.0 and :: reach the local host under another name.
		return fmt.Errorf("http: the sandbox does not connect to %s", address)
	}
	literal, err := netip.ParseAddr(host)
	switch {
	case err == nil && literal.Unmap() == ip: // an IP listed in http_hosts
	case strings.EqualFold(host, "localhost") && ip.IsLoopback(): // localhost, listed in http_hosts
	case publicAddr(ip):
	default:
		return fmt.Errorf("http: %s resolves to %s, which is not a public address: the sandbox connects a name in http_hosts to public addresses only (list the address itself to allow it)", host, ip)
	}
	var own ownListeners
	if own.has(netip.AddrPortFrom(ip, ap.Port())) && !d.hosts.namesPort(host, strconv.Itoa(int(ap.Port()))) {
		return fmt.Errorf("http: %s is one of msgscript's own listeners (Caddy's admin endpoint, NATS, a site): the sandbox reaches it only when http_hosts names it with its port", address)
	}
	return nil
}

// deniedAddr is one entry of DeniedAddrs.
type deniedAddr struct {
	text     string
	any      bool       // no host, or an unspecified one: every address
	loopback bool       // localhost: every loopback address
	ip       netip.Addr // an IP, unmapped
	name     string     // a name, resolved at each check
	port     uint16     // 0: every port
}

func parseDeniedAddrs(list []string) ([]deniedAddr, error) {
	var out []deniedAddr
	for _, s := range list {
		addr := s
		if network, rest, ok := strings.Cut(s, "/"); ok {
			switch network {
			case "tcp", "tcp4", "tcp6":
				addr = rest
			case "unix", "unixgram", "unixpacket":
				continue // the http module never dials a socket file
			default:
				return nil, fmt.Errorf("denied_addrs: %q: want host:port", s)
			}
		}
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			host, port = strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]"), ""
		}
		a := deniedAddr{text: s}
		if port != "" {
			n, err := strconv.ParseUint(port, 10, 16)
			if err != nil || n == 0 {
				return nil, fmt.Errorf("denied_addrs: %q: bad port", s)
			}
			a.port = uint16(n)
		}
		ip, ipErr := netip.ParseAddr(host)
		switch {
		case host == "" || (ipErr == nil && ip.IsUnspecified()):
			a.any = true
		case strings.EqualFold(host, "localhost"):
			a.loopback = true
		case ipErr == nil:
			a.ip = ip.Unmap()
		default:
			a.name = host
		}
		out = append(out, a)
	}
	return out, nil
}

// matches reports whether a connection to ip:port is denied by a.
func (a deniedAddr) matches(ctx context.Context, ip netip.Addr, port uint16, resolve func(context.Context, string) ([]netip.Addr, error)) (bool, error) {
	if a.port != 0 && a.port != port {
		return false, nil
	}
	switch {
	case a.any:
		return true, nil
	case a.loopback:
		return ip.IsLoopback() || ip.IsUnspecified(), nil
	case a.ip.IsValid():
		return a.ip == ip, nil
	}
	addrs, err := resolve(ctx, a.name)
	if err != nil {
		// Refuse rather than risk it: the name may well be the address being dialled.
		return false, fmt.Errorf("http: resolving %s, never reachable from msgscript's sandbox: %v", a.text, err)
	}
	for _, denied := range addrs {
		if denied.Unmap() == ip {
			return true, nil
		}
	}
	return false, nil
}
