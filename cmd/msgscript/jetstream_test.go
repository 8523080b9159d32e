package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nats.go/micro"

	"github.com/msgscript/msgscript/internal/testfiles"
	"github.com/msgscript/msgscript/internal/testnats"
	"github.com/msgscript/msgscript/internal/testnet"
)

// Two msgscript processes on one NATS server with JetStream, as a cluster runs: the 50 webhooks
// published while neither ran are all forwarded once both start, each by one of them, and a
// cron @every 1s script runs once per tick.
func TestTwoInstancesShareStreamAndCron(t *testing.T) {
	ns := testnats.StartJetStream(t, "")
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "WEBHOOKS", Subjects: []string{"webhooks.>"}}); err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if _, err := js.Publish(ctx, "webhooks.orders", fmt.Appendf(nil, "order-%02d", i)); err != nil {
			t.Fatal(err)
		}
	}
	forwarded, _ := nc.SubscribeSync("forwarded")
	ticks, _ := nc.SubscribeSync("ticks")
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}

	dir := testfiles.Dir(t, map[string]string{
		"forward.lua": "--* subject: webhooks.orders\n--* stream: WEBHOOKS\nfunction OnMessage(s, p) require('nats').publish('forwarded', p) return 'ok' end\n",
		// The second it runs in names the tick: two runs of one tick would say the same.
		"tick.lua": "--* subject: jobs.tick\n--* cron: @every 1s\nfunction OnMessage(s, p) require('nats').publish('ticks', os.date('!%H:%M:%S')) end\n",
	})
	config := testfiles.Dir(t, map[string]string{"Caddyfile": fmt.Sprintf("{\n\tadmin off\n\tmsgscript {\n\t\tnats_url %s\n\t\tstore dir %s\n\t}\n}\n", ns.ClientURL(), dir)})
	run(t, config, "Caddyfile")
	run(t, config, "Caddyfile")

	seen := map[string]int{}
	for len(seen) < 50 {
		m, err := forwarded.NextMsg(30 * time.Second)
		if err != nil {
			t.Fatalf("%d of 50 webhooks forwarded: %v", len(seen), err)
		}
		seen[string(m.Data)]++
	}
	start := time.Now()
	tickSeen := map[string]int{}
	for time.Since(start) < 3500*time.Millisecond {
		m, err := ticks.NextMsg(2 * time.Second)
		if err != nil {
			t.Fatalf("no tick: %v", err)
		}
		tickSeen[string(m.Data)]++
	}
	if m, err := forwarded.NextMsg(200 * time.Millisecond); err == nil {
		t.Fatalf("a webhook forwarded twice: %s", m.Data)
	}
	if len(tickSeen) < 3 {
		t.Fatalf("ticks in 3.5s: %v", tickSeen)
	}
	for tick, n := range tickSeen {
		if n > 1 {
			t.Errorf("tick %s ran %d times", tick, n)
		}
	}
	for order, n := range seen {
		if n > 1 || !strings.HasPrefix(order, "order-") {
			t.Errorf("%s forwarded %d times", order, n)
		}
	}
}

// A counter kept with the kv module in the embedded NATS server's JetStream survives msgscript
// being killed (kill -9) and started again.
func TestKVSurvivesKill(t *testing.T) {
	dir := testfiles.Dir(t, map[string]string{"visits.lua": `--* subject: funcs.visits
local kv = require("kv")
function OnMessage(subject, payload)
  return assert(kv.incr("count"))
end
`})
	addr := testnet.FreeAddr(t)
	config := testfiles.Dir(t, map[string]string{"Caddyfile": fmt.Sprintf("{\n\tadmin off\n\tmsgscript {\n\t\tembedded_nats %s\n\t\tjetstream_dir %s\n\t\tstore dir %s\n\t}\n}\n", addr, t.TempDir(), dir)})
	visits := func(s *server) string {
		nc := connect(t, s, "nats://"+addr)
		defer nc.Close()
		m := request(t, nc, "funcs.visits", "")
		if e := m.Header.Get(micro.ErrorHeader); e != "" {
			t.Fatalf("visits failed: %s", e)
		}
		return string(m.Data)
	}
	first := run(t, config, "Caddyfile")
	visits(first)
	if got := visits(first); got != `{"visits":"2"}` {
		t.Fatalf("second visit: %s", got)
	}
	if err := first.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	err := <-first.done
	first.done <- err
	second := run(t, config, "Caddyfile")
	if got := visits(second); got != `{"visits":"3"}` {
		t.Fatalf("after kill -9 and a restart: %s, want the count to go on at 3", got)
	}
}

// Two msgscript processes given one jetstream_dir: the second refuses to start, rather than run a
// second NATS server over the first one's files.
func TestJetStreamDirIsNotShared(t *testing.T) {
	jsDir, scripts := t.TempDir(), testfiles.Dir(t, map[string]string{"hello.lua": "--* subject: funcs.hello\nfunction OnMessage() return 'hi' end\n"})
	caddyfile := func(addr string) string {
		return fmt.Sprintf("{\n\tadmin off\n\tmsgscript {\n\t\tembedded_nats %s\n\t\tjetstream_dir %s\n\t\tstore dir %s\n\t}\n}\n", addr, jsDir, scripts)
	}
	first, second := testnet.FreeAddr(t), testnet.FreeAddr(t)
	config := testfiles.Dir(t, map[string]string{"first.caddyfile": caddyfile(first), "second.caddyfile": caddyfile(second)})
	s := run(t, config, "first.caddyfile")
	request(t, connect(t, s, "nats://"+first), "funcs.hello", "")
	other := run(t, config, "second.caddyfile")
	select {
	case err := <-other.done:
		other.done <- err
		if err == nil || !strings.Contains(other.output.String(), "is in use by another msgscript") {
			t.Fatalf("second instance: %v\n%s", err, other.output)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the second instance runs on the first one's jetstream_dir\n%s", other.output)
	}
}
