package luamods

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/msgscript/msgscript/callctx"
)

// A command's output is bounded as a template's text: `yes` filled memory until the memory
// guard ended every running call. Past the bound the command is ended and exec fails.
func TestCmdExecOutputIsBounded(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	L.PreloadModule("cmd", cmdLoader)
	L.SetContext(context.WithValue(context.Background(), callctx.ValueBoundKey, 1000))
	start := time.Now()
	if err := L.DoString(`local r, err = require("cmd").exec("yes", 30) return tostring(r) .. " " .. tostring(err)`); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("yes ran %s: it was not ended at the bound", d)
	}
	if got := L.Get(-1).String(); got != "nil cmd.exec: the output would be over 1000 bytes, the largest value a call may make (a quarter of memory_limit)" {
		t.Errorf("cmd.exec(\"yes\") under a bound of 1000 bytes: %s", got)
	}
	if err := L.DoString(`return require("cmd").exec("head -c 900 /dev/zero | tr '\\0' x", 30).stdout`); err != nil || len(L.Get(-1).String()) != 900 {
		t.Errorf("900 bytes under a bound of 1000: %v %d", err, len(L.Get(-1).String()))
	}
}

// Files read whole (ioutil.read_file, template's render_file) stop at the bound: /dev/zero ended
// the process.
func TestFilesReadWholeAreBounded(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	L.PreloadModule("ioutil", ioutilLoader)
	L.PreloadModule("template", templateLoader)
	L.SetContext(context.WithValue(context.Background(), callctx.ValueBoundKey, 1000))
	small := filepath.Join(t.TempDir(), "small")
	if err := os.WriteFile(small, make([]byte, 900), 0o644); err != nil {
		t.Fatal(err)
	}
	for code, want := range map[string]string{
		`return select(2, require("ioutil").read_file("/dev/zero"))`:                            "ioutil.read_file: the file would be over 1000 bytes",
		`return select(2, require("template").choose("mustache"):render_file("/dev/zero", {}))`: "template: the file would be over 1000 bytes",
		`return #require("ioutil").read_file("/proc/self/cmdline") > 0 and "read" or "empty"`:   "read",
	} {
		if err := L.DoString(code); err != nil || !strings.HasPrefix(L.Get(-1).String(), want) {
			t.Errorf("%s: %v %q, want %q", code, err, L.Get(-1), want)
		}
		L.SetTop(0)
	}
}
