package luaenv_test

import (
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/msgscript/msgscript/internal/testnats"
	"github.com/msgscript/msgscript/luaenv"
)

// In the sandbox, NATS's own subjects are out of reach of the nats module: no driving the server
// ($SYS) or JetStream ($JS.API), no answering someone else's request (_INBOX).
func TestSandboxKeepsNATSSubjectsOfNATS(t *testing.T) {
	nc := testnats.Connect(t, testnats.Start(t).ClientURL())
	services := luaenv.Services{NATS: func() *nats.Conn { return nc }}
	for _, subject := range []string{"$SYS.REQ.SERVER.PING", "$JS.API.STREAM.DELETE.orders", "_INBOX.abc"} {
		out, err := callWith(t, sandbox, services, `local ok, err = require("nats").publish("`+subject+`", "x") local r, err2 = require("nats").request("`+subject+`", "x", 0.2) return tostring(ok) .. " " .. err .. " | " .. tostring(r) .. " " .. err2`)
		if err != nil || !strings.HasPrefix(out, "false nats: subject") || strings.Count(out, "not available in msgscript's sandbox") != 2 {
			t.Errorf("%s in the sandbox: %q %v", subject, out, err)
		}
		if out, err := callWith(t, luaenv.Policy{}, services, `return tostring(require("nats").publish("`+subject+`", "x"))`); err != nil || out != "true" {
			t.Errorf("%s outside the sandbox: %q %v", subject, out, err)
		}
	}
	if out, err := callWith(t, sandbox, services, `return tostring(require("nats").publish("events.x", "x"))`); err != nil || out != "true" {
		t.Errorf("an ordinary subject in the sandbox: %q %v", out, err)
	}
}
