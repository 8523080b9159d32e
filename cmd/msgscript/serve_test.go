package main

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/micro"

	"github.com/msgscript/msgscript/internal/testetcd"
	"github.com/msgscript/msgscript/internal/testfiles"
	"github.com/msgscript/msgscript/internal/testhttp"
	"github.com/msgscript/msgscript/internal/testnats"
	"github.com/msgscript/msgscript/internal/testnet"
)

// End-to-end tests of `msgscript serve`. Every server they start is on a free port, and the admin
// API stays off unless a test moves it, so they pass while a msgscript runs on the defaults
// (NATS 4222, HTTP 7643, admin 2019).

const helloScript = "--* subject: funcs.hello\nfunction OnMessage(s, p) return 'hi ' .. p end\n"

// serve starts `msgscript serve args...` (see start).
func serve(t *testing.T, env []string, args ...string) *server {
	t.Helper()
	return start(t, "", env, append([]string{"serve"}, args...)...)
}

// refused runs `msgscript serve args...` and wants it to exit with a failure; it returns what the
// command printed.
func refused(t *testing.T, args ...string) string {
	t.Helper()
	s := serve(t, nil, args...)
	select {
	case err := <-s.done:
		s.done <- err // for the cleanup
		if err == nil {
			t.Errorf("serve %q exited with status 0:\n%s", args, s.output)
		}
	case <-time.After(60 * time.Second):
		t.Errorf("serve %q is still running: it did not refuse its flags\n%s", args, s.output)
	}
	return s.output.String()
}

// post sends payload to the HTTP bridge at addr (host:port) for subject, and wants want back.
func post(t *testing.T, s *server, addr, subject, payload, want string) {
	t.Helper()
	waitForPort(t, s, addr)
	r := testhttp.Do(t, "POST", "http://"+addr+"/"+subject, strings.NewReader(payload))
	if r.Status != 200 || strings.TrimSpace(r.Body) != want {
		t.Errorf("POST /%s: %d %s, want 200 %s", subject, r.Status, r.Body, want)
	}
}

// Scripts from a folder, NATS outside (as the brief's first example): a NATS request and an HTTP
// POST are answered, the subscription joins --queue-group, and the dashboard is off by default.
func TestServeFolder(t *testing.T) {
	ns := testnats.Start(t)
	scripts := testfiles.Dir(t, map[string]string{"hello.lua": helloScript})
	web := testnet.FreeAddr(t)
	s := serve(t, nil, "--dir", scripts, "--listen", web, "-natsurl", ns.ClientURL(),
		"-plugin", t.TempDir(), "--queue-group", "serve-test")

	nc := testnats.Connect(t, ns.ClientURL())
	if got := string(request(t, nc, "funcs.hello", "John").Data); got != `{"hello":"hi John"}` {
		t.Errorf("NATS request: %s", got)
	}
	post(t, s, web, "funcs.hello", "Ann", `{"hello":"hi Ann"}`)

	subs, err := ns.Subsz(&natsserver.SubszOptions{Subscriptions: true, Test: "funcs.hello"})
	if err != nil {
		t.Fatal(err)
	}
	queues := map[string]int{}
	for _, sub := range subs.Subs {
		if sub.Subject == "funcs.hello" {
			queues[sub.Queue]++
		}
	}
	if len(queues) != 1 || queues["serve-test"] == 0 {
		t.Errorf("queue groups of the funcs.hello subscriptions: %v, want serve-test", queues)
	}
	if r := testhttp.Do(t, "GET", "http://"+web+"/_/", nil); strings.Contains(r.Body, "data-key=") {
		t.Errorf("the dashboard answers without --dashboard: %d %s", r.Status, r.Body)
	}
	s.stop(t)
}

// The original server's command line with `serve` in front: single-dash flags, scripts in etcd
// under the original's keys, the HTTP port as -port.
func TestServeEtcdWithTheOriginalFlags(t *testing.T) {
	etcd := testetcd.Start(t)
	etcd.Put("msgscript/scripts/funcs.hello/hello", helloScript)
	ns := testnats.Start(t)
	port := testnet.FreePort(t)
	s := serve(t, nil, "-etcdurl", etcd.Endpoint(), "-natsurl", ns.ClientURL(), "-plugin", t.TempDir(),
		"-port", strconv.Itoa(port))

	nc := testnats.Connect(t, ns.ClientURL())
	if got := string(request(t, nc, "funcs.hello", "John").Data); got != `{"hello":"hi John"}` {
		t.Errorf("NATS request: %s", got)
	}
	post(t, s, "127.0.0.1:"+strconv.Itoa(port), "funcs.hello", "Ann", `{"hello":"hi Ann"}`)
	s.stop(t)
}

