package caddymodule

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"

	"github.com/msgscript/msgscript/internal/testetcd"
	"github.com/msgscript/msgscript/internal/testhttp"
	"github.com/msgscript/msgscript/internal/testnet"
)

// The repository's example Caddyfiles adapt without error or warning, and use what they show.
func TestExampleCaddyfilesAdapt(t *testing.T) {
	files, err := filepath.Glob("../Caddyfile*.example")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, "../docs/webhook/Caddyfile", "../deploy/Caddyfile")
	// Every example the documentation names: one renamed away from the pattern fails here rather
	// than being skipped.
	for _, want := range []string{"Caddyfile.example", "Caddyfile.production.example", "Caddyfile.etcd.example"} {
		found := false
		for _, f := range files {
			found = found || filepath.Base(f) == want
		}
		if !found {
			t.Errorf("%s is missing from %v", want, files)
		}
	}
	for _, file := range files {
		t.Run(strings.TrimPrefix(file, "../"), func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			out, warnings, err := caddyconfig.GetAdapter("caddyfile").Adapt(raw, map[string]any{"filename": file})
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range warnings {
				t.Errorf("warning: %s", w)
			}
			for _, want := range []string{`"msgscript":{`, `"handler":"msgscript"`} {
				if !strings.Contains(string(out), want) {
					t.Errorf("%s adapts without %s:\n%s", file, want, out)
				}
			}
		})
	}
}

// moveDefaults replaces each old of the Caddyfile text with its new, failing the test when the
// text no longer has one: how the example tests move the default ports to free ones.
func moveDefaults(t *testing.T, text string, replacements ...[2]string) string {
	t.Helper()
	for _, r := range replacements {
		if !strings.Contains(text, r[0]) {
			t.Fatalf("the example no longer has %q", r[0])
		}
		text = strings.Replace(text, r[0], r[1], 1)
	}
	return text
}

// Caddyfile.etcd.example does what its comment says: the examples' library and scripts, stored in
// etcd under the keys msgscriptcli gives them, answer over NATS and through the HTTP bridge, and
// the dashboard lists them for this machine. Its etcd endpoint, NATS, HTTP and admin ports are
// moved to free ones, so that the test passes while msgscript or etcd runs on the defaults.
func TestEtcdExampleCaddyfile(t *testing.T) {
	raw, err := os.ReadFile("../Caddyfile.etcd.example")
	if err != nil {
		t.Fatal(err)
	}
	etcd := testetcd.Start(t)
	for key, file := range map[string]string{
		"msgscript/libs/greeting":             "../examples/libs/greeting.lua",
		"msgscript/scripts/funcs.hello/hello": "../examples/hello.lua",
		"msgscript/scripts/funcs.greet/greet": "../examples/greet.lua",
	} {
		text, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		etcd.Put(key, string(text))
	}
	natsAddr, web := testnet.FreeAddr(t), testnet.FreeAddr(t)
	_, webPort, _ := net.SplitHostPort(web)
	loadCaddyfile(t, moveDefaults(t, string(raw),
		[2]string{"{\n\tmsgscript {\n", "{\n\tadmin off\n\tmsgscript {\n"},
		[2]string{"\t\tstore etcd http://127.0.0.1:2379\n", "\t\tstore etcd " + etcd.Endpoint() + "\n\t\tembedded_nats " + natsAddr + "\n"},
		[2]string{"\n:7643 {\n", "\n:" + webPort + " {\n"},
	))

	nc := connectTo(t, "nats://"+natsAddr)
	askUntil(t, nc, "funcs.hello", "John", helloReply)
	askUntil(t, nc, "funcs.greet", "Ann", `{"greet":"Hello, Ann!"}`)
	if r := testhttp.Do(t, "POST", "http://"+web+"/funcs.greet", strings.NewReader("Bo")); r.Status != 200 || !strings.HasPrefix(r.Body, `{"greet":"Hello, Bo!"}`) {
		t.Errorf("POST /funcs.greet: %d %q", r.Status, r.Body)
	}
	if r := testhttp.Do(t, "GET", "http://"+web+"/_/", nil); r.Status != 200 || !strings.Contains(r.Body, `<tr data-key="funcs.greet greet">`) {
		t.Errorf("the dashboard: %d %s", r.Status, r.Body)
	}
	// A script changed in etcd (what msgscriptcli add does) is live at once.
	etcd.Put("msgscript/scripts/funcs.hello/hello", "--* subject: funcs.hello\nfunction OnMessage(s, p) return 'v2 ' .. p end\n")
	askUntil(t, nc, "funcs.hello", "John", `{"hello":"v2 John"}`)
}
