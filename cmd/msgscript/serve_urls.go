package main

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// checkNATSURL accepts what the NATS client connects to: nats://, tls://, ws:// or wss:// URLs,
// with or without credentials and port, or a bare host[:port]. A URL the client cannot use would
// otherwise only show as a connection retried forever.
func checkNATSURL(u string) error {
	return checkURL(u, "nats", "nats", "tls", "ws", "wss")
}

// checkEtcdURL accepts what the etcd client connects to: http:// or https:// URLs, or a bare
// host:port as the original's default (localhost:2379) was. unix:// sockets are left to etcd.
func checkEtcdURL(u string) error {
	if strings.HasPrefix(u, "unix://") || strings.HasPrefix(u, "unixs://") {
		return nil
	}
	if !strings.Contains(u, "://") {
		if _, _, err := splitHostPort(u); err != nil {
			return fmt.Errorf("want http://host:port, https://host:port or host:port")
		}
	}
	return checkURL(u, "http", "http", "https")
}

// checkURL parses u, given the scheme bare when it has none, and wants one of the schemes, a
// host, a numeric port if any, and no path.
func checkURL(u, bare string, schemes ...string) error {
	if u == "" {
		return fmt.Errorf("empty URL")
	}
	if !strings.Contains(u, "://") {
		u = bare + "://" + u
	}
	p, err := url.Parse(u)
	if ue, ok := err.(*url.Error); ok {
		return fmt.Errorf("not a URL: %v", ue.Err)
	} else if err != nil {
		return fmt.Errorf("not a URL: %v", err)
	}
	known := false
	for _, s := range schemes {
		known = known || p.Scheme == s
	}
	if !known {
		return fmt.Errorf("scheme %q: want %s://", p.Scheme, strings.Join(schemes, ":// or "))
	}
	if p.Hostname() == "" {
		return fmt.Errorf("no host")
	}
	if port := p.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("bad port %q", port)
		}
	}
	if p.Path != "" && p.Path != "/" || p.RawQuery != "" {
		return fmt.Errorf("a server's URL has no path or query")
	}
	return nil
}

// splitHostPort splits host:port and reads the port.
func splitHostPort(addr string) (string, int, error) {
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("bad port %q", portText)
	}
	return host, port, nil
}
