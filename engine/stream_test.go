package engine

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nats.go/micro"
	lua "github.com/yuin/gopher-lua"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/msgscript/msgscript/internal/testfiles"
	"github.com/msgscript/msgscript/internal/testnats"
	"github.com/msgscript/msgscript/script"
)

// seen records what the scripts were called with: record(payload) adds to it, and the calls of
// each payload are counted.
type seen struct {
	mu    sync.Mutex
	calls map[string]int
	order []string
}

func newSeen() *seen { return &seen{calls: map[string]int{}} }

func (s *seen) preload() Preloader {
	return func(L *lua.LState) {
		L.SetGlobal("record", L.NewFunction(func(L *lua.LState) int {
			s.mu.Lock()
			defer s.mu.Unlock()
			p := L.CheckString(1)
			s.calls[p]++
			s.order = append(s.order, p)
			return 0
		}))
	}
}

// callsOf is how many calls had payload p.
func (s *seen) callsOf(p string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[p]
}

// distinct and total are how many payloads were seen, and how many calls in all.
func (s *seen) counts() (distinct, total int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.calls), len(s.order)
}

// jetStream makes a stream on subjects of a JetStream server, and returns a client of it.
func jetStreamWith(t *testing.T, ns *server.Server, stream string, subjects ...string) jetstream.JetStream {
	t.Helper()
	js, err := jetstream.New(connect(t, ns))
	if err != nil {
		t.Fatal(err)
	}
	if stream != "" {
		if _, err := js.CreateStream(context.Background(), jetstream.StreamConfig{Name: stream, Subjects: subjects}); err != nil {
			t.Fatal(err)
		}
	}
	return js
}

func publishN(t *testing.T, js jetstream.JetStream, subject string, n int) {
	t.Helper()
	for i := range n {
		if _, err := js.Publish(context.Background(), subject, fmt.Appendf(nil, "m%03d", i)); err != nil {
			t.Fatal(err)
		}
	}
}

// consumerSettled waits until the script's consumer has every message acknowledged or terminated.
func consumerSettled(t *testing.T, js jetstream.JetStream, stream, subject, name string) {
	t.Helper()
	eventually(t, "every message settled", func() bool {
		c, err := js.Consumer(context.Background(), stream, script.ResourceName(subject, name))
		if err != nil {
			return false
		}
		info, err := c.Info(context.Background())
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0
	})
}

const streamScript = "--* subject: hooks.in\n--* name: hook\n--* stream: HOOKS\n%s\nfunction OnMessage(subject, payload) %s return 'ok' end\n"

// Messages published while no msgscript runs are kept by the stream, and all run once it starts.
func TestStreamRunsWhatWasPublishedWhileDown(t *testing.T) {
	ns := testnats.StartJetStream(t, "")
	js := jetStreamWith(t, ns, "HOOKS", "hooks.>")
	publishN(t, js, "hooks.in", 50)

	s := newSeen()
	dir := testfiles.Dir(t, map[string]string{"hook.lua": fmt.Sprintf(streamScript, "", "record(payload)")})
	e := startEngine(t, ns, dir, Options{Preload: []Preloader{s.preload()}})
	eventually(t, "50 messages run", func() bool { d, _ := s.counts(); return d == 50 })
	consumerSettled(t, js, "HOOKS", "hooks.in", "hook")
	if d, n := s.counts(); d != 50 || n != 50 {
		t.Fatalf("%d messages in %d calls, want 50 in 50", d, n)
	}
	// The script is not also subscribed on the subject: a core message would run it twice.
	if got := e.Registry().Subjects(); len(got) != 0 {
		t.Fatalf("subscribed to %v, want nothing but the stream", got)
	}
}

