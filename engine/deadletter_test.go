package engine

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/msgscript/msgscript/callctx"
	"github.com/msgscript/msgscript/internal/testfiles"
	"github.com/msgscript/msgscript/internal/testnats"
)

const failing = "--* subject: %s\n--* name: %s\n--* stream: %s\n--* max_deliver: %d\n--* backoff: 50ms\nfunction OnMessage(s, p) record(p) error('down') end\n"

// A script on msgscript.dead.> that fails (the alerting API is down too) does not make a dead
// letter of a dead letter: msgscript.dead.msgscript.dead.... would grow until NATS closes the
// connection over a subject too long.
func TestDeadLetterOfADeadLetter(t *testing.T) {
	ns := testnats.StartJetStream(t, "")
	js := jetStreamWith(t, ns, "HOOKS", "hooks.>")
	jetStreamWith(t, ns, "DEAD", "msgscript.dead.>")
	again := watch(t, ns, "msgscript.dead.msgscript.>")
	s := newSeen()
	dir := testfiles.Dir(t, map[string]string{
		"hook.lua":  fmt.Sprintf(failing, "hooks.in", "hook", "HOOKS", 1),
		"alert.lua": fmt.Sprintf(failing, "msgscript.dead.>", "alert", "DEAD", 1),
	})
	startEngine(t, ns, dir, Options{Preload: []Preloader{s.preload()}})
	publishN(t, js, "hooks.in", 1)
	consumerSettled(t, js, "HOOKS", "hooks.in", "hook")
	eventually(t, "the alert script ran", func() bool { _, n := s.counts(); return n == 2 })
	consumerSettled(t, js, "DEAD", "msgscript.dead.>", "alert")
	if m, err := again.NextMsg(500 * time.Millisecond); err == nil {
		t.Fatalf("a dead letter of a dead letter: %s", m.Subject)
	}
}

// A message whose dead letter's subject would be too long for NATS is terminated (it stays in
// its stream) instead of being retried for ever or closing msgscript's connection.
func TestDeadLetterSubjectTooLong(t *testing.T) {
	ns := testnats.StartJetStream(t, "")
	js := jetStreamWith(t, ns, "HOOKS", "hooks.>")
	dead := watch(t, ns, "msgscript.dead.>")
	s := newSeen()
	dir := testfiles.Dir(t, map[string]string{"hook.lua": fmt.Sprintf(failing, "hooks.>", "hook", "HOOKS", 2)})
	startEngine(t, ns, dir, Options{Preload: []Preloader{s.preload()}})
	long := "hooks." + strings.Repeat("a", 1010)
	if _, err := js.Publish(context.Background(), long, []byte("x")); err != nil {
		t.Fatal(err)
	}
	consumerSettled(t, js, "HOOKS", "hooks.>", "hook")
	if _, n := s.counts(); n != 2 {
		t.Fatalf("tried %d times, want max_deliver 2", n)
	}
	if m, err := dead.NextMsg(300 * time.Millisecond); err == nil {
		t.Fatalf("dead letter on %d bytes of subject", len(m.Subject))
	}
	// The connection was not closed over it: the engine still works.
	if _, err := js.Publish(context.Background(), "hooks.short", []byte("y")); err != nil {
		t.Fatal(err)
	}
	if _, err := dead.NextMsg(5 * time.Second); err != nil {
		t.Fatalf("the next dead letter: %v", err)
	}
}

// A message near max_payload has no room for the dead letter's headers: the letter goes without
// the body, saying how large it was; the body stays in the stream.
func TestDeadLetterOfAMessageNearMaxPayload(t *testing.T) {
	ns := testnats.StartJetStream(t, "")
	js := jetStreamWith(t, ns, "HOOKS", "hooks.>")
	nc := connect(t, ns)
	dead, _ := nc.SubscribeSync("msgscript.dead.>")
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	s := newSeen()
	dir := testfiles.Dir(t, map[string]string{"hook.lua": fmt.Sprintf(failing, "hooks.in", "hook", "HOOKS", 1)})
	startEngine(t, ns, dir, Options{Preload: []Preloader{s.preload()}})
	size := int(nc.MaxPayload()) - 100
	if _, err := js.Publish(context.Background(), "hooks.in", make([]byte, size)); err != nil {
		t.Fatal(err)
	}
	m, err := dead.NextMsg(5 * time.Second)
	if err != nil {
		t.Fatalf("no dead letter: %v", err)
	}
	if len(m.Data) != 0 || m.Header.Get(HeaderDeadBodyOmitted) != fmt.Sprint(size) || m.Header.Get(HeaderDeadSequence) != "1" {
		t.Fatalf("dead letter of %d bytes, headers %v", len(m.Data), m.Header)
	}
	consumerSettled(t, js, "HOOKS", "hooks.in", "hook")
	if _, n := s.counts(); n != 1 {
		t.Fatalf("tried %d times, want 1", n)
	}
}

// A message more hops deep than max_depth is refused at once: retrying cannot make it shallower.
// Its dead letter is one hop deeper still, so a script passing dead letters on is bounded too.
func TestDeadLetterOfAMessageTooDeep(t *testing.T) {
	ns := testnats.StartJetStream(t, "")
	js := jetStreamWith(t, ns, "HOOKS", "hooks.>")
	dead := watch(t, ns, "msgscript.dead.>")
	s := newSeen()
	dir := testfiles.Dir(t, map[string]string{"hook.lua": fmt.Sprintf(failing, "hooks.in", "hook", "HOOKS", 5)})
	startEngine(t, ns, dir, Options{Preload: []Preloader{s.preload()}, MaxDepth: 3})
	if _, err := js.PublishMsg(context.Background(), &nats.Msg{Subject: "hooks.in", Data: []byte("x"),
		Header: nats.Header{callctx.HeaderDepth: []string{"4"}}}); err != nil {
		t.Fatal(err)
	}
	m, err := dead.NextMsg(5 * time.Second)
	if err != nil {
		t.Fatalf("no dead letter: %v", err)
	}
	if m.Header.Get(HeaderDeadDeliveries) != "1" || m.Header.Get(callctx.HeaderDepth) != "5" || !strings.Contains(m.Header.Get("Nats-Service-Error"), "max_depth 3") {
		t.Fatalf("dead letter headers %v", m.Header)
	}
	if _, n := s.counts(); n != 0 {
		t.Fatalf("the script ran %d times on a message past max_depth", n)
	}
}
