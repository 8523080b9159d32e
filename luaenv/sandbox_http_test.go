package luaenv_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/msgscript/msgscript/luaenv"
)

// target is a server a sandboxed script must not reach, standing for Caddy's admin API (or any
// service of the server's own network): it counts the requests that reach it.
type target struct {
	*httptest.Server
	hits atomic.Int32
}

func newTarget(t *testing.T) *target {
	tg := &target{}
	tg.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tg.hits.Add(1)
		_, _ = w.Write([]byte("reached"))
	}))
	t.Cleanup(tg.Close)
	return tg
}

// redirector answers every request with a redirect to to(path) with status code.
func redirector(t *testing.T, code int, to func(path string) string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, to(r.URL.Path), code)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func hostPort(rawURL string) string {
	u, _ := url.Parse(rawURL)
	return u.Host
}

func port(rawURL string) string {
	u, _ := url.Parse(rawURL)
	return u.Port()
}

// request is a script's http.request, returning "status url body" or the error.
func request(method, rawURL string) string {
	return fmt.Sprintf(`local r, err = require("http").request(%q, %q)
		if not r then return err end
		return r.status_code .. " " .. r.url .. " " .. r.body`, method, rawURL)
}

// The attack: an allowed host answers 307 to Caddy's admin API, and net/http follows it with the
// same method, so a DELETE reached localhost:2019/config/apps/msgscript/sandbox. Every hop is
// now checked against http_hosts: 307, 302 and a chain through another allowed host.
func TestSandboxHTTPChecksEveryRedirect(t *testing.T) {
	admin := newTarget(t)
	adminURL := "http://localhost:" + port(admin.URL) + "/config/apps/msgscript/sandbox"
	final := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("final")) }))
	defer final.Close()
	// hop is a second allowed host: /chain goes on to the admin API, /ok to final.
	hop := redirector(t, http.StatusFound, func(path string) string {
		if path == "/ok" {
			return final.URL + "/done"
		}
		return adminURL
	})
	allowed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/307":
			http.Redirect(w, r, adminURL, http.StatusTemporaryRedirect)
		case "/302":
			http.Redirect(w, r, admin.URL+"/x", http.StatusFound)
		default: // /chain, /ok
			http.Redirect(w, r, hop.URL+r.URL.Path, http.StatusTemporaryRedirect)
		}
	}))
	defer allowed.Close()
	p := luaenv.Policy{Sandbox: true, HTTPHosts: []string{hostPort(allowed.URL), hostPort(hop.URL), hostPort(final.URL)}}

	for _, c := range []struct{ method, path, host string }{
		{"DELETE", "/307", "localhost"},
		{"GET", "/302", "127.0.0.1"}, // listed, but with another port
		{"DELETE", "/chain", "localhost"},
	} {
		got := mustCall(t, p, request(c.method, allowed.URL+c.path))
		if want := fmt.Sprintf(`redirect refused: http: host %q is not in the sandbox's http_hosts`, c.host); !strings.Contains(got, want) {
			t.Errorf("%s %s: %q, want %q", c.method, c.path, got, want)
		}
	}
	if n := admin.hits.Load(); n != 0 {
		t.Fatalf("the admin API was reached %d times from the sandbox", n)
	}
	// Redirects between allowed hosts are followed, and url is the last one.
	if got, want := mustCall(t, p, request("GET", allowed.URL+"/ok")), "200 "+final.URL+"/done final"; got != want {
		t.Errorf("allowed chain: %q, want %q", got, want)
	}
	// Outside the sandbox nothing changes: any host, redirects followed.
	if got, want := mustCall(t, luaenv.Policy{}, request("DELETE", allowed.URL+"/307")), "200 "+adminURL+" reached"; got != want {
		t.Errorf("outside the sandbox: %q, want %q", got, want)
	}
}

