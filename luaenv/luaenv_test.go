package luaenv_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
	"go.uber.org/zap/zaptest"

	"github.com/msgscript/msgscript/engine"
	"github.com/msgscript/msgscript/luaenv"
	"github.com/msgscript/msgscript/plugins"
	"github.com/msgscript/msgscript/store"
)

// A plugin that reaches nothing and one that reaches files, as plugins register themselves.
func init() {
	plugins.Register(plugins.Plugin{Name: "test_pure", Loader: func(L *lua.LState) int { L.Push(lua.LString("pure")); return 1 }})
	plugins.Register(plugins.Plugin{Name: "test_files", Loader: func(L *lua.LState) int { L.Push(lua.LString("files")); return 1 }, Sandboxed: true})
}

// call runs body as the body of OnMessage in the engine, in the environment p gives, and returns
// what it returned or its error.
func call(t *testing.T, p luaenv.Policy, body string) (string, error) {
	t.Helper()
	return callWith(t, p, luaenv.Services{}, body)
}

// callWith is call on services s.
func callWith(t *testing.T, p luaenv.Policy, s luaenv.Services, body string) (string, error) {
	t.Helper()
	preload, err := luaenv.New(p, s)
	if err != nil {
		t.Fatal(err)
	}
	reg := engine.NewRegistry(engine.Options{Preload: []engine.Preloader{preload}, Logger: zaptest.NewLogger(t)})
	t.Cleanup(reg.Close)
	reg.Replace([]store.Event{{Op: store.OpPut, Item: store.Item{
		Ref:    store.Ref{Kind: store.KindScript, Subject: "funcs.test", Name: "test"},
		Source: []byte("function OnMessage(s, p)\n" + body + "\nend\n"), Origin: "test.lua"}}})
	prog, err := reg.Script("funcs.test", "test")
	if prog == nil {
		t.Fatalf("the script did not load: %v", err)
	}
	return prog.OnMessage(context.Background(), "funcs.test", nil)
}

func mustCall(t *testing.T, p luaenv.Policy, body string) string {
	t.Helper()
	out, err := call(t, p, body)
	if err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	return out
}

var sandbox = luaenv.Policy{Sandbox: true}

func TestSandboxTakesFilesAndProcessesAway(t *testing.T) {
	if got := mustCall(t, luaenv.Policy{}, `return type(io) .. " " .. type(os.execute)`); got != "table function" {
		t.Fatalf("without the sandbox: %q", got)
	}
	for _, c := range []string{`os.execute("true")`, `os.remove("/tmp/x")`, `os.rename("/tmp/x", "/tmp/y")`, `dofile("/etc/hostname")`, `loadfile("/etc/hostname")`, `io.open("/etc/hostname")`, `os.tmpname()`} {
		if _, err := call(t, sandbox, c); err == nil || !strings.Contains(err.Error(), "is not available in msgscript's sandbox") {
			t.Errorf("%s in the sandbox: %v", c, err)
		}
	}
	// What a script needs stays.
	if got := mustCall(t, sandbox, `return string.upper("x") .. os.time() .. tostring(os.clock() >= 0)`); !strings.HasPrefix(got, "X") || !strings.HasSuffix(got, "true") {
		t.Errorf("sandboxed script: %q", got)
	}
}

// The modules and plugins that reach files, processes or the network are left out of the
// sandbox, with a message that says so; the others stay.
func TestSandboxLeavesOutFileProcessAndNetworkModules(t *testing.T) {
	for _, name := range []string{"cmd", "ioutil", "storage", "tac", "tcp", "lfs", "log", "loglevel", "test_files"} {
		_, err := call(t, sandbox, `require("`+name+`")`)
		if err == nil || !strings.Contains(err.Error(), "module "+name+" is not available in msgscript's sandbox") {
			t.Errorf("%s in the sandbox: %v", name, err)
		}
	}
	mustCall(t, sandbox, `require("json") require("re") require("strings") require("http") require("nats") require("kv") assert(require("test_pure") == "pure")`)
	if got := mustCall(t, luaenv.Policy{}, `return require("test_files") .. require("test_pure")`); got != "filespure" {
		t.Errorf("plugins outside the sandbox: %q", got)
	}
}

// In the sandbox, the http module reaches only the listed hosts.
func TestSandboxHTTPHosts(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(201) }))
	defer srv.Close()
	get := fmt.Sprintf(`local r, err = require("http").get(%q) return r and r.status_code or err`, srv.URL+"/ok")
	host := strings.TrimPrefix(srv.URL, "http://")
	if got := mustCall(t, luaenv.Policy{Sandbox: true, HTTPHosts: []string{host}}, get); got != "201" {
		t.Errorf("listed host: %q", got)
	}
	if got := mustCall(t, luaenv.Policy{Sandbox: true, HTTPHosts: []string{"example.com"}}, get); got != `http: host "127.0.0.1" is not in the sandbox's http_hosts` {
		t.Errorf("other host: %q", got)
	}
	if got := mustCall(t, sandbox, get); got != "http: the sandbox allows no host (set http_hosts)" {
		t.Errorf("no http_hosts: %q", got)
	}
	if got := mustCall(t, luaenv.Policy{}, get); got != "201" {
		t.Errorf("outside the sandbox: %q", got)
	}
}

// lua_path lets require read Lua files.
func TestLuaPath(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "local.lua"), []byte("return 'from disk'"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := mustCall(t, luaenv.Policy{LuaPath: filepath.Join(dir, "?.lua")}, `return require("local")`); got != "from disk" {
		t.Errorf("with lua_path: %q", got)
	}
}

func TestPluginDirMustLoad(t *testing.T) {
	if _, err := luaenv.New(luaenv.Policy{PluginDir: filepath.Join(t.TempDir(), "none")}, luaenv.Services{}); err == nil || !strings.Contains(err.Error(), "plugin_dir") {
		t.Fatalf("a missing plugin_dir: %v", err)
	}
}
