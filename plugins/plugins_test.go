package plugins_test

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"

	"github.com/msgscript/msgscript/internal/testbin"
	"github.com/msgscript/msgscript/plugins"
)

// A Go .so plugin with a Preload symbol, the original msgscript's way, loads and serves require.
// This test binary does not import plugins/hello, so require("hello") can only come from the .so.
// (An external test package: with test files inside it, package plugins would not match the
// plugin's copy.)
func TestLoadDir(t *testing.T) {
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("Go plugins need cgo and a C compiler")
	}
	dir := t.TempDir()
	args := []string{"build", "-buildmode=plugin", "-o", filepath.Join(dir, "hello.so")}
	if testbin.RaceEnabled {
		args = append(args, "-race") // a plugin only loads into a binary built with the same flags
	}
	if out, err := exec.Command("go", append(args, "github.com/msgscript/msgscript/plugins/hello/plugin")...).CombinedOutput(); err != nil {
		t.Fatalf("building the plugin: %v\n%s", err, out)
	}
	preloads, err := plugins.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(preloads) != 1 {
		t.Fatalf("%d preloads, want 1", len(preloads))
	}
	L := lua.NewState()
	defer L.Close()
	preloads[0](L)
	if err := L.DoString(`greeting = require("hello").print()`); err != nil {
		t.Fatal(err)
	}
	if got := L.GetGlobal("greeting").String(); got != "Hello from a Go plugin!" {
		t.Fatalf("got %q", got)
	}

	if _, err := plugins.LoadDir(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing plugin_dir loaded")
	}
	if p, err := plugins.LoadDir(""); err != nil || p != nil {
		t.Errorf("no plugin_dir: %v %v", p, err)
	}
}

func TestRegistry(t *testing.T) {
	plugins.Register(plugins.Plugin{Name: "test_pure", Loader: func(L *lua.LState) int { L.Push(lua.LString("pure")); return 1 }})
	plugins.Register(plugins.Plugin{Name: "test_files", Loader: func(L *lua.LState) int { L.Push(lua.LString("files")); return 1 }, Sandboxed: true})
	defer func() {
		if recover() == nil {
			t.Error("registering a name twice did not panic")
		}
	}()
	var names []string
	L := lua.NewState()
	defer L.Close()
	for _, p := range plugins.Registered() {
		if strings.HasPrefix(p.Name, "test_") { // the .so of TestLoadDir may have registered hello
			names = append(names, fmt.Sprintf("%s/%v", p.Name, p.Sandboxed))
		}
		L.PreloadModule(p.Name, p.Loader)
	}
	if got := strings.Join(names, " "); got != "test_files/true test_pure/false" {
		t.Errorf("registered: %s", got)
	}
	if err := L.DoString(`assert(require("test_pure") == "pure") assert(require("test_files") == "files")`); err != nil {
		t.Error(err)
	}
	plugins.Register(plugins.Plugin{Name: "test_pure", Loader: func(*lua.LState) int { return 0 }})
}
