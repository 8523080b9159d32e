package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/msgscript/msgscript/internal/testbin"
	"github.com/msgscript/msgscript/internal/testetcd"
	"github.com/msgscript/msgscript/internal/testfiles"
	"github.com/msgscript/msgscript/internal/testnats"
)

// End-to-end tests: the built msgscriptcli against a real etcd, checked through etcd's own client.

const helloScript = `--* subject: funcs.hello
--* name: hello
function OnMessage(subject, payload)
    return "Processed subject: " .. subject .. " with payload: " .. payload
end
`

type result struct {
	stdout, stderr string
	code           int
}

// cli runs msgscriptcli with args in dir.
func cli(t *testing.T, dir string, args ...string) result {
	t.Helper()
	return cliStdin(t, dir, "", args...)
}

// cliStdin is cli with stdin holding the given text.
func cliStdin(t *testing.T, dir, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(testbin.Build(t, "github.com/msgscript/msgscript/cmd/msgscriptcli"), args...)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = append(os.Environ(), "ETCD_ENDPOINTS=", "NATS_URL=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		r.code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return r
}

// ok runs a command that must succeed.
func ok(t *testing.T, dir string, args ...string) string {
	t.Helper()
	r := cli(t, dir, args...)
	if r.code != 0 {
		t.Fatalf("msgscriptcli %s: exit %d\n%s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

// fails runs a command that must fail with code and say want on stderr.
func fails(t *testing.T, dir string, code int, want string, args ...string) {
	t.Helper()
	r := cli(t, dir, args...)
	if r.code != code || !strings.Contains(r.stderr, want) {
		t.Fatalf("msgscriptcli %s: exit %d, stderr %q; want exit %d and %q", strings.Join(args, " "), r.code, r.stderr, code, want)
	}
}

// keys lists what etcd holds under msgscript/, as key=value lines.
func keys(t *testing.T, cli *clientv3.Client) string {
	t.Helper()
	resp, err := cli.Get(context.Background(), "msgscript/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, kv := range resp.Kvs {
		lines = append(lines, string(kv.Key)+"="+string(kv.Value))
	}
	return strings.Join(lines, "\n")
}

func TestScriptCommands(t *testing.T) {
	etcd := testetcd.Start(t)
	e := "--etcdurls=" + etcd.Endpoint()
	dir := testfiles.Dir(t, map[string]string{
		"hello.lua": helloScript,
		"plain.lua": "function OnMessage(s, p) return 'plain' end\n",
	})

	out := ok(t, dir, e, "add", "hello.lua")
	if !strings.Contains(out, "added funcs.hello/hello") {
		t.Errorf("add said %q", out)
	}
	// The older server's key layout: the raw text under msgscript/scripts/<subject>/<name>.
	if got := keys(t, etcd.Client()); got != "msgscript/scripts/funcs.hello/hello="+helloScript {
		t.Fatalf("etcd holds:\n%s", got)
	}
	// A script without headers takes its subject from -s and its name from the file.
	ok(t, dir, e, "add", "-s", "other.plain", "plain.lua")
	ok(t, dir, e, "add", "-s", "other.plain", "-n", "renamed", "plain.lua")

	list := ok(t, dir, e, "list")
	for _, want := range []string{"SUBJECT", "funcs.hello  hello", "other.plain  plain", "other.plain  renamed"} {
		if !strings.Contains(list, want) {
			t.Errorf("list lacks %q:\n%s", want, list)
		}
	}
	if !strings.Contains(list, "revision ") || !strings.Contains(list, "  "+strconv.Itoa(len(helloScript))+"  ") {
		t.Errorf("list lacks size or last change:\n%s", list)
	}
	if ls := ok(t, dir, e, "ls", "other."); strings.Contains(ls, "funcs.hello") || !strings.Contains(ls, "renamed") {
		t.Errorf("ls other. gave:\n%s", ls)
	}

	if got := ok(t, dir, e, "show", "-s", "funcs.hello", "-n", "hello"); got != helloScript {
		t.Errorf("show gave %q", got)
	}
	fails(t, dir, 1, "no script funcs.hello/nope", e, "show", "-s", "funcs.hello", "-n", "nope")

	ok(t, dir, e, "rm", "-s", "other.plain", "-n", "renamed")
	fails(t, dir, 1, "no script other.plain/renamed", e, "rm", "-s", "other.plain", "-n", "renamed")
	fails(t, dir, 2, "-s SUBJECT and -n NAME", e, "rm", "-s", "other.plain")
	// SUBJECT NAME as arguments, as history and rollback take them.
	if got := ok(t, dir, e, "show", "funcs.hello", "hello"); got != helloScript {
		t.Errorf("show SUBJECT NAME gave %q", got)
	}
	fails(t, dir, 2, "name the script as SUBJECT NAME", e, "rm", "other.plain")
	fails(t, dir, 2, "name the script as SUBJECT NAME", e, "rm", "other.plain", "plain", "-n", "plain")
	if got := ok(t, dir, e, "rm", "other.plain", "plain"); got != "removed other.plain/plain\n" {
		t.Errorf("rm SUBJECT NAME said %q", got)
	}
	if strings.Contains(keys(t, etcd.Client()), "renamed") {
		t.Error("rm left the key")
	}
}

// A broken script is refused with file:line and nothing is stored, not even the good files added
// with it.
func TestAddRefusesWhatDoesNotCompile(t *testing.T) {
	etcd := testetcd.Start(t)
	e := "--etcdurls=" + etcd.Endpoint()
	dir := testfiles.Dir(t, map[string]string{
		"good.lua":     helloScript,
		"broken.lua":   "--* subject: funcs.broken\nfunction OnMessage(s, p)\n  return p +\nend\n",
		"needslib.lua": "--* subject: funcs.lib\n--* require: missing\nfunction OnMessage(s, p) return p end\n",
		"nosubj.lua":   "function OnMessage(s, p) return p end\n",
		"badhdr.lua":   "--* subject: funcs.x\n--* timeout: soon\n",
		"badsubj.lua":  "--* subject: funcs.>.x\n",
	})
	fails(t, dir, 1, "broken.lua:4:", e, "add", "good.lua", "broken.lua")
	fails(t, dir, 1, "missing", e, "add", "needslib.lua")
	fails(t, dir, 1, "nosubj.lua: no subject", e, "add", "nosubj.lua")
	fails(t, dir, 1, "badhdr.lua:2:", e, "add", "badhdr.lua")
	fails(t, dir, 1, "badsubj.lua", e, "add", "badsubj.lua")
	fails(t, dir, 1, "no such file", e, "add", "absent.lua")
	fails(t, dir, 2, "one FILE", e, "add", "-n", "x", "good.lua", "broken.lua")
	if got := keys(t, etcd.Client()); got != "" {
		t.Fatalf("refused scripts were stored:\n%s", got)
	}
}

func TestLibraryCommands(t *testing.T) {
	etcd := testetcd.Start(t)
	e := "--etcdurls=" + etcd.Endpoint()
	dir := testfiles.Dir(t, map[string]string{
		"libs/greeting.lua":    "--* require: punct\nfunction greet(who) return 'Hello, ' .. who .. bang() end\n",
		"libs/punct.lua":       "function bang() return '!' end\n",
		"libs/deep/named.lua":  "--* name: web\nfunction page() return '<p>' end\n",
		"broken/lib.lua":       "function f(\n",
		"uses.lua":             "--* subject: funcs.greet\n--* require: greeting\nfunction OnMessage(s, p) return greet(p) end\n",
		"uses-missing-lib.lua": "--* subject: funcs.greet2\n--* require: web\nfunction OnMessage(s, p) return page() end\n",
	})
	// The script needs a library that is not stored yet.
	fails(t, dir, 1, "greeting", e, "add", "uses.lua")

	// Libraries that require each other are added together; without -r sub-folders are skipped.
	out := ok(t, dir, e, "lib", "add", "libs")
	if !strings.Contains(out, "added library greeting") || !strings.Contains(out, "added library punct") || strings.Contains(out, "web") {
		t.Errorf("lib add libs said:\n%s", out)
	}
	ok(t, dir, e, "add", "uses.lua")
	fails(t, dir, 1, "web", e, "add", "uses-missing-lib.lua")
	if out := ok(t, dir, e, "lib", "add", "-r", "libs"); !strings.Contains(out, "added library web") {
		t.Errorf("lib add -r said:\n%s", out)
	}
	ok(t, dir, e, "add", "uses-missing-lib.lua")
	fails(t, dir, 1, "lib.lua:1: syntax error at end of file", e, "lib", "add", "broken")

	list := ok(t, dir, e, "lib", "list")
	for _, want := range []string{"NAME", "greeting", "punct", "web"} {
		if !strings.Contains(list, want) {
			t.Errorf("lib list lacks %q:\n%s", want, list)
		}
	}
	if got := ok(t, dir, e, "lib", "show", "punct"); got != "function bang() return '!' end\n" {
		t.Errorf("lib show gave %q", got)
	}
	if !strings.Contains(keys(t, etcd.Client()), "msgscript/libs/web=--* name: web\n") {
		t.Errorf("library key layout:\n%s", keys(t, etcd.Client()))
	}
	ok(t, dir, e, "lib", "rm", "--force", "web") // uses-missing-lib.lua requires it
	fails(t, dir, 1, "no library web", e, "lib", "rm", "web")
	fails(t, dir, 1, "no library web", e, "lib", "show", "web")
	fails(t, dir, 2, "accepts 1 arg", e, "lib", "rm")
}

func TestDev(t *testing.T) {
	dir := testfiles.Dir(t, map[string]string{
		"hello.lua":          helloScript,
		"payload.txt":        "from a file",
		"fail.lua":           "--* subject: funcs.fail\nfunction OnMessage(s, p)\n  error('boom')\nend\n",
		"broken.lua":         "--* subject: funcs.broken\nfunction OnMessage(s, p)\n",
		"loop.lua":           "--* subject: funcs.loop\n--* timeout: 100ms\nfunction OnMessage(s, p) while true do end end\n",
		"libs/greeting.lua":  "function greet(who) return 'Hello, ' .. who end\n",
		"greet.lua":          "--* subject: funcs.greet\n--* require: greeting\nfunction OnMessage(s, p) return greet(p) end\n",
		"other/greeting.lua": "function greet(who) return 'HEY ' .. who end\n",
	})
	if got := ok(t, dir, "dev", "hello.lua", "-i", "John"); got != `{"hello":"Processed subject: funcs.hello with payload: John"}`+"\n" {
		t.Errorf("dev hello: %q", got)
	}
	if got := ok(t, dir, "dev", "hello.lua", "-i", "@payload.txt", "-s", "funcs.x", "-n", "h"); got != `{"h":"Processed subject: funcs.x with payload: from a file"}`+"\n" {
		t.Errorf("dev with a payload file and overrides: %q", got)
	}
	// libs/ next to the script is found by itself; -l names another folder.
	if got := ok(t, dir, "dev", "greet.lua", "-i", "Ann"); got != `{"greet":"Hello, Ann"}`+"\n" {
		t.Errorf("dev greet: %q", got)
	}
	if got := ok(t, dir, "dev", "greet.lua", "-l", "other", "-i", "Ann"); !strings.Contains(got, "HEY Ann") {
		t.Errorf("dev greet -l other: %q", got)
	}
	fails(t, dir, 1, "fail.lua:3: boom", "dev", "fail.lua", "-i", "x")
	fails(t, dir, 1, "broken.lua:2: syntax error at end of file", "dev", "broken.lua", "-i", "x")
	fails(t, dir, 1, "(504)", "dev", "loop.lua", "-i", "x")
}

// With --backend dir the same commands work on a folder, as the server's folder store reads it.
func TestDirBackend(t *testing.T) {
	scripts := t.TempDir()
	dir := testfiles.Dir(t, map[string]string{"hello.lua": helloScript, "libs/punct.lua": "function bang() return '!' end\n"})
	d := []string{"-b", "dir", "--dir", scripts}
	ok(t, dir, append(d, "add", "hello.lua")...)
	ok(t, dir, append(d, "lib", "add", "libs")...)
	if _, err := os.Stat(filepath.Join(scripts, "hello.lua")); err != nil {
		t.Errorf("the script file: %v", err)
	}
	if _, err := os.Stat(filepath.Join(scripts, "libs", "punct.lua")); err != nil {
		t.Errorf("the library file: %v", err)
	}
	if got := ok(t, dir, append(d, "show", "-s", "funcs.hello", "-n", "hello")...); got != helloScript {
		t.Errorf("show: %q", got)
	}
	if list := ok(t, dir, append(d, "ls")...); !strings.Contains(list, "funcs.hello  hello") {
		t.Errorf("ls:\n%s", list)
	}
	ok(t, dir, append(d, "rm", "-s", "funcs.hello", "-n", "hello")...)
	// A name made of a file name that holds an ESC sequence: listed, it must not act on the terminal.
	testfiles.Write(t, scripts, map[string]string{"n\x1b]0;TITLE\x07.lua": "--* subject: funcs.esc\n"})
	if list := ok(t, dir, append(d, "ls")...); !strings.Contains(list, `n\x1b]0;TITLE\x07`) {
		t.Errorf("ls of a name with an ESC sequence:\n%q", list)
	}
	fails(t, dir, 2, "--dir PATH", "-b", "dir", "ls")
	fails(t, dir, 2, "want etcd or dir", "-b", "consul", "ls")
}

func TestUnreachableEtcd(t *testing.T) {
	fails(t, t.TempDir(), 1, "is etcd running", "--etcdurls", "127.0.0.1:1", "--timeout", "500ms", "ls")
	fails(t, t.TempDir(), 2, "unknown flag", "--bogus", "ls")
}

// dev runs scripts with the server's modules: nats on --natsurl, the bundled plugins, the
// sandbox on request.
func TestDevWithModules(t *testing.T) {
	ns := testnats.Start(t)
	nc := testnats.Connect(t, ns.ClientURL())
	if _, err := nc.Subscribe("svc.upper", func(m *nats.Msg) { _ = m.Respond([]byte(strings.ToUpper(string(m.Data)))) }); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	dir := testfiles.Dir(t, map[string]string{
		"ask.lua":    "--* subject: funcs.ask\nfunction OnMessage(s, p) local r, err = require('nats').request('svc.upper', p) return r or err end\n",
		"plugin.lua": "--* subject: funcs.plugin\nfunction OnMessage() return require('hello').print() .. ' ' .. #require('scrape').find_text_by_tag('<b>x</b>', 'b') end\n",
		"files.lua":  "--* subject: funcs.files\nfunction OnMessage() return io.open('/etc/hostname') end\n",
	})
	if got := ok(t, dir, "-u", ns.ClientURL(), "dev", "ask.lua", "-i", "shout"); got != `{"ask":"SHOUT"}`+"\n" {
		t.Errorf("nats module: %q", got)
	}
	if got := ok(t, dir, "dev", "ask.lua", "-i", "x"); got != `{"ask":"nats: not connected"}`+"\n" {
		t.Errorf("without --natsurl: %q", got)
	}
	if got := ok(t, dir, "dev", "plugin.lua", "-i", ""); got != `{"plugin":"Hello from a Go plugin! 1"}`+"\n" {
		t.Errorf("plugins: %q", got)
	}
	fails(t, dir, 1, "io.open is not available in msgscript's sandbox", "dev", "--sandbox", "files.lua", "-i", "")
	fails(t, dir, 1, "plugin_dir", "dev", "-p", filepath.Join(dir, "missing"), "plugin.lua", "-i", "")
}