// Stopping msgscript in the middle of a backlog loses nothing: what was not acknowledged runs
// after the restart.
func TestStreamLosesNothingOverARestart(t *testing.T) {
	ns := testnats.StartJetStream(t, "")
	js := jetStreamWith(t, ns, "HOOKS", "hooks.>")
	s := newSeen()
	dir := testfiles.Dir(t, map[string]string{"hook.lua": fmt.Sprintf(streamScript, "--* timeout: 1s", "sleep(20) record(payload)")})
	var n atomicCounter
	opts := Options{Preload: []Preloader{s.preload(), counter(&n.Int64)}, MaxConcurrent: 4}
	// Both instances log to the test, so that a failure shows what the stopping one did with
	// each message (a message handed back too early went round between the stopping instance and
	// the server until the next dead-lettered it: see TestStreamStopSpendsNoTries).
	first := New(connect(t, ns), dirStore(dir)(zap.NewNop()), Options{Preload: opts.Preload, MaxConcurrent: opts.MaxConcurrent, Logger: zaptest.NewLogger(t).Named("first")})
	if err := first.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	publishN(t, js, "hooks.in", 100)
	eventually(t, "the first instance started on the backlog", func() bool { d, _ := s.counts(); return d >= 10 })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := first.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	done, _ := s.counts()
	if done >= 100 {
		t.Fatalf("the first instance ran all %d before stopping; the test proves nothing", done)
	}
	startEngine(t, ns, dir, opts)
	// Most come at once (the stopping instance naked what it could not start); one the server
	// sent to the stopping instance's pull as it went away comes again after its ack wait (6s).
	deadline := time.Now().Add(15 * time.Second)
	for d, _ := s.counts(); d < 100; d, _ = s.counts() {
		if time.Now().After(deadline) {
			t.Fatalf("after the restart, %d of 100 ran; missing %v; consumer %s", d, s.missing(100), consumerState(js, "HOOKS", "hooks.in", "hook"))
		}
		time.Sleep(10 * time.Millisecond)
	}
	consumerSettled(t, js, "HOOKS", "hooks.in", "hook")
}

// A stopping instance hands back the messages it was delivered and cannot start, and the server
// must not hand them straight back to it: while its pull was still open, each such message went
// round between the two until the pull closed (33 deliveries in one stop, seen in CI), and the next
// instance dead-lettered it past max_deliver without running it.
func TestStreamStopSpendsNoTries(t *testing.T) {
	ns := testnats.StartJetStream(t, "")
	js := jetStreamWith(t, ns, "HOOKS", "hooks.>")
	s := newSeen()
	// The first 8 messages hold the trigger's 8 slots while the instance stops; the next wait.
	dir := testfiles.Dir(t, map[string]string{"hook.lua": fmt.Sprintf(streamScript, "--* timeout: 5s",
		"if payload < 'm008' then sleep(1500) end record(payload)")})
	var n atomic.Int64
	opts := Options{Preload: []Preloader{s.preload(), counter(&n)}, MaxConcurrent: 32}
	first := New(connect(t, ns), dirStore(dir)(zap.NewNop()), Options{Preload: opts.Preload, MaxConcurrent: opts.MaxConcurrent, Logger: zaptest.NewLogger(t).Named("first")})
	if err := first.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	publishN(t, js, "hooks.in", 16)
	delivered := func() uint64 {
		c, err := js.Consumer(context.Background(), "HOOKS", script.ResourceName("hooks.in", "hook"))
		if err != nil {
			return 0
		}
		info, err := c.Info(context.Background())
		if err != nil {
			return 0
		}
		return info.Delivered.Consumer
	}
	eventually(t, "the slots taken and more delivered", func() bool { return delivered() >= 9 })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := first.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	before := delivered()
	startEngine(t, ns, dir, opts)
	eventually(t, "all 16 run", func() bool { d, _ := s.counts(); return d == 16 })
	consumerSettled(t, js, "HOOKS", "hooks.in", "hook")
	// Each message handed back is delivered once to the stopping instance and once to the next.
	if n := delivered(); n > 24 {
		t.Errorf("16 messages took %d deliveries over one stop (%d by the time it stopped)", n, before)
	}
}

// missing lists the payloads m000... of n that were not seen.
func (s *seen) missing(n int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for i := range n {
		if p := fmt.Sprintf("m%03d", i); s.calls[p] == 0 {
			out = append(out, p)
		}
	}
	return out
}

// consumerState says what JetStream holds for a script's consumer, for a failing test's message.
func consumerState(js jetstream.JetStream, stream, subject, name string) string {
	c, err := js.Consumer(context.Background(), stream, script.ResourceName(subject, name))
	if err != nil {
		return err.Error()
	}
	i, err := c.Info(context.Background())
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("pending %d, ack pending %d, redelivered %d, waiting pulls %d, delivered %d, acked %d",
		i.NumPending, i.NumAckPending, i.NumRedelivered, i.NumWaiting, i.Delivered.Consumer, i.AckFloor.Consumer)
}

