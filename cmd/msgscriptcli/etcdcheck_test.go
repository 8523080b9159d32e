package main

import (
	"strconv"
	"testing"

	"github.com/msgscript/msgscript/internal/testfiles"
	"github.com/msgscript/msgscript/internal/testnet"
)

// Every command on the store fails at once, in the same words, when nothing listens at
// --etcdurls: before, each waited out --timeout (10s) and said it its own way.
func TestEtcdDown(t *testing.T) {
	endpoint := "127.0.0.1:" + strconv.Itoa(testnet.FreePort(t))
	dir := testfiles.Dir(t, map[string]string{"hello.lua": helloScript, "punct.lua": "function bang() return '!' end\n"})
	want := "msgscriptcli: cannot reach etcd at " + endpoint + ": connection refused; is etcd running at " + endpoint + "?\n"
	for _, cmd := range [][]string{
		{"ls"},
		{"add", "hello.lua"},
		{"show", "-s", "funcs.hello", "-n", "hello"},
		{"rm", "-s", "funcs.hello", "-n", "hello"},
		{"lib", "add", "punct.lua"},
		{"lib", "rm", "punct"},
		{"history", "funcs.hello", "hello"},
		{"lib", "rollback", "punct"},
	} {
		r := cli(t, dir, append([]string{"-e", endpoint}, cmd...)...)
		if r.code != 1 || r.stderr != want {
			t.Errorf("msgscriptcli %v: exit %d, stderr %q; want exit 1 and %q", cmd, r.code, r.stderr, want)
		}
	}
	// An http:// endpoint is checked the same way, and named as given.
	url := "http://" + endpoint
	fails(t, dir, 1, "cannot reach etcd at "+url+": connection refused; is etcd running at "+url+"?", "-e", url, "ls")
}