// The original NixOS module's ExecStart (-backend file -etcdurl ... -natsurl ... -plugin ...
// -script ... -library ...), with the "-flag=value" form and the original's schemeless etcd
// address: the folder store serves the scripts with their libraries, -etcdurl gives the scripts'
// etcd module its server, and -log debug is Caddy's debug level.
func TestServeTheOriginalNixOSUnit(t *testing.T) {
	etcd := testetcd.Start(t)
	etcd.Put("serve-test/word", "from etcd")
	ns := testnats.Start(t)
	scripts := testfiles.Dir(t, map[string]string{
		"word.lua": "--* subject: funcs.word\n--* require: greeting\n" +
			"function OnMessage(s, p)\n  local kvs, err = require('etcd').get('serve-test/word')\n" +
			"  if err then return 'etcd: ' .. err end\n  return greet(p) .. ', ' .. kvs[1].value\nend\n",
		"libs/greeting.lua": "function greet(p) return 'hi ' .. p end\n",
	})
	web := testnet.FreeAddr(t)
	s := serve(t, nil, "-backend", "file", "-etcdurl", strings.TrimPrefix(etcd.Endpoint(), "http://"),
		"-natsurl="+ns.ClientURL(), "-plugin="+t.TempDir(), "-script", scripts, "-library", filepath.Join(scripts, "libs"),
		"-log", "debug", "-listen", web)

	nc := testnats.Connect(t, ns.ClientURL())
	if got := string(request(t, nc, "funcs.word", "John").Data); got != `{"word":"hi John, from etcd"}` {
		t.Errorf("NATS request: %s", got)
	}
	post(t, s, web, "funcs.word", "Ann", `{"word":"hi Ann, from etcd"}`)
	if !strings.Contains(s.output.String(), `"level":"debug"`) {
		t.Errorf("-log debug: no debug line")
	}
	s.stop(t)
}

// The embedded NATS server on an address of its own, with the options a production setup adds:
// the dashboard for this machine, the admin API (for msgscriptcli status), the sandbox and a
// default call deadline.
func TestServeEmbeddedWithOptions(t *testing.T) {
	scripts := testfiles.Dir(t, map[string]string{
		"hello.lua":  helloScript,
		"secret.lua": "--* subject: funcs.secret\nfunction OnMessage() return tostring(os.getenv('SERVE_SECRET')) end\n",
		"spin.lua":   "--* subject: funcs.spin\nfunction OnMessage() while true do end end\n",
	})
	natsAddr, web, admin := testnet.FreeAddr(t), testnet.FreeAddr(t), testnet.FreeAddr(t)
	s := serve(t, []string{"SERVE_SECRET=s3cret"}, "--dir", scripts, "--embedded-nats", natsAddr,
		"--listen", web, "--dashboard", "--admin", admin, "--sandbox", "--timeout", "300ms")

	nc := connect(t, s, "nats://"+natsAddr)
	if got := string(request(t, nc, "funcs.hello", "John").Data); got != `{"hello":"hi John"}` {
		t.Errorf("NATS request: %s", got)
	}
	if got := string(request(t, nc, "funcs.secret", "").Data); got != `{"secret":"nil"}` {
		t.Errorf("a sandboxed script read the environment: %s", got)
	}
	m := request(t, nc, "funcs.spin", "")
	if e := m.Header.Get(micro.ErrorHeader); !strings.Contains(e, "timed out after 300ms") {
		t.Errorf("an endless script under --timeout 300ms: %q %v", m.Data, m.Header)
	}
	waitForPort(t, s, web)
	if r := testhttp.Do(t, "GET", "http://"+web+"/_/", nil); r.Status != 200 || !strings.Contains(r.Body, `data-key="funcs.hello hello"`) {
		t.Errorf("GET /_/: %d %s", r.Status, r.Body)
	}
	if r := testhttp.Do(t, "GET", "http://"+admin+"/msgscript/instance", nil); r.Status != 200 || !strings.Contains(r.Body, `"sandbox":true`) {
		t.Errorf("admin API: %d %s", r.Status, r.Body)
	}
	s.stop(t)
}