// resolver plays DNS for the test: names of zone answer its addresses, others the system's.
func resolver(zone map[string][]netip.Addr) func(context.Context, string) ([]netip.Addr, error) {
	return func(ctx context.Context, host string) ([]netip.Addr, error) {
		if addrs, ok := zone[host]; ok {
			return addrs, nil
		}
		return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	}
}

// The attack: a name in http_hosts whose DNS answers a loopback or private address (DNS
// rebinding, or a record pointing at the cloud's metadata service). The address connected to is
// checked: a name must resolve to public addresses; only what http_hosts names itself, an IP or
// localhost, reaches a non-public one.
func TestSandboxHTTPNamesReachPublicAddressesOnly(t *testing.T) {
	srv := newTarget(t)
	p := port(srv.URL)
	zone := map[string][]netip.Addr{
		"allowed.test":  {netip.MustParseAddr("127.0.0.1")},
		"mapped.test":   {netip.MustParseAddr("::ffff:127.0.0.1")},
		"private.test":  {netip.MustParseAddr("10.1.2.3")},
		"metadata.test": {netip.MustParseAddr("169.254.169.254")},
		"cgnat.test":    {netip.MustParseAddr("100.64.0.1")},
		"zero.test":     {netip.MustParseAddr("0.0.0.0")},
	}
	services := luaenv.Services{Resolve: resolver(zone)}
	for name, addrs := range zone {
		got, err := callWith(t, luaenv.Policy{Sandbox: true, HTTPHosts: []string{name}}, services, request("GET", "http://"+name+":"+p+"/"))
		if err != nil || !strings.Contains(got, "the sandbox") || strings.Contains(got, "reached") {
			t.Errorf("%s (%s): %q, %v", name, addrs[0], got, err)
		}
	}
	// A redirect to such a name is caught at the connection too.
	allowed := redirector(t, http.StatusTemporaryRedirect, func(string) string { return "http://allowed.test:" + p + "/" })
	got, _ := callWith(t, luaenv.Policy{Sandbox: true, HTTPHosts: []string{hostPort(allowed.URL), "allowed.test"}}, services, request("GET", allowed.URL))
	if !strings.Contains(got, "allowed.test resolves to 127.0.0.1, which is not a public address") {
		t.Errorf("redirect to a name resolving to loopback: %q", got)
	}
	if n := srv.hits.Load(); n != 0 {
		t.Fatalf("a name resolving to loopback reached the server %d times", n)
	}

	// What http_hosts lists itself is reached: localhost, an IP, with or without the port (a
	// service of another process: see TestSandboxNeverReachesItsOwnListeners).
	outside := outsideServer(t)
	op := port(outside)
	for _, c := range []struct{ hosts, url string }{
		{"localhost", "http://localhost:" + op + "/"},
		{"localhost:" + op, "http://localhost:" + op + "/"},
		{"127.0.0.1", outside + "/"},
		{"127.0.0.1:" + op, outside + "/"},
	} {
		if got, _ := callWith(t, luaenv.Policy{Sandbox: true, HTTPHosts: []string{c.hosts}}, services, request("GET", c.url)); got != "200 "+c.url+" reached" {
			t.Errorf("http_hosts %s, %s: %q", c.hosts, c.url, got)
		}
	}
}

