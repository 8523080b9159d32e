package caddymodule

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/msgscript/msgscript/engine"
	"github.com/msgscript/msgscript/internal/testfiles"
	"github.com/msgscript/msgscript/internal/testnet"
)

// startObserved runs the app with Caddy's admin endpoint on, and returns the admin's and NATS's
// addresses and the scripts' folder.
func startObserved(t *testing.T) (admin, nats, dir string) {
	t.Helper()
	admin, nats = testnet.FreeAddr(t), testnet.FreeAddr(t)
	dir = testfiles.Dir(t, map[string]string{
		"hello.lua":  helloScript,
		"fail.lua":   "--* subject: funcs.fail\nfunction OnMessage(s, p)\n  error('no luck')\nend\n",
		"broken.lua": "--* subject: funcs.broken\nfunction OnMessage() return 'v1' end\n",
	})
	cfg, err := json.Marshal(map[string]any{
		"admin": map[string]any{"listen": admin},
		"apps": map[string]any{"msgscript": map[string]any{
			"embedded_nats": nats, "store": map[string]any{"backend": "dir", "path": dir},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := caddy.Load(cfg, true); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = caddy.Stop() })
	return admin, nats, dir
}

func adminGet(t *testing.T, admin, path string) string {
	t.Helper()
	resp, err := http.Get("http://" + admin + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return string(b)
}

// The admin API lists each script with its version, its calls and its last error, and the
// stored version that did not compile with its line; /metrics carries the same counts.
func TestAdminAPIAndMetrics(t *testing.T) {
	admin, natsAddr, dir := startObserved(t)
	nc := connectTo(t, "nats://"+natsAddr)
	for range 3 {
		askHello(t, nc)
	}
	if _, err := nc.Request("funcs.fail", nil, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	testfiles.Write(t, dir, map[string]string{"broken.lua": "--* subject: funcs.broken\nfunction OnMessage()\n  return 'v2'\n"})

	var scripts []engine.ScriptStatus
	deadline := time.Now().Add(5 * time.Second)
	for {
		scripts = nil
		if err := json.Unmarshal([]byte(adminGet(t, admin, "/msgscript/scripts")), &scripts); err != nil {
			t.Fatal(err)
		}
		if len(scripts) == 3 && scripts[0].Error != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the broken version is not reported: %+v", scripts)
		}
		time.Sleep(20 * time.Millisecond)
	}
	broken, fail, hello := scripts[0], scripts[1], scripts[2]
	if broken.Name != "broken" || broken.Version == "" || broken.Stored == "" || broken.Stored == broken.Version ||
		broken.ErrorLine == nil || broken.ErrorLine.Line != 3 || !strings.Contains(broken.Error, "broken.lua:3:") {
		t.Errorf("broken: %+v", broken)
	}
	if fail.Calls.Total != 1 || fail.Calls.Errors != 1 || fail.Calls.LastError == nil || !strings.Contains(fail.Calls.LastError.Msg, "fail.lua:3: no luck") {
		t.Errorf("fail: %+v", fail.Calls)
	}
	if hello.Calls.OK != 3 || hello.Calls.Errors != 0 || hello.Calls.LastCall == nil || hello.Version == "" {
		t.Errorf("hello: %+v", hello)
	}
	var inst engine.Instance
	if err := json.Unmarshal([]byte(adminGet(t, admin, "/msgscript/instance")), &inst); err != nil {
		t.Fatal(err)
	}
	if inst.Service != "msgscript" || inst.ID == "" || inst.Activity.CompileFailures != 1 || inst.Activity.Loads != 3 {
		t.Errorf("instance: %+v", inst)
	}

	metrics := adminGet(t, admin, "/metrics")
	for _, want := range []string{
		`msgscript_calls_total{outcome="ok",script="hello",subject="funcs.hello"} 3`,
		`msgscript_calls_total{outcome="error",script="fail",subject="funcs.fail"} 1`,
		`msgscript_call_duration_seconds_count{subject="funcs.hello"} 3`,
		`msgscript_script_compile_failures_total 1`,
		`msgscript_scripts_not_updated 1`,
		`msgscript_scripts{state="serving"} 3`,
		`msgscript_calls_in_flight 0`,
		"msgscript_memory_limit_bytes ",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
