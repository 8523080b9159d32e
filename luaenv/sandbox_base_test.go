package luaenv_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/msgscript/msgscript/luaenv"
)

// The attack: os.getenv("ETCD_PASSWORD") read the server's secrets. In the sandbox os.getenv
// reads the variables named in Env alone; outside it, every one, as before.
func TestSandboxGetenvReadsOnlyEnv(t *testing.T) {
	t.Setenv("ETCD_PASSWORD", "s3cret")
	t.Setenv("MSGSCRIPT_TEST_REGION", "eu")
	body := `return tostring(os.getenv("ETCD_PASSWORD")) .. " " .. tostring(os.getenv("MSGSCRIPT_TEST_REGION"))`
	for _, c := range []struct {
		p    luaenv.Policy
		want string
	}{
		{sandbox, "nil nil"},
		{luaenv.Policy{Sandbox: true, Env: []string{"MSGSCRIPT_TEST_REGION", "MSGSCRIPT_TEST_UNSET"}}, "nil eu"},
		{luaenv.Policy{}, "s3cret eu"},
		{luaenv.Policy{Env: []string{"MSGSCRIPT_TEST_REGION"}}, "s3cret eu"},
	} {
		if got := mustCall(t, c.p, body); got != c.want {
			t.Errorf("sandbox %v, env %v: %q, want %q", c.p.Sandbox, c.p.Env, got, c.want)
		}
	}
}

// The attack: package.path belongs to the script, and require read whatever file it named as
// Lua (package.path = "/etc/?" then require("passwd"): the file is read, and run if it parses).
// In the sandbox require reads files from lua_path alone.
func TestSandboxRequireReadsOnlyLuaPath(t *testing.T) {
	dir, libs := t.TempDir(), t.TempDir()
	for path, text := range map[string]string{filepath.Join(dir, "evil.lua"): "return 'read from disk'", filepath.Join(libs, "lib.lua"): "return 'from lua_path'"} {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	body := fmt.Sprintf(`package.path = %q local ok, v = pcall(require, "evil") return tostring(ok) .. " " .. tostring(v)`, filepath.Join(dir, "?.lua"))
	if got := mustCall(t, luaenv.Policy{}, body); got != "true read from disk" {
		t.Errorf("outside the sandbox: %q", got)
	}
	for _, p := range []luaenv.Policy{sandbox, {Sandbox: true, LuaPath: filepath.Join(libs, "?.lua")}} {
		if got := mustCall(t, p, body); !strings.HasPrefix(got, "false") || !strings.Contains(got, "module evil not found") {
			t.Errorf("lua_path %q: %q", p.LuaPath, got)
		}
	}
	if got := mustCall(t, luaenv.Policy{Sandbox: true, LuaPath: filepath.Join(libs, "?.lua")}, `package.path = "" return require("lib")`); got != "from lua_path" {
		t.Errorf("lua_path in the sandbox: %q", got)
	}
}

// The attack: filepath.glob("/etc/pass*") listed the server's files. In the sandbox glob,
// eval_symlinks (reads links) and abs (reads the working directory) raise an error; what only
// works on a path's text stays.
func TestSandboxFilepathWorksOnTextOnly(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "secret.txt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	glob := fmt.Sprintf(`return table.concat(require("filepath").glob(%q), ",")`, filepath.Join(dir, "sec*"))
	if got := mustCall(t, luaenv.Policy{}, glob); got != filepath.Join(dir, "secret.txt") {
		t.Errorf("glob outside the sandbox: %q", got)
	}
	for name, body := range map[string]string{
		"glob":          glob,
		"eval_symlinks": fmt.Sprintf(`return require("filepath").eval_symlinks(%q)`, dir),
		"abs":           `return require("filepath").abs("x")`,
	} {
		if _, err := call(t, sandbox, body); err == nil || !strings.Contains(err.Error(), "filepath."+name+" is not available in msgscript's sandbox") {
			t.Errorf("filepath.%s in the sandbox: %v", name, err)
		}
	}
	pure := `local f = require("filepath")
		return table.concat({f.join("a", "b"), f.basename("/a/b.txt"), f.dir("/a/b"), f.ext("x.lua"), tostring(f.match("*.lua", "x.lua")), f.rel("/a", "/a/b/c"), f.clean("a//b/../c")}, " ")`
	if got := mustCall(t, sandbox, pure); got != "a/b b.txt /a .lua true b/c a/c" {
		t.Errorf("filepath's text functions in the sandbox: %q", got)
	}
}

// The attack: mustache reads a partial ({{> name}}) from the file name, so
// render("{{> /etc/passwd}}", {}) printed the file, as did render_file. In the sandbox render has
// no partials and render_file raises an error.
func TestSandboxTemplateReadsNoFile(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("s3cret"), 0o644); err != nil {
		t.Fatal(err)
	}
	partial := fmt.Sprintf(`local text, err = require("template").choose("mustache"):render("{{> %s}}", {}) return tostring(text) .. " " .. tostring(err)`, secret)
	if got := mustCall(t, luaenv.Policy{}, partial); got != "s3cret nil" {
		t.Errorf("a partial outside the sandbox: %q", got)
	}
	if got := mustCall(t, sandbox, partial); got != fmt.Sprintf("nil template partials ({{> %s}}) are not available in msgscript's sandbox", secret) {
		t.Errorf("a partial in the sandbox: %q", got)
	}
	if _, err := call(t, sandbox, fmt.Sprintf(`return require("template").choose("mustache"):render_file(%q, {})`, secret)); err == nil || !strings.Contains(err.Error(), "template's render_file is not available in msgscript's sandbox") {
		t.Errorf("render_file in the sandbox: %v", err)
	}
	// Templates render as they do outside.
	render := `local m = require("template").choose("mustache")
		local e1, e2 = require("template").choose("jinja")
		return m:render("Hi {{name}}: {{#items}}{{.}},{{/items}} {{&html}}", {name = "<Ann>", items = {"a", "b"}, html = "<b>"}) .. " " .. tostring(e1) .. " " .. e2`
	want := mustCall(t, luaenv.Policy{}, render)
	if got := mustCall(t, sandbox, render); got != want || !strings.HasPrefix(got, "Hi &lt;Ann&gt;: a,b, <b> nil unknown template engine: jinja") {
		t.Errorf("rendering in the sandbox: %q, outside: %q", got, want)
	}
}

// What the sandbox leaves of os and the pure modules works: the clock, the date, the platform.
func TestSandboxKeepsTheClock(t *testing.T) {
	got := mustCall(t, sandbox, `return os.date("!%Y-%m-%d", 86400) .. " " .. os.difftime(10, 4) .. " " .. type(os.clock()) .. " " .. type(os.time()) .. " " .. require("time").format(0, "2006", "UTC") .. " " .. type(require("runtime").goos())`)
	if got != "1970-01-02 6 number number 1970 string" {
		t.Errorf("os and time in the sandbox: %q", got)
	}
}
