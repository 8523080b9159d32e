package main

import (
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/msgscript/msgscript/internal/testnats"
)

// invoke against tiny Go responders: what msgscript answers is its own tests' business, what the
// CLI makes of a reply is this one's.
func TestInvoke(t *testing.T) {
	ns := testnats.Start(t)
	url := ns.ClientURL()
	nc := testnats.Connect(t, url)
	respond := func(subject string, fn func(m *nats.Msg)) {
		t.Helper()
		if _, err := nc.Subscribe(subject, fn); err != nil {
			t.Fatal(err)
		}
	}
	respond("svc.echo", func(m *nats.Msg) { _ = m.Respond([]byte("got: " + string(m.Data))) })
	respond("svc.line", func(m *nats.Msg) { _ = m.Respond([]byte("a line\n")) })
	respond("svc.fail", func(m *nats.Msg) {
		reply := nats.NewMsg(m.Reply)
		reply.Data = []byte(`{"error":"boom"}`)
		reply.Header.Set(micro.ErrorCodeHeader, "500")
		reply.Header.Add(micro.ErrorHeader, "fail.lua:3: boom")
		reply.Header.Add(micro.ErrorHeader, "and more")
		// What a client sent, in a script's error: a terminal must not act on it.
		reply.Header.Add(micro.ErrorHeader, "bad input: \x1b]52;c;cm0gLXJmIC8K\x07\x1b[2J\xff\u009b é")
		_ = m.RespondMsg(reply)
	})
	respond("svc.silent", func(*nats.Msg) {})
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()

	// A newline is added to a reply that lacks one, and only then.
	if got := ok(t, dir, "invoke", "--nats", url, "svc.echo", "hi"); got != "got: hi\n" {
		t.Errorf("invoke with a payload: %q", got)
	}
	if got := ok(t, dir, "invoke", "--nats", url, "svc.line"); got != "a line\n" {
		t.Errorf("invoke of a reply ending in a newline: %q", got)
	}
	if got := ok(t, dir, "invoke", "--nats", url, "svc.echo"); got != "got: \n" {
		t.Errorf("invoke without a payload: %q", got)
	}
	if r := cliStdin(t, dir, "from\nstdin", "invoke", "--nats", url, "svc.echo", "-"); r.code != 0 || r.stdout != "got: from\nstdin\n" {
		t.Errorf("invoke - : exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	// Without --nats, the global -u/--natsurl.
	if got := ok(t, dir, "-u", url, "invoke", "svc.echo", "global"); got != "got: global\n" {
		t.Errorf("invoke with -u: %q", got)
	}

	// A script's error: the body on stdout, the code and every message on stderr, exit 1.
	r := cli(t, dir, "invoke", "--nats", url, "svc.fail", "x")
	if r.code != 1 || r.stdout != `{"error":"boom"}`+"\n" || r.stderr != `error 500: fail.lua:3: boom; and more; bad input: \x1b]52;c;cm0gLXJmIC8K\x07\x1b[2J\xff\u009b é`+"\n" {
		t.Errorf("invoke of a failing script: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}

	fails(t, dir, 1, "no script listens on svc.none (no responders at "+url+")", "invoke", "--nats", url, "svc.none")
	fails(t, dir, 1, "no reply from svc.silent within 200ms", "invoke", "--nats", url, "--timeout", "200ms", "svc.silent")
	fails(t, dir, 2, "wildcard", "invoke", "--nats", url, "svc.*")
	fails(t, dir, 2, "accepts between 1 and 2 arg", "invoke", "--nats", url)
	if r := cli(t, dir, "invoke", "--nats", url, "svc.none"); strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("no responders said more than one line:\n%s", r.stderr)
	}
}
