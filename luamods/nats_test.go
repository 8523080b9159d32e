package luamods

import (
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
)

// A subject NATS would choke on is refused by the call, before anything reaches the server: the
// server closes a connection that sends a protocol line over its limit, for good.
func TestNATSRefusesBadSubjects(t *testing.T) {
	nc := startNATS(t)
	env := &Env{NATS: func() *nats.Conn { return nc }}
	if _, err := nc.Subscribe("svc.echo", func(m *nats.Msg) { _ = m.Respond(m.Data) }); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	expect(t, env, `local nats = require("nats")
		local ok, err = nats.publish("x." .. string.rep("a", 5000), "hi")
		local r, err2 = nats.request("x." .. string.rep("a", 5000), "hi")
		local ok3, err3 = nats.publish("funcs.*", "hi")
		return ok, err, r, err2, ok3, err3`,
		"false|nats: subject longer than 1024 bytes (5002 bytes)|nil|nats: subject longer than 1024 bytes (5002 bytes)|false|nats: subject \"funcs.*\" contains a wildcard")
	if !nc.IsConnected() {
		t.Fatalf("the connection is gone: %v", nc.LastError())
	}
	expect(t, env, `return require("nats").request("svc.echo", "still here")`, "still here")
	if !strings.Contains(strs(run(t, env, `return require("nats").publish("a..b", "x")`)), "empty token") {
		t.Error("an empty token was published")
	}
}
