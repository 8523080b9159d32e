package engine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSandboxTakesFilesAndProcessesAway(t *testing.T) {
	free := newTestProgram(t, `function OnMessage() return type(io) .. " " .. type(os.execute) end`, nil, Options{})
	if got := onMessage(t, free, ""); got != "table function" {
		t.Fatalf("without the sandbox: %q", got)
	}
	for _, call := range []string{`os.execute("true")`, `os.remove("/tmp/x")`, `os.rename("/tmp/x", "/tmp/y")`, `dofile("/etc/hostname")`, `loadfile("/etc/hostname")`, `io.open("/etc/hostname")`, `os.tmpname()`} {
		p := newTestProgram(t, "function OnMessage() "+call+" end", nil, Options{Sandbox: true})
		ce := callError(t, p, "")
		if !strings.Contains(ce.Msg, "is not available in msgscript's sandbox") {
			t.Errorf("%s in the sandbox: %q", call, ce.Msg)
		}
	}
	// What a script needs stays.
	p := newTestProgram(t, `function OnMessage(s, p) return string.upper(p) .. os.time() .. tostring(os.clock() >= 0) end`, nil, Options{Sandbox: true})
	if got := onMessage(t, p, "x"); !strings.HasPrefix(got, "X") || !strings.HasSuffix(got, "true") {
		t.Errorf("sandboxed script: %q", got)
	}
}

// require never reads Lua files from the working directory unless lua_path allows it.
func TestRequireReadsNoFilesByDefault(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "local.lua"), []byte("return 'from disk'"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	p := newTestProgram(t, `function OnMessage() return require("local") end`, nil, Options{})
	if ce := callError(t, p, ""); !strings.Contains(ce.Msg, "module local not found") {
		t.Errorf("require read the working directory: %q", ce.Msg)
	}
	allowed := newTestProgram(t, `function OnMessage() return require("local") end`, nil, Options{LuaPath: filepath.Join(dir, "?.lua")})
	if got := onMessage(t, allowed, ""); got != "from disk" {
		t.Errorf("with lua_path: %q", got)
	}
}