// A script that always fails is tried max_deliver times, with its backoff between the tries,
// then its message goes to msgscript.dead.<subject> with the error, and is not tried again.
func TestStreamDeadLetters(t *testing.T) {
	ns := testnats.StartJetStream(t, "")
	js := jetStreamWith(t, ns, "HOOKS", "hooks.>")
	jetStreamWith(t, ns, "DEAD", "msgscript.dead.>")
	dead := watch(t, ns, "msgscript.dead.>")
	s := newSeen()
	dir := testfiles.Dir(t, map[string]string{"hook.lua": fmt.Sprintf(streamScript,
		"--* max_deliver: 3\n--* backoff: 100ms, 300ms", `record(payload) error("the API is down")`)})
	e := startEngine(t, ns, dir, Options{Preload: []Preloader{s.preload()}})
	start := time.Now()
	if _, err := js.PublishMsg(context.Background(), &nats.Msg{Subject: "hooks.in", Data: []byte("order 42"),
		Header: nats.Header{"X-Delivery": []string{"abc"}}}); err != nil {
		t.Fatal(err)
	}
	m, err := dead.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatalf("no dead letter: %v", err)
	}
	took := time.Since(start)
	want := map[string]string{
		micro.ErrorCodeHeader: "500", HeaderDeadSubject: "hooks.in", HeaderDeadStream: "HOOKS", HeaderDeadScript: "hook",
		HeaderDeadDeliveries: "3", HeaderDeadSequence: "1", "X-Delivery": "abc",
	}
	for k, v := range want {
		if got := m.Header.Get(k); got != v {
			t.Errorf("header %s: got %q, want %q", k, got, v)
		}
	}
	if e := m.Header.Get(micro.ErrorHeader); !strings.Contains(e, "hook: ") || !strings.Contains(e, "the API is down") {
		t.Errorf("error header: got %q", e)
	}
	if m.Subject != "msgscript.dead.hooks.in" || string(m.Data) != "order 42" {
		t.Errorf("dead letter %s %q", m.Subject, m.Data)
	}
	if took < 400*time.Millisecond {
		t.Errorf("three tries in %v: the backoff of 100ms then 300ms was not waited", took)
	}
	consumerSettled(t, js, "HOOKS", "hooks.in", "hook")
	time.Sleep(500 * time.Millisecond) // a fourth try would come within the backoff
	if _, n := s.counts(); n != 3 {
		t.Fatalf("tried %d times, want max_deliver 3", n)
	}
	st, _, _ := e.Registry().ScriptStatus("hooks.in", "hook")
	if tr := st.Trigger; tr == nil || !tr.Running || tr.Retried != 2 || tr.Dead != 1 || tr.Acked != 0 || tr.Consumer != script.ResourceName("hooks.in", "hook") {
		t.Errorf("status: %+v", st.Trigger)
	}
	// The stream keeping dead letters has it.
	stored, err := js.Stream(context.Background(), "DEAD")
	if err != nil {
		t.Fatal(err)
	}
	if msg, err := stored.GetLastMsgForSubject(context.Background(), "msgscript.dead.hooks.in"); err != nil || string(msg.Data) != "order 42" {
		t.Fatalf("dead letter not kept by the DEAD stream: %v", err)
	}
}

// A script that fails once then succeeds is acked at its second try: no dead letter.
func TestStreamRetrySucceeds(t *testing.T) {
	ns := testnats.StartJetStream(t, "")
	js := jetStreamWith(t, ns, "HOOKS", "hooks.>")
	dead := watch(t, ns, "msgscript.dead.>")
	s := newSeen()
	// The state keeps no globals between calls: whether to fail is decided in Go.
	var failed atomicCounter
	failOnce := func(L *lua.LState) {
		L.SetGlobal("error_once", L.NewFunction(func(L *lua.LState) int {
			if failed.Add(1) == 1 {
				L.RaiseError("flaky")
			}
			return 0
		}))
	}
	dir := testfiles.Dir(t, map[string]string{"hook.lua": fmt.Sprintf(streamScript, "--* backoff: 50ms", `record(payload) error_once()`)})
	startEngine(t, ns, dir, Options{Preload: []Preloader{s.preload(), failOnce}})
	publishN(t, js, "hooks.in", 1)
	consumerSettled(t, js, "HOOKS", "hooks.in", "hook")
	eventually(t, "two tries", func() bool { _, n := s.counts(); return n == 2 })
	if m, err := dead.NextMsg(300 * time.Millisecond); err == nil {
		t.Fatalf("dead letter for a message that succeeded at its second try: %v", m.Header)
	}
}

// With two instances on one stream, each message runs once.
func TestStreamTwoInstancesRunEachMessageOnce(t *testing.T) {
	ns := testnats.StartJetStream(t, "")
	js := jetStreamWith(t, ns, "HOOKS", "hooks.>")
	dir := testfiles.Dir(t, map[string]string{"hook.lua": fmt.Sprintf(streamScript, "", "record(payload)")})
	a, b := newSeen(), newSeen()
	startEngine(t, ns, dir, Options{Preload: []Preloader{a.preload()}})
	startEngine(t, ns, dir, Options{Preload: []Preloader{b.preload()}})
	publishN(t, js, "hooks.in", 200)
	consumerSettled(t, js, "HOOKS", "hooks.in", "hook")
	eventually(t, "200 calls", func() bool { _, x := a.counts(); _, y := b.counts(); return x+y >= 200 })
	time.Sleep(200 * time.Millisecond)
	_, x := a.counts()
	_, y := b.counts()
	if x+y != 200 {
		t.Fatalf("%d + %d calls for 200 messages", x, y)
	}
	for p := range a.calls {
		if b.callsOf(p) > 0 {
			t.Fatalf("%s ran on both instances", p)
		}
	}
}

