package engine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// require never reads Lua files from the working directory (a preloader may give it a path; see
// luaenv's lua_path).
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
}
