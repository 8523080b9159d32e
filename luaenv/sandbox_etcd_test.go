package luaenv_test

import (
	"context"
	"testing"

	"github.com/msgscript/msgscript/internal/testetcd"
	"github.com/msgscript/msgscript/luaenv"
)

// The attack: etcd.get("", true) listed the whole cluster, the other scripts under
// msgscript/scripts/ included, and etcd.put could store a script. In the sandbox the etcd module
// works under etcd_prefix (by default msgscript-data/), transparently; outside it, on the whole
// keyspace as before, unless etcd_prefix says otherwise.
func TestSandboxEtcdStaysUnderItsPrefix(t *testing.T) {
	srv := testetcd.Start(t)
	cli := srv.Client()
	srv.Put("msgscript/scripts/funcs.other/secret", "token = 'abc'")
	srv.Put("msgscript-data/mine", "1")
	srv.Put("team-a/x", "2")
	services := luaenv.Services{Etcd: cli}
	list := `local kvs, err = require("etcd").get("", true)
		if not kvs then return err end
		local out = {}
		for _, kv in ipairs(kvs) do out[#out + 1] = kv:getKey() .. "=" .. kv:getValue() end
		return table.concat(out, ",")`

	for _, c := range []struct {
		p    luaenv.Policy
		want string
	}{
		{sandbox, "mine=1"},
		{luaenv.Policy{Sandbox: true, EtcdPrefix: "team-a/"}, "x=2"},
		{luaenv.Policy{EtcdPrefix: "team-a/"}, "x=2"},
		{luaenv.Policy{}, "msgscript-data/mine=1,msgscript/scripts/funcs.other/secret=token = 'abc',team-a/x=2"},
	} {
		if got, err := callWith(t, c.p, services, list); err != nil || got != c.want {
			t.Errorf("sandbox %v, etcd_prefix %q: %q, %v; want %q", c.p.Sandbox, c.p.EtcdPrefix, got, err, c.want)
		}
	}

	// Writing and deleting under msgscript/scripts/ lands under the prefix instead.
	got, err := callWith(t, sandbox, services, `local etcd = require("etcd")
		assert(etcd.put("msgscript/scripts/funcs.evil/x", "--* subject: funcs.evil") == nil)
		assert(etcd.delete("msgscript/scripts/funcs.other/secret") == nil)
		local kvs = etcd.get("msgscript/scripts/funcs.evil/x")
		return kvs[1]:getKey()`)
	if err != nil || got != "msgscript/scripts/funcs.evil/x" {
		t.Fatalf("put and get in the sandbox: %q, %v", got, err)
	}
	for key, want := range map[string]int{
		"msgscript/scripts/funcs.evil/x":                0,
		"msgscript/scripts/funcs.other/secret":          1,
		"msgscript-data/msgscript/scripts/funcs.evil/x": 1,
	} {
		resp, err := cli.Get(context.Background(), key)
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Kvs) != want {
			t.Errorf("%s: %d keys, want %d", key, len(resp.Kvs), want)
		}
	}
}
