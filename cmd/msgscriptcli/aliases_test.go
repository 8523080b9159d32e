package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/msgscript/msgscript/internal/testetcd"
	"github.com/msgscript/msgscript/internal/testfiles"
)

// lib add -n/--name names one library file; the original CLI spelled it --name.
func TestLibAddName(t *testing.T) {
	etcd := testetcd.Start(t)
	e := "--etcdurls=" + etcd.Endpoint()
	dir := testfiles.Dir(t, map[string]string{
		"libs/punct.lua":    "--* name: headername\nfunction bang() return '!' end\n",
		"libs/greeting.lua": "function greet(who) return 'Hello, ' .. who end\n",
	})
	if out := ok(t, dir, e, "lib", "add", "--name", "bang", "libs/punct.lua"); !strings.Contains(out, "added library bang") {
		t.Errorf("lib add --name said %q", out)
	}
	ok(t, dir, e, "lib", "add", "-n", "hello", "libs/greeting.lua")
	// The flag wins over the `--* name:` header, as add's -n does.
	want := "msgscript/libs/bang=--* name: headername\nfunction bang() return '!' end\n\n" +
		"msgscript/libs/hello=function greet(who) return 'Hello, ' .. who end\n"
	if got := keys(t, etcd.Client()); got != want {
		t.Errorf("etcd holds:\n%s", got)
	}
	fails(t, dir, 2, "pass one FILE", e, "lib", "add", "-n", "x", "libs/punct.lua", "libs/greeting.lua")
	fails(t, dir, 2, "pass one FILE", e, "lib", "add", "-n", "x", "libs")
	fails(t, dir, 2, "lib add -n", e, "lib", "add", "-n", "a/b", "libs/punct.lua")
}

// dev takes the original CLI's --library and --pluginDir, and keeps them out of its help.
func TestDevFlagAliases(t *testing.T) {
	dir := testfiles.Dir(t, map[string]string{
		"greet.lua":          "--* subject: funcs.greet\n--* require: greeting\nfunction OnMessage(s, p) return greet(p) end\n",
		"libs/greeting.lua":  "function greet(who) return 'Hello, ' .. who end\n",
		"other/greeting.lua": "function greet(who) return 'HEY ' .. who end\n",
	})
	if got := ok(t, dir, "dev", "greet.lua", "--library", "other", "-i", "Ann"); got != `{"greet":"HEY Ann"}`+"\n" {
		t.Errorf("dev --library other: %q", got)
	}
	// A folder that is not there is refused by the plugin loader, as with -p.
	fails(t, dir, 1, "plugin_dir", "dev", "greet.lua", "--pluginDir", filepath.Join(dir, "missing"), "-i", "Ann")
	help := ok(t, dir, "dev", "--help")
	if strings.Contains(help, "library") || strings.Contains(help, "pluginDir") {
		t.Errorf("dev --help shows the aliases:\n%s", help)
	}
}
