package luaenv_test

import (
	"context"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/msgscript/msgscript/internal/testnats"
	"github.com/msgscript/msgscript/luaenv"
	"github.com/msgscript/msgscript/script"
)

// The attack: a script reads or rewrites another script's state through a bucket named after it
// (kv.bucket("msgscript_...")), or a sandboxed one through any bucket shared with trusted
// scripts. In the sandbox the kv module has the script's own bucket, named after it by the
// engine's call, and kv.bucket raises; outside it, named buckets are open to every script, but
// not msgscript's own.
func TestSandboxKVHasOnlyTheScriptsOwnBucket(t *testing.T) {
	nc := testnats.Connect(t, testnats.StartJetStream(t, "").ClientURL())
	services := luaenv.Services{NATS: func() *nats.Conn { return nc }}
	got, err := callWith(t, sandbox, services, `local kv = require("kv") return kv.put("k", "mine") .. " " .. kv.get("k")`)
	if err != nil || got != "1 mine" {
		t.Fatalf("the own bucket in the sandbox: %q, %v", got, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	own := script.ResourceName("funcs.test", "test") // the script callWith runs
	kv, err := js.KeyValue(context.Background(), own)
	if err != nil {
		t.Fatalf("the script's bucket %s: %v", own, err)
	}
	if e, err := kv.Get(context.Background(), "k"); err != nil || string(e.Value()) != "mine" {
		t.Fatalf("k in %s: %v, %v", own, e, err)
	}

	for _, name := range []string{own, "shared"} {
		_, err := callWith(t, sandbox, services, `return require("kv").bucket("`+name+`"):get("k")`)
		if err == nil || !strings.Contains(err.Error(), "kv.bucket is not available in msgscript's sandbox: the sandbox allows only the script's own bucket") {
			t.Errorf("kv.bucket(%q) in the sandbox: %v", name, err)
		}
	}
	if got, err := callWith(t, luaenv.Policy{}, services, `return require("kv").bucket("shared"):put("k", "v")`); err != nil || got != "1" {
		t.Errorf("kv.bucket outside the sandbox: %q, %v", got, err)
	}
	for _, name := range []string{own, "msgscript_cron"} {
		got, err := callWith(t, luaenv.Policy{}, services, `local b, err = require("kv").bucket("`+name+`") return tostring(b) .. " " .. err`)
		if err != nil || !strings.Contains(got, "nil kv: bucket names starting with \"msgscript_\" are msgscript's own") {
			t.Errorf("kv.bucket(%q) outside the sandbox: %q, %v", name, got, err)
		}
	}
}

// The attack: a sandboxed script fills the NATS server's disk through its own bucket. The policy's
// kv_max_bytes bounds the bucket the module creates for it.
func TestSandboxKVBucketIsBounded(t *testing.T) {
	nc := testnats.Connect(t, testnats.StartJetStream(t, "").ClientURL())
	services := luaenv.Services{NATS: func() *nats.Conn { return nc }}
	p := sandbox
	p.KVMaxBytes = 64 << 10
	got, err := callWith(t, p, services, `local kv, v, n = require("kv"), string.rep("x", 8000), 0
		while kv.put("k" .. n, v) and n < 100 do n = n + 1 end
		return n`)
	if err != nil || got != "8" {
		t.Errorf("puts of 8,000 bytes into a bucket bounded to 64 KiB: %q, %v; want 8 before it is full", got, err)
	}
}

// Scripts hold the module's table through the engine's proxy: calls with a colon still work.
func TestKVColonCallsThroughTheEngine(t *testing.T) {
	nc := testnats.Connect(t, testnats.StartJetStream(t, "").ClientURL())
	services := luaenv.Services{NATS: func() *nats.Conn { return nc }}
	for _, p := range []luaenv.Policy{{}, sandbox} {
		got, err := callWith(t, p, services, `local kv = require("kv")
			return tostring(kv:put("c", "x") > 0) .. kv:get("c") .. kv.get("c") .. tostring(kv:delete("c")) .. #kv:keys()`)
		if err != nil || got != "truexxtrue0" {
			t.Errorf("sandbox %v: %q, %v", p.Sandbox, got, err)
		}
	}
	got, err := callWith(t, luaenv.Policy{}, services, `local kv = require("kv")
		local b = kv:bucket("named")
		return b:put("k", "v") .. b.get("k") .. kv.bucket("named"):get("k")`)
	if err != nil || got != "1vv" {
		t.Errorf("kv:bucket: %q, %v", got, err)
	}
}
