package caddymodule

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/micro"

	"github.com/msgscript/msgscript/internal/testetcd"
	"github.com/msgscript/msgscript/internal/testfiles"
)

// With the etcd store, the Lua etcd module works on the store's client, and the nats module on
// the app's own connection.
func TestModulesUseTheAppsConnections(t *testing.T) {
	etcd := testetcd.Start(t)
	put := etcd.Put
	put("config/greeting", "Howdy")
	put("msgscript/scripts/funcs.hello/hello", helloScript)
	put("msgscript/scripts/funcs.conf/conf", `--* subject: funcs.conf
local etcd = require("etcd")
local nats = require("nats")
function OnMessage(s, p)
  local kvs, err = etcd.get("config/", true)
  if err then error(err) end
  assert(etcd.put("seen/" .. p, "yes") == nil)
  local hello = assert(nats.request("funcs.hello", p, 2))
  return kvs[1]:getValue() .. " " .. #kvs .. " " .. hello
end
`)
	ns := startNATS(t)
	if err := loadConfig(t, map[string]any{"nats_url": ns.ClientURL(), "store": map[string]any{"backend": "etcd", "endpoints": []string{etcd.Endpoint()}}}); err != nil {
		t.Fatal(err)
	}
	nc := connectTo(t, ns.ClientURL())
	askUntil(t, nc, "funcs.conf", "Ann", `{"conf":"Howdy 1 {\"hello\":\"Processed subject: funcs.hello with payload: Ann\"}"}`)
	resp, err := etcd.Client().Get(context.Background(), "seen/Ann")
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("etcd.put from the script: %v %v", resp, err)
	}
}

// With the folder store, etcd_endpoints gives the etcd module its client.
func TestEtcdEndpointsForTheModule(t *testing.T) {
	etcd := testetcd.Start(t)
	etcd.Put("k", "from etcd")
	dir := testfiles.Dir(t, map[string]string{"k.lua": "--* subject: funcs.k\nfunction OnMessage() return require('etcd').get('k')[1]:getValue() end\n"})
	ns := startNATS(t)
	if err := loadConfig(t, map[string]any{"nats_url": ns.ClientURL(), "etcd_endpoints": []string{etcd.Endpoint()}, "store": map[string]any{"backend": "dir", "path": dir}}); err != nil {
		t.Fatal(err)
	}
	askUntil(t, connectTo(t, ns.ClientURL()), "funcs.k", "", `{"k":"from etcd"}`)
}

// sandbox: a forbidden call fails that script with a clear error; the server keeps serving.
func TestSandboxedApp(t *testing.T) {
	dir := testfiles.Dir(t, map[string]string{
		"hello.lua": helloScript,
		"io.lua":    "--* subject: funcs.io\nfunction OnMessage() return io.open('/etc/hostname'):read('*a') end\n",
		"exec.lua":  "--* subject: funcs.exec\nfunction OnMessage() return tostring(os.execute('true')) end\n",
		"cmd.lua":   "--* subject: funcs.cmd\nfunction OnMessage() return require('cmd').exec('true') end\n",
		"http.lua":  "--* subject: funcs.http\nfunction OnMessage() local r, err = require('http').get('http://127.0.0.1:1/') return err end\n",
	})
	ns := startNATS(t)
	if err := loadConfig(t, map[string]any{"nats_url": ns.ClientURL(), "sandbox": true, "http_hosts": []string{"example.com"}, "store": map[string]any{"backend": "dir", "path": dir}}); err != nil {
		t.Fatal(err)
	}
	nc := connectTo(t, ns.ClientURL())
	for subject, want := range map[string]string{
		"funcs.io":   "io.open is not available in msgscript's sandbox",
		"funcs.exec": "os.execute is not available in msgscript's sandbox",
		"funcs.cmd":  "module cmd is not available in msgscript's sandbox",
	} {
		m, err := nc.Request(subject, nil, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if m.Header.Get(micro.ErrorCodeHeader) != "500" || !strings.Contains(m.Header.Get(micro.ErrorHeader), want) {
			t.Errorf("%s: %s %v, want an error containing %q", subject, m.Data, m.Header, want)
		}
	}
	askUntil(t, nc, "funcs.http", "", `{"http":"http: host \"127.0.0.1\" is not in the sandbox's http_hosts"}`)
	askHello(t, nc)
}

func TestPluginDirMustExist(t *testing.T) {
	ns := startNATS(t)
	err := loadConfig(t, map[string]any{"nats_url": ns.ClientURL(), "plugin_dir": filepath.Join(t.TempDir(), "none"), "store": map[string]any{"backend": "dir", "path": scriptsDir(t)}})
	if err == nil || !strings.Contains(err.Error(), "plugin_dir") {
		t.Fatalf("started with a missing plugin_dir: %v", err)
	}
}
