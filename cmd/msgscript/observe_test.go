package main

import (
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/msgscript/msgscript/internal/testbin"
	"github.com/msgscript/msgscript/internal/testfiles"
	"github.com/msgscript/msgscript/internal/testnet"
)

// An operator's view of a running msgscript: msgscriptcli status through the admin API, and the
// versions of both commands.
func TestStatusAndVersions(t *testing.T) {
	admin, addr := testnet.FreeAddr(t), testnet.FreeAddr(t)
	dir := testfiles.Dir(t, map[string]string{
		"Caddyfile":        fmt.Sprintf("{\n\tadmin %s\n\tmsgscript {\n\t\tembedded_nats %s\n\t\tstore dir ./scripts\n\t}\n}\n", admin, addr),
		"scripts/echo.lua": "--* subject: funcs.echo\nfunction OnMessage(s, p) return p end\n",
		"scripts/fail.lua": "--* subject: funcs.fail\nfunction OnMessage(s, p)\n  error('no luck' .. p)\nend\n",
		"scripts/hook.lua": "--* subject: hooks.in\n--* stream: HOOKS\nfunction OnMessage(s, p) end\n",
		// A raw-reply script beside another on its subject is not served, and says why.
		"scripts/raw.lua": "--* subject: funcs.echo\n--* reply: raw\nfunction OnMessage(s, p) return p end\n",
	})
	s := run(t, dir, "Caddyfile")
	nc := connect(t, s, "nats://"+addr)
	for range 2 {
		request(t, nc, "funcs.echo", "x")
	}
	request(t, nc, "funcs.fail", "\x1b[2J") // a client's bytes in the error: the terminal must not clear

	cli := testbin.Build(t, "github.com/msgscript/msgscript/cmd/msgscriptcli")
	out, err := exec.Command(cli, "status", "--admin", admin).CombinedOutput()
	if err != nil {
		t.Fatalf("msgscriptcli status: %v\n%s", err, out)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`msgscript devel.* \(service msgscript, instance \w+\) on embedded NATS server on ` + regexp.QuoteMeta(addr)),
		regexp.MustCompile(`funcs\.echo\s+echo\s+[0-9a-f]{12}\s+2\s+0\s+0\s+\S+\s*\n`),
		regexp.MustCompile(`funcs\.fail\s+fail\s+[0-9a-f]{12}\s+1\s+1\s+0\s+\S+\s+scripts/fail.lua:3: no luck\\x1b\[2J \(`),
		regexp.MustCompile(`funcs\.echo\s+raw\s+none\s+0\s`),
		regexp.MustCompile("funcs\\.echo/raw: not served: a `--\\* reply: raw` script must be alone on funcs\\.echo; also there: echo"),
		// The stream the script consumes was never made: the operator is told, and how to.
		regexp.MustCompile(`hooks\.in/hook: stream HOOKS \(consumer msgscript_hook_hooks_in_\w+\), 0 acked, 0 retried, 0 dead-lettered; NOT RUNNING: stream "HOOKS" not found: create it, e\.g\. nats stream add`),
	} {
		if !want.Match(out) {
			t.Errorf("status lacks %s:\n%s", want, out)
		}
	}
	if out, err := exec.Command(cli, "status", "--admin", testnet.FreeAddr(t)).CombinedOutput(); err == nil || !strings.Contains(string(out), "is msgscript running") {
		t.Errorf("status without msgscript: %v %s", err, out)
	}

	for bin, want := range map[string]string{msgscriptBinary(t): "msgscript devel\ncaddy v2.", cli: "msgscriptcli devel"} {
		out, err := exec.Command(bin, "version").CombinedOutput()
		if err != nil || !strings.HasPrefix(string(out), want) {
			t.Errorf("%s version: %v %q", bin, err, out)
		}
	}
	s.stop(t)
}
