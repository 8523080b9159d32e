package main

import (
	"strings"
	"testing"

	"github.com/msgscript/msgscript/internal/testetcd"
	"github.com/msgscript/msgscript/internal/testfiles"
)

// add stores a script whose headers it partly ignores, as the server runs it, and says which
// lines and what they may have meant; dev runs it the same way.
func TestAddWarnsOfIgnoredHeaders(t *testing.T) {
	etcd := testetcd.Start(t)
	dir := testfiles.Dir(t, map[string]string{"old.lua": "--* subject: funcs.old\n--* TODO: tidy this\n--* timout: 5s\nfunction OnMessage(s, p) return 'ran' end\n"})
	r := cli(t, dir, "--etcdurls="+etcd.Endpoint(), "add", "old.lua")
	if r.code != 0 {
		t.Fatalf("add: exit %d\n%s", r.code, r.stderr)
	}
	for _, want := range []string{
		`msgscriptcli: warning: old.lua:2: unknown header "todo", ignored`,
		`msgscriptcli: warning: old.lua:3: unknown header "timout", ignored (did you mean timeout?)`,
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if out := ok(t, dir, "--etcdurls="+etcd.Endpoint(), "show", "-s", "funcs.old", "-n", "old"); !strings.Contains(out, "TODO: tidy this") {
		t.Errorf("not stored:\n%s", out)
	}
	if r := cli(t, dir, "dev", "old.lua", "-i", "x"); r.code != 0 || !strings.Contains(r.stdout, `"old":"ran"`) || !strings.Contains(r.stderr, "did you mean timeout?") {
		t.Errorf("dev: %d %q %q", r.code, r.stdout, r.stderr)
	}
}

// Adding the text already stored changes nothing: no new etcd revision, no copy in the history.
func TestAddSameTextAgain(t *testing.T) {
	etcd := testetcd.Start(t)
	e := "--etcdurls=" + etcd.Endpoint()
	dir := testfiles.Dir(t, map[string]string{"hello.lua": helloScript})
	ok(t, dir, e, "add", "hello.lua")
	_, rev := current(t, etcd.Client(), "msgscript/scripts/funcs.hello/hello")
	if out := ok(t, dir, e, "add", "hello.lua"); !strings.HasPrefix(out, "unchanged funcs.hello/hello") {
		t.Errorf("second add said %q", out)
	}
	if _, again := current(t, etcd.Client(), "msgscript/scripts/funcs.hello/hello"); again != rev {
		t.Errorf("revision %d -> %d for the same text", rev, again)
	}
}