// Flags that cannot work are refused before anything starts, with the flag named, and the
// exit status says so.
func TestServeRefusesBadFlags(t *testing.T) {
	ns := testnats.Start(t)
	natsURL := ns.ClientURL()
	scripts := testfiles.Dir(t, map[string]string{"hello.lua": helloScript})
	missing := filepath.Join(t.TempDir(), "missing")
	file := filepath.Join(scripts, "hello.lua")
	badPlugins := testfiles.Dir(t, map[string]string{"bad.so": "not a Go plugin"})
	web := testnet.FreeAddr(t)
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"both stores", []string{"--dir", scripts, "-etcdurl", "http://127.0.0.1:1"}, "-etcdurl and --dir both name a store"},
		{"both stores, original spelling", []string{"-script", scripts, "-etcdurl", "http://127.0.0.1:1"}, "-etcdurl and -script both name a store"},
		{"missing folder", []string{"--dir", missing}, "--dir " + missing + ": no such file or directory"},
		{"a file for a folder", []string{"--dir", file}, "--dir " + file + ": not a folder"},
		{"bad NATS URL", []string{"--dir", scripts, "-natsurl", "nats://127.0.0.1:notaport"}, `-natsurl "nats://127.0.0.1:notaport": not a URL`},
		{"NATS URL of another scheme", []string{"--dir", scripts, "-natsurl", "http://127.0.0.1:1"}, `-natsurl "http://127.0.0.1:1": scheme "http"`},
		{"bad etcd URL", []string{"-etcdurl", "ftp://127.0.0.1:1"}, `-etcdurl "ftp://127.0.0.1:1": scheme "ftp"`},
		{"missing plugin folder", []string{"--dir", scripts, "-plugin", missing}, "-plugin " + missing + ": no such file or directory"},
		{"a plugin that does not load", []string{"--dir", scripts, "-plugin", badPlugins}, "bad.so"},
		{"libraries elsewhere", []string{"-backend", "file", "-script", scripts, "-library", missing}, "-library " + missing + ": the folder store reads its libraries from the libs folder"},
		{"unknown backend", []string{"--backend", "sqlite"}, `--backend "sqlite": want etcd or dir`},
		{"dashboard without HTTP", []string{"--dir", scripts, "--dashboard", "--listen", "off"}, "--dashboard needs the HTTP bridge"},
		{"an unknown flag", []string{"--dir", scripts, "-nope"}, "unknown flag: --nope"},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := c.args
			if !containsArg(args, "-natsurl") {
				args = append(args, "-natsurl", natsURL)
			}
			if !containsArg(args, "--listen") {
				args = append(args, "--listen", web)
			}
			if out := refused(t, args...); !strings.Contains(out, c.want) {
				t.Errorf("serve %q says:\n%s\nwant it to say %q", args, out, c.want)
			}
		})
	}
	port := strconv.Itoa(testnet.FreePort(t))
	if out := refused(t, "--dir", scripts, "-natsurl", natsURL, "--listen", web, "-port", port); !strings.Contains(out, "--listen and -port both set the HTTP address") {
		t.Errorf("--listen with -port:\n%s", out)
	}
}

// containsArg tells whether args hold the flag name.
func containsArg(args []string, name string) bool {
	for _, a := range args {
		if a == name {
			return true
		}
	}
	return false
}

// serve shows in `msgscript help`, and -help (the original's spelling) prints its flags.
func TestServeHelp(t *testing.T) {
	out, err := exec.Command(msgscriptBinary(t), "help").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "\n  serve ") {
		t.Errorf("msgscript help: %v\n%s", err, out)
	}
	out, err = exec.Command(msgscriptBinary(t), "serve", "-help").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--natsurl string") || strings.Contains(string(out), "--library") {
		t.Errorf("msgscript serve -help: %v\n%s", err, out)
	}
}
