package main

import (
	"strings"
	"testing"

	"github.com/msgscript/msgscript/internal/testetcd"
	"github.com/msgscript/msgscript/internal/testfiles"
)

// lib rm refuses a library that stored scripts require, directly or through another library,
// naming them; --force removes it anyway.
func TestLibRmRequired(t *testing.T) {
	etcd := testetcd.Start(t)
	e := "--etcdurls=" + etcd.Endpoint()
	dir := testfiles.Dir(t, map[string]string{
		"libs/greeting.lua": "--* require: punct\nfunction greet(who) return 'Hello, ' .. who .. bang() end\n",
		"libs/punct.lua":    "function bang() return '!' end\n",
		"libs/unused.lua":   "function nothing() end\n",
		"greet.lua":         "--* subject: funcs.greet\n--* require: greeting\nfunction OnMessage(s, p) return greet(p) end\n",
		"shout.lua":         "--* subject: funcs.shout\n--* name: loud\n--* require: punct\nfunction OnMessage(s, p) return p .. bang() end\n",
	})
	ok(t, dir, e, "lib", "add", "libs")
	ok(t, dir, e, "add", "greet.lua", "shout.lua")

	fails(t, dir, 1, "library greeting is required by funcs.greet/greet; nothing removed (--force removes it anyway)", e, "lib", "rm", "greeting")
	fails(t, dir, 1, "library punct is required by funcs.greet/greet, funcs.shout/loud;", e, "lib", "rm", "punct")
	if got := keys(t, etcd.Client()); !strings.Contains(got, "msgscript/libs/greeting=") || !strings.Contains(got, "msgscript/libs/punct=") {
		t.Fatalf("a refused lib rm removed the library:\n%s", got)
	}
	ok(t, dir, e, "lib", "rm", "unused")

	if out := ok(t, dir, e, "lib", "rm", "--force", "punct"); out != "removed library punct\n" {
		t.Errorf("lib rm --force said %q", out)
	}
	if got := keys(t, etcd.Client()); strings.Contains(got, "msgscript/libs/punct=") {
		t.Errorf("lib rm --force left the library:\n%s", got)
	}
	fails(t, dir, 1, "no library punct", e, "lib", "rm", "punct")
}
