package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/micro"

	"github.com/msgscript/msgscript/internal/testfiles"
	"github.com/msgscript/msgscript/internal/testhttp"
	"github.com/msgscript/msgscript/internal/testnet"
)

// The attack that turned the sandbox off: an allowed host answers a sandboxed script's DELETE with
// a 307 to Caddy's admin API (/config/apps/msgscript/sandbox). The redirect is checked, and the
// admin address is never reachable, whatever http_hosts says (here: every port of 127.0.0.1).
func TestSandboxedScriptCannotReachTheAdminAPI(t *testing.T) {
	admin, addr := testnet.FreeAddr(t), testnet.FreeAddr(t)
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://"+admin+"/config/apps/msgscript/sandbox", http.StatusTemporaryRedirect)
	}))
	defer redirector.Close()
	dir := testfiles.Dir(t, map[string]string{
		"Caddyfile": fmt.Sprintf("{\n\tmsgscript {\n\t\tembedded_nats %s\n\t\tstore dir ./scripts\n\t\tsandbox\n\t\thttp_hosts 127.0.0.1\n\t}\n}\n", addr),
		"scripts/evil.lua": "--* subject: funcs.evil\nfunction OnMessage(s, url)\n" +
			"  local r, err = require('http').request('DELETE', url)\n  return err or ('status ' .. r.status_code)\nend\n",
		"scripts/direct.lua": "--* subject: funcs.direct\nfunction OnMessage(s, url)\n" +
			"  local r, err = require('http').get(url)\n  return err or ('status ' .. r.status_code)\nend\n",
	})
	s := run(t, dir, "Caddyfile", "CADDY_ADMIN="+admin)
	nc := connect(t, s, "nats://"+addr)
	waitForPort(t, s, admin)

	m := request(t, nc, "funcs.evil", redirector.URL+"/hook")
	if m.Header.Get(micro.ErrorCodeHeader) != "" || !strings.Contains(string(m.Data), "never reachable from msgscript's sandbox") {
		t.Errorf("the redirect to the admin API: %s %v", m.Data, m.Header)
	}
	m = request(t, nc, "funcs.direct", "http://"+admin+"/config/")
	if !strings.Contains(string(m.Data), "never reachable from msgscript's sandbox") {
		t.Errorf("the admin API directly: %s %v", m.Data, m.Header)
	}
	if r := testhttp.Do(t, "GET", "http://"+admin+"/config/apps/msgscript/sandbox", nil); r.Status != 200 || strings.TrimSpace(r.Body) != "true" {
		t.Fatalf("the sandbox, as the admin API tells it: %d %q", r.Status, r.Body)
	}
	s.stop(t)
}
