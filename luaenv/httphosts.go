package luaenv

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
)

// hostEntry is one http_hosts entry.
type hostEntry struct {
	host string     // without brackets
	ip   netip.Addr // the host when it is an IP literal, unmapped
	port string     // the one port allowed, "" for any
}

// httpHosts are the sandbox's http_hosts.
type httpHosts []hostEntry

func parseHTTPHosts(list []string) httpHosts {
	hosts := make(httpHosts, 0, len(list))
	for _, s := range list {
		host, port, err := net.SplitHostPort(s)
		if err != nil {
			host, port = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"), ""
		}
		e := hostEntry{host: host, port: port}
		if ip, err := netip.ParseAddr(host); err == nil {
			e.ip = ip.Unmap()
		}
		hosts = append(hosts, e)
	}
	return hosts
}

// allows reports whether an entry names host and, if the entry has a port, port.
func (hs httpHosts) allows(host, port string) bool {
	for _, e := range hs {
		if (e.port == "" || e.port == port) && e.names(host) {
			return true
		}
	}
	return false
}

// namesPort reports whether an entry names host with exactly this port.
func (hs httpHosts) namesPort(host, port string) bool {
	for _, e := range hs {
		if e.port == port && e.names(host) {
			return true
		}
	}
	return false
}

// names reports whether the entry is host: a name, compared without case, or an IP, compared as
// an address.
func (e hostEntry) names(host string) bool {
	if e.ip.IsValid() {
		ip, err := netip.ParseAddr(host)
		return err == nil && ip.Unmap() == e.ip
	}
	return strings.EqualFold(e.host, host)
}

// allowURL checks a URL of the http module, the first or a redirect's.
func (hs httpHosts) allowURL(u *url.URL) error {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	if hs.allows(u.Hostname(), port) {
		return nil
	}
	if len(hs) == 0 {
		return errors.New("http: the sandbox allows no host (set http_hosts)")
	}
	return fmt.Errorf("http: host %q is not in the sandbox's http_hosts", u.Hostname())
}
