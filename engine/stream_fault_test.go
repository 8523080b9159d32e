package engine

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/msgscript/msgscript/internal/testfiles"
	"github.com/msgscript/msgscript/internal/testnats"
	"github.com/msgscript/msgscript/internal/testnet"
	"github.com/msgscript/msgscript/script"
)

// The NATS server goes away and comes back (same port, same storage): the trigger carries on with
// what was published after.
func TestStreamSurvivesNATSRestart(t *testing.T) {
	port, dir := testnet.FreePort(t), t.TempDir()
	ns := testnats.StartJetStreamOn(t, port, dir)
	js := jetStreamWith(t, ns, "HOOKS", "hooks.>")
	s := newSeen()
	scripts := testfiles.Dir(t, map[string]string{"hook.lua": fmt.Sprintf(streamScript, "", "record(payload)")})
	startEngine(t, ns, scripts, Options{Preload: []Preloader{s.preload()}, retryEvery: 100 * time.Millisecond})
	publishN(t, js, "hooks.in", 5)
	eventually(t, "5 before the restart", func() bool { d, _ := s.counts(); return d == 5 })

	ns.Shutdown()
	ns.WaitForShutdown()
	ns = testnats.StartJetStreamOn(t, port, dir)
	js = jetStreamWith(t, ns, "", "")
	for i := range 5 {
		if _, err := js.Publish(context.Background(), "hooks.in", fmt.Appendf(nil, "after%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for d, _ := s.counts(); d < 10; d, _ = s.counts() {
		if time.Now().After(deadline) {
			t.Fatalf("%d of 10 messages ran after the server came back", d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// An operator deleting the consumer (nats consumer rm) or the stream being made again: the
// trigger makes its consumer again.
func TestStreamConsumerDeletedIsMadeAgain(t *testing.T) {
	ns := testnats.StartJetStream(t, "")
	js := jetStreamWith(t, ns, "HOOKS", "hooks.>")
	s := newSeen()
	scripts := testfiles.Dir(t, map[string]string{"hook.lua": fmt.Sprintf(streamScript, "", "record(payload)")})
	startEngine(t, ns, scripts, Options{Preload: []Preloader{s.preload()}, retryEvery: 100 * time.Millisecond})
	publishN(t, js, "hooks.in", 1)
	eventually(t, "the first message", func() bool { d, _ := s.counts(); return d == 1 })
	if err := js.DeleteConsumer(context.Background(), "HOOKS", script.ResourceName("hooks.in", "hook")); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(context.Background(), "hooks.in", []byte("second")); err != nil {
		t.Fatal(err)
	}
	// Made again from the start of the stream: the first message runs again, the second once.
	deadline := time.Now().Add(15 * time.Second)
	for s.callsOf("second") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the consumer was not made again")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A message a stream script publishes to its own stream runs the script again, one hop deeper:
// the loop ends at max_depth, in dead letters, instead of running for ever.
func TestStreamLoopEndsAtMaxDepth(t *testing.T) {
	ns := testnats.StartJetStream(t, "")
	js := jetStreamWith(t, ns, "HOOKS", "hooks.>")
	dead := watch(t, ns, "msgscript.dead.>")
	s := newSeen()
	scripts := testfiles.Dir(t, map[string]string{"hook.lua": fmt.Sprintf(streamScript, "--* max_deliver: 1",
		`record(payload) require("nats").publish("hooks.in", payload .. "+")`)})
	opts := withModules(t, ns, Options{Preload: []Preloader{s.preload()}, MaxDepth: 3})
	startEngine(t, ns, scripts, opts)
	publishN(t, js, "hooks.in", 1)
	if _, err := dead.NextMsg(10 * time.Second); err != nil {
		t.Fatalf("no dead letter ending the loop: %v", err)
	}
	time.Sleep(300 * time.Millisecond)
	if d, n := s.counts(); n > 4 || d > 4 {
		t.Fatalf("the loop ran %d times (%d payloads), want max_depth 3 hops + the first", n, d)
	}
}

// A new version with another timeout moves the consumer's ack wait with it; removing the script
// stops consuming but keeps the consumer and its position.
func TestStreamConsumerFollowsTheScript(t *testing.T) {
	ns := testnats.StartJetStream(t, "")
	js := jetStreamWith(t, ns, "HOOKS", "hooks.>")
	scripts := testfiles.Dir(t, map[string]string{"hook.lua": fmt.Sprintf(streamScript, "--* timeout: 2s", "")})
	startEngine(t, ns, scripts, Options{Logger: zap.NewNop()})
	ackWait := func() time.Duration {
		c, err := js.Consumer(context.Background(), "HOOKS", script.ResourceName("hooks.in", "hook"))
		if err != nil {
			return 0
		}
		return c.CachedInfo().Config.AckWait
	}
	eventually(t, "ack wait of 2s + 5s", func() bool { return ackWait() == 7*time.Second })
	testfiles.Write(t, scripts, map[string]string{"hook.lua": fmt.Sprintf(streamScript, "--* timeout: 20s", "")})
	eventually(t, "ack wait of 20s + 5s", func() bool { return ackWait() == 25*time.Second })
}

// With no stream keeping dead letters, one watched with nats sub gets each once: a JetStream
// publish there would wait for an acknowledgement no one sends, fail, and be tried again.
func TestStreamDeadLetterWithoutAStream(t *testing.T) {
	ns := testnats.StartJetStream(t, "")
	js := jetStreamWith(t, ns, "HOOKS", "hooks.>")
	dead := watch(t, ns, "msgscript.dead.>")
	scripts := testfiles.Dir(t, map[string]string{"hook.lua": fmt.Sprintf(streamScript, "--* max_deliver: 1\n--* backoff: 50ms", `error("no")`)})
	startEngine(t, ns, scripts, Options{})
	publishN(t, js, "hooks.in", 1)
	if _, err := dead.NextMsg(2 * time.Second); err != nil {
		t.Fatalf("no dead letter within 2s: %v", err)
	}
	consumerSettled(t, js, "HOOKS", "hooks.in", "hook")
	if m, err := dead.NextMsg(time.Second); err == nil {
		t.Fatalf("the dead letter came twice: %v", m.Header)
	}
}