// A message carrying Msgscript-Reply-To gets the script's reply there.
func TestStreamReplyTo(t *testing.T) {
	ns := testnats.StartJetStream(t, "")
	js := jetStreamWith(t, ns, "HOOKS", "hooks.>")
	dir := testfiles.Dir(t, map[string]string{"hook.lua": fmt.Sprintf(streamScript, "", "")})
	startEngine(t, ns, dir, Options{})
	nc := connect(t, ns)
	replies, _ := nc.SubscribeSync("answers.1")
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, err := js.PublishMsg(context.Background(), &nats.Msg{Subject: "hooks.in", Data: []byte("x"),
		Header: nats.Header{HeaderReplyTo: []string{"answers.1"}}}); err != nil {
		t.Fatal(err)
	}
	m, err := replies.NextMsg(5 * time.Second)
	if err != nil || string(m.Data) != `{"hook":"ok"}` {
		t.Fatalf("reply: %v %v", m, err)
	}
}

// A server without JetStream: the script is not run, and the log says what to do.
func TestStreamWithoutJetStreamSaysSo(t *testing.T) {
	ns := startNATS(t)
	core, logs := observer.New(zapcore.ErrorLevel)
	dir := testfiles.Dir(t, map[string]string{
		"hook.lua": fmt.Sprintf(streamScript, "", ""),
		"tick.lua": "--* subject: jobs.tick\n--* cron: @every 1s\nfunction OnMessage() end\n",
	})
	e := startEngine(t, ns, dir, Options{Logger: zap.New(core)})
	for _, what := range []string{"--* stream: HOOKS", `cron "@every 1s"`} {
		eventually(t, "an error naming "+what, func() bool {
			for _, e := range logs.All() {
				if err, _ := e.ContextMap()["error"].(string); strings.Contains(err, what) && strings.Contains(err, "start nats-server with -js") {
					return true
				}
			}
			return false
		})
	}
	for _, name := range []string{"hook", "tick"} {
		subject := map[string]string{"hook": "hooks.in", "tick": "jobs.tick"}[name]
		st, _, _ := e.Registry().ScriptStatus(subject, name)
		if st.Trigger == nil || st.Trigger.Running || !strings.Contains(st.Trigger.Error, "start nats-server with -js") {
			t.Errorf("%s status: %+v", name, st.Trigger)
		}
	}
}

// A stream that does not exist yet: the trigger says so, and starts once it is made.
func TestStreamMadeLater(t *testing.T) {
	ns := testnats.StartJetStream(t, "")
	s := newSeen()
	dir := testfiles.Dir(t, map[string]string{"hook.lua": fmt.Sprintf(streamScript, "", "record(payload)")})
	startEngine(t, ns, dir, Options{Preload: []Preloader{s.preload()}, retryEvery: 100 * time.Millisecond})
	time.Sleep(300 * time.Millisecond)
	js := jetStreamWith(t, ns, "HOOKS", "hooks.>")
	publishN(t, js, "hooks.in", 3)
	eventually(t, "the messages run", func() bool { d, _ := s.counts(); return d == 3 })
}

// deliver: new makes a new consumer start at the end of the stream: what was stored before is
// left alone, what comes next runs.
func TestStreamDeliverNew(t *testing.T) {
	ns := testnats.StartJetStream(t, "")
	js := jetStreamWith(t, ns, "HOOKS", "hooks.>")
	publishN(t, js, "hooks.in", 3)
	s := newSeen()
	dir := testfiles.Dir(t, map[string]string{"hook.lua": fmt.Sprintf(streamScript, "--* deliver: new", "record(payload)")})
	startEngine(t, ns, dir, Options{Preload: []Preloader{s.preload()}})
	eventually(t, "the consumer made", func() bool {
		_, err := js.Consumer(context.Background(), "HOOKS", script.ResourceName("hooks.in", "hook"))
		return err == nil
	})
	if _, err := js.Publish(context.Background(), "hooks.in", []byte("fresh")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the new message", func() bool { return s.callsOf("fresh") == 1 })
	consumerSettled(t, js, "HOOKS", "hooks.in", "hook")
	if d, _ := s.counts(); d != 1 {
		t.Fatalf("%d messages ran, want only the one published after the start", d)
	}
}
