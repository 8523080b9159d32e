package main

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/msgscript/msgscript/internal/testbin"
	"github.com/msgscript/msgscript/internal/testetcd"
	"github.com/msgscript/msgscript/internal/testfiles"
)

// dev's payload: -i is always the text (a word naming a file is not read), -i @FILE and -f FILE
// read one, a pipe is read, and with none of them dev says so rather than run on nothing.
func TestDevPayload(t *testing.T) {
	dir := testfiles.Dir(t, map[string]string{
		"echo.lua":    "--* subject: funcs.echo\nfunction OnMessage(s, p) return p end\n",
		"payload.txt": "from a file",
	})
	cases := []struct {
		stdin string
		args  []string
		want  string
	}{
		{"", []string{"-i", "payload.txt"}, "payload.txt"},
		{"", []string{"-i", "@payload.txt"}, "from a file"},
		{"", []string{"-f", "payload.txt"}, "from a file"},
		{"piped", []string{"-f", "-"}, "piped"},
		{"piped", nil, "piped"},
		{"piped", []string{"-i", ""}, ""},
	}
	for _, c := range cases {
		r := cliStdin(t, dir, c.stdin, append([]string{"dev", "echo.lua"}, c.args...)...)
		if want := `{"echo":"` + c.want + `"}` + "\n"; r.code != 0 || r.stdout != want {
			t.Errorf("dev %v (stdin %q): exit %d %q %s; want %q", c.args, c.stdin, r.code, r.stdout, r.stderr, want)
		}
	}
	fails(t, dir, 2, "-i and -f both give the payload", "dev", "echo.lua", "-i", "x", "-f", "payload.txt")
	fails(t, dir, 1, "no such file", "dev", "echo.lua", "-i", "@nope.txt")

	// stdin a terminal-like device (here /dev/null, as an interactive shell's would be): no payload.
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	cmd := exec.Command(testbin.Build(t, "github.com/msgscript/msgscript/cmd/msgscriptcli"), "dev", "echo.lua")
	cmd.Dir, cmd.Stdin = dir, null
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); cmd.ProcessState.ExitCode() != 2 || !strings.Contains(stderr.String(), "no payload: pass -i TEXT") {
		t.Errorf("dev without a payload: %v, %q", err, stderr.String())
	}
}

// Each command's help offers the flags it uses: --plugin only where scripts run here, --sandbox
// as the switch it is.
func TestHelpShowsEachCommandsFlags(t *testing.T) {
	dir := t.TempDir()
	dev := ok(t, dir, "dev", "--help")
	if !strings.Contains(dev, "--plugin string") || strings.Contains(dev, "--sandbox sandbox") || !strings.Contains(dev, "--sandbox ") {
		t.Errorf("dev --help:\n%s", dev)
	}
	for _, cmd := range []string{"ls", "add", "rm", "invoke", "status"} {
		if help := ok(t, dir, cmd, "--help"); strings.Contains(help, "--plugin") {
			t.Errorf("%s --help offers --plugin:\n%s", cmd, help)
		}
	}
	if help := ok(t, dir, "devhttp", "--help"); !strings.Contains(help, "7680") || strings.Contains(help, "--port int    port to listen on (default 7634)") {
		t.Errorf("devhttp --help:\n%s", help)
	}
}

// A `--* reply: raw` script must be alone on its subject: add refuses to put it beside another,
// or another beside it, and stores nothing.
func TestAddKeepsRawReplyScriptsAlone(t *testing.T) {
	etcd := testetcd.Start(t)
	e := "--etcdurls=" + etcd.Endpoint()
	dir := testfiles.Dir(t, map[string]string{
		"raw.lua":    "--* subject: funcs.x\n--* name: raw\n--* reply: raw\nfunction OnMessage(s, p) return p end\n",
		"json.lua":   "--* subject: funcs.x\n--* name: json\nfunction OnMessage(s, p) return p end\n",
		"raw2.lua":   "--* subject: funcs.y\n--* name: raw2\n--* reply: raw\nfunction OnMessage(s, p) return p end\n",
		"second.lua": "--* subject: funcs.y\n--* name: second\nfunction OnMessage(s, p) return p end\n",
	})
	ok(t, dir, e, "add", "raw.lua")
	fails(t, dir, 1, "funcs.x has a `--* reply: raw` script (raw), which must be the only one there", e, "add", "json.lua")
	ok(t, dir, e, "add", "raw.lua") // itself again is no conflict
	ok(t, dir, e, "rm", "funcs.x", "raw")
	ok(t, dir, e, "add", "json.lua")
	fails(t, dir, 1, "raw.lua: a `--* reply: raw` script must be alone on funcs.x (its return value is the whole reply); also there: json", e, "add", "raw.lua")
	// Within one add, too.
	fails(t, dir, 1, "must be alone on funcs.y (its return value is the whole reply); also there: second", e, "add", "raw2.lua", "second.lua")
	if k := keys(t, etcd.Client()); strings.Contains(k, "raw") || strings.Contains(k, "second") {
		t.Errorf("stored:\n%s", k)
	}
}

// add -s under another subject than the script's header stores it there, and says so.
func TestAddUnderAnotherSubjectWarns(t *testing.T) {
	etcd := testetcd.Start(t)
	dir := testfiles.Dir(t, map[string]string{"hello.lua": helloScript})
	r := cli(t, dir, "--etcdurls="+etcd.Endpoint(), "add", "-s", "funcs.other", "hello.lua")
	if r.code != 0 || !strings.Contains(r.stderr, `hello.lua:1: header subject "funcs.hello" differs from -s funcs.other`) {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
	if !strings.Contains(keys(t, etcd.Client()), "msgscript/scripts/funcs.other/hello=") {
		t.Errorf("stored:\n%s", keys(t, etcd.Client()))
	}
}

// Test files sit beside the scripts and libraries; add and lib add -r leave them out.
func TestAddLeavesTestFilesOut(t *testing.T) {
	etcd := testetcd.Start(t)
	e := "--etcdurls=" + etcd.Endpoint()
	dir := testfiles.Dir(t, map[string]string{
		"hello.lua":            helloScript,
		"hello_test.lua":       "function TestHello() end\n",
		"libs/util.lua":        "function util() end\n",
		"libs/util_test.lua":   "function TestUtil() end\n",
		"libs/more/deep.lua":   "function deep() end\n",
		"libs/more/x_test.lua": "function TestX() end\n",
	})
	fails(t, dir, 1, "hello_test.lua: a test file (*_test.lua) is no script: run it with msgscriptcli test", e, "add", "hello.lua", "hello_test.lua")
	ok(t, dir, e, "lib", "add", "-r", "libs")
	if k := keys(t, etcd.Client()); strings.Contains(k, "_test") || !strings.Contains(k, "msgscript/libs/deep=") || !strings.Contains(k, "msgscript/libs/util=") {
		t.Errorf("stored:\n%s", k)
	}
}