// The attack: http_hosts lists localhost (or 127.0.0.1) for a local service, and a script asks
// for the admin API on the same host. DeniedAddrs are never connected to, whatever http_hosts
// says, directly or through a redirect; Caddy's default admin address always is one.
func TestSandboxNeverReachesDeniedAddrs(t *testing.T) {
	admin := newTarget(t)
	p := port(admin.URL)
	services := luaenv.Services{Resolve: resolver(map[string][]netip.Addr{"admin.test": {netip.MustParseAddr("127.0.0.1")}})}
	const never = "is never reachable from msgscript's sandbox"
	for _, denied := range []string{"localhost:" + p, "127.0.0.1:" + p, "[::ffff:127.0.0.1]:" + p, ":" + p, "0.0.0.0:" + p, "tcp/127.0.0.1:" + p, "admin.test:" + p, "127.0.0.1"} {
		policy := luaenv.Policy{Sandbox: true, HTTPHosts: []string{"localhost", "127.0.0.1"}, DeniedAddrs: []string{denied}}
		for _, u := range []string{"http://localhost:" + p + "/load", admin.URL + "/load"} {
			if got, _ := callWith(t, policy, services, request("POST", u)); !strings.Contains(got, never) {
				t.Errorf("denied %s, %s: %q", denied, u, got)
			}
		}
	}
	allowed := redirector(t, http.StatusTemporaryRedirect, func(string) string { return admin.URL + "/load" })
	policy := luaenv.Policy{Sandbox: true, HTTPHosts: []string{hostPort(allowed.URL), "127.0.0.1:" + p}, DeniedAddrs: []string{"localhost:" + p}}
	if got := mustCall(t, policy, request("POST", allowed.URL)); !strings.Contains(got, never) {
		t.Errorf("redirect to a denied address: %q", got)
	}
	if n := admin.hits.Load(); n != 0 {
		t.Fatalf("a denied address was reached %d times", n)
	}

	// localhost:2019 is refused before connecting, whether or not Caddy listens there.
	for _, u := range []string{"http://localhost:2019/config/", "http://127.0.0.1:2019/config/"} {
		if got := mustCall(t, luaenv.Policy{Sandbox: true, HTTPHosts: []string{"localhost", "127.0.0.1"}}, request("DELETE", u)); !strings.Contains(got, never) {
			t.Errorf("Caddy's default admin address %s: %q", u, got)
		}
	}
	if _, err := luaenv.New(luaenv.Policy{Sandbox: true, DeniedAddrs: []string{"localhost:admin"}}, luaenv.Services{}); err == nil || !strings.Contains(err.Error(), "denied_addrs") {
		t.Errorf("a denied address that is none: %v", err)
	}
}

// The attack: http_hosts lists 127.0.0.1 for a local service, and the config moved Caddy's admin
// endpoint off its default address (admin 127.0.0.1:12019), which denied_addrs does not list.
// The sandbox never reaches a port this process listens on (the admin endpoint, NATS, a site)
// unless http_hosts names it with its port; a service of another process on the same host is
// reached as before.
func TestSandboxNeverReachesItsOwnListeners(t *testing.T) {
	admin := newTarget(t) // in this process, as Caddy's admin endpoint is
	p := port(admin.URL)
	const own = "is one of msgscript's own listeners"
	for _, u := range []string{admin.URL + "/config/", "http://localhost:" + p + "/config/"} {
		if got := mustCall(t, luaenv.Policy{Sandbox: true, HTTPHosts: []string{"localhost", "127.0.0.1"}}, request("PATCH", u)); !strings.Contains(got, own) {
			t.Errorf("%s: %q", u, got)
		}
	}
	// Through a redirect from an allowed service too.
	hop := redirector(t, http.StatusTemporaryRedirect, func(string) string { return admin.URL + "/config/" })
	if got := mustCall(t, luaenv.Policy{Sandbox: true, HTTPHosts: []string{hostPort(hop.URL), "127.0.0.1"}}, request("PATCH", hop.URL)); !strings.Contains(got, own) {
		t.Errorf("through a redirect: %q", got)
	}
	if n := admin.hits.Load(); n != 0 {
		t.Fatalf("the process's own listener was reached %d times", n)
	}
	// Named with its port, it is reached: the operator said so.
	if got := mustCall(t, luaenv.Policy{Sandbox: true, HTTPHosts: []string{"127.0.0.1:" + p}}, request("GET", admin.URL+"/")); got != "200 "+admin.URL+"/ reached" {
		t.Errorf("named with its port: %q", got)
	}
	outside := outsideServer(t)
	if got := mustCall(t, luaenv.Policy{Sandbox: true, HTTPHosts: []string{"127.0.0.1"}}, request("GET", outside+"/")); got != "200 "+outside+"/ reached" {
		t.Errorf("another process's service: %q", got)
	}
}
