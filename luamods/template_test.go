package luamods

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"

	"github.com/msgscript/msgscript/callctx"
)

// A template's text stops at the call's value bound, in and out of a sandbox: its values do not
// bound it (a section repeats its text for each item of a list: 4,000 items and a 900 KiB string
// made 3.6 GB), and mustache goes on after its writer refuses, returning no error.
func TestTemplateTextIsBounded(t *testing.T) {
	file := filepath.Join(t.TempDir(), "t.mustache")
	if err := os.WriteFile(file, []byte("{{#l}}{{x}}{{/l}}"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, loader := range map[string]lua.LGFunction{"outside": templateLoader, "sandbox": templateSandboxLoader} {
		L := lua.NewState()
		defer L.Close()
		L.PreloadModule("template", loader)
		L.SetContext(context.WithValue(context.Background(), callctx.ValueBoundKey, 1000))
		render := `local items = {} for i = 1, %s do items[i] = {} end
			return require("template").choose("mustache"):render("{{#l}}{{x}}{{/l}}", {l = items, x = string.rep("x", 100)})`
		if err := L.DoString(strings.Replace(render, "%s", "9", 1)); err != nil || L.Get(-1).String() != strings.Repeat("x", 900) {
			t.Errorf("%s: 900 bytes under a bound of 1000: %v %.50s", name, err, L.Get(-1))
		}
		err := L.DoString(strings.Replace(render, "%s", "11", 1))
		if err == nil || !strings.Contains(err.Error(), "template: the text would be over 1000 bytes") {
			t.Errorf("%s: 1100 bytes under a bound of 1000: %v", name, err)
		}
	}
	L := lua.NewState()
	defer L.Close()
	L.PreloadModule("template", templateLoader)
	if err := L.DoString(`return require("template").choose("mustache"):render_file("` + file + `", {l = {{}, {}}, x = "ab"})`); err != nil || L.Get(-1).String() != "abab" {
		t.Errorf("render_file: %v %s", err, L.Get(-1))
	}
}
