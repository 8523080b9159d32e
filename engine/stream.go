package engine

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/msgscript/msgscript/script"
)

// HeaderReplyTo, on a message stored in a stream, names the subject the reply of its script goes
// to (the reply subject of a stored message is JetStream's own, so it cannot carry one).
const HeaderReplyTo = "Msgscript-Reply-To"

// streamTrigger runs a `--* stream:` script on the messages of a JetStream stream, through a
// durable pull consumer named after the script (script.ResourceName) and filtered on its
// subject. Every instance consumes the same consumer, so JetStream gives each message to one of
// them. A call that succeeds acks its message; one that fails naks it with the script's backoff,
// until its try number max_deliver fails too: then the message goes to msgscript.dead.<subject>
// and is terminated. The consumer's ack wait follows the script's timeout, so a message whose
// instance died is delivered again soon after the call would have ended.
type streamTrigger struct {
	t          *triggers
	stream     string
	subject    string
	name       string
	deliverNew bool
	ackWait    time.Duration

	prog  atomic.Pointer[Program]
	slots chan struct{} // bounds the calls at once, as a subscription's do
	turn  *subjectQueue // where it waits for one of the slots all calls share
	calls sync.WaitGroup

	done     chan struct{} // closed by stop
	finished chan struct{} // closed when run has returned
	once     sync.Once
	// handBack is closed once the consumer pulls no more (see run): a handler waiting for a slot
	// then hands its message back. Handed back before, it went straight back to this instance's
	// open pull, round and round until the pull closed, each time one more delivery counted
	// against max_deliver (33 in one stop).
	handBack     chan struct{}
	handBackOnce sync.Once
	mu           sync.Mutex
	stopping     bool                   // under mu: set once stop waits for calls
	said         atomic.Pointer[string] // the last failure logged, not to say it at every retry
	refused      logEvery               // messages that could not be dead-lettered, or replies refused
	state        *triggerState
}

// ackMargin is what the ack wait adds to the script's timeout: the time to start the call and
// send the ack.
const ackMargin = 5 * time.Second

// maxBuffered bounds the messages a stream trigger has delivered and waiting for a call.
const maxBuffered = 64

// drainWait bounds how long a stopping trigger waits for the messages it was delivered to start.
const drainWait = time.Second

func ackWaitFor(p *Program) time.Duration { return p.timeout + ackMargin }

func startStream(t *triggers, p *Program) *streamTrigger {
	s := &streamTrigger{
		t: t, stream: p.Headers.Stream, subject: p.Subject, name: p.Name, deliverNew: p.Headers.DeliverNew,
		ackWait: ackWaitFor(p), slots: make(chan struct{}, t.opts.MaxConcurrentPerSubject),
		turn: t.disp.turnQueue("stream " + p.Headers.Stream + " " + p.Subject + " " + p.Name),
		done: make(chan struct{}), finished: make(chan struct{}), handBack: make(chan struct{}), state: t.reg.triggers.of(scriptKey{p.Subject, p.Name}),
	}
	s.prog.Store(p)
	go s.run()
	return s
}

// same: what the consumer is made of. max_deliver and backoff are read per message.
func (s *streamTrigger) same(p *Program) bool {
	return p.Headers.Stream == s.stream && p.Subject == s.subject && p.Headers.DeliverNew == s.deliverNew && ackWaitFor(p) == s.ackWait
}

func (s *streamTrigger) serve(p *Program) { s.prog.Store(p) }

// stop stops consuming (messages delivered to this instance and not yet taken run first), then
// waits for the calls until ctx ends. A message whose call did not end is delivered again.
func (s *streamTrigger) stop(ctx context.Context) {
	s.once.Do(func() { close(s.done) })
	select {
	case <-s.finished:
	case <-ctx.Done():
		return
	}
	s.mu.Lock()
	s.stopping = true
	s.mu.Unlock()
	waitFor(ctx, &s.calls)
}

func (s *streamTrigger) fields() []zap.Field {
	return []zap.Field{zap.String("subject", s.subject), zap.String("name", s.name), zap.String("stream", s.stream)}
}

// run keeps the consumer going: it makes it (again after it was deleted, or while the stream or
// JetStream is missing) until stop.
func (s *streamTrigger) run() {
	defer close(s.finished)
	defer s.handBackWaiting()
	for {
		cc, broken, err := s.consume()
		s.state.setError(err)
		if err != nil {
			if msg := err.Error(); s.said.Load() == nil || *s.said.Load() != msg {
				s.said.Store(&msg)
				s.t.log.Error("stream trigger not running; retrying", append(s.fields(), zap.Error(err))...)
			}
			if !s.t.waitRetry(s.done) {
				return
			}
			continue
		}
		s.said.Store(nil)
		s.t.log.Info("consuming stream", append(s.fields(), zap.String("consumer", script.ResourceName(s.subject, s.name)), zap.Duration("ack_wait", s.ackWait))...)
		select {
		case <-s.done:
			// The messages delivered to this instance and not yet taken get a moment to start;
			// past it (a handler waiting for a slot, a pull the server no longer answers after it
			// restarted) they are left: not acked, they are delivered again.
			cc.Drain()
			s.handBackWaiting()
			select {
			case <-cc.Closed():
			case <-time.After(drainWait):
				cc.Stop()
			}
			return
		case err := <-broken:
			cc.Stop()
			s.state.setError(err)
			s.t.log.Warn("stream consumer lost; making it again", append(s.fields(), zap.Error(err))...)
			if !s.t.waitRetry(s.done) {
				return
			}
		}
	}
}

// consume makes (or updates) the consumer and starts taking its messages. broken receives the
// error that ends the consumption for good (the consumer or its stream was deleted).
func (s *streamTrigger) consume() (jetstream.ConsumeContext, <-chan error, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	what := fmt.Sprintf("script %q on %s (--* stream: %s)", s.name, s.subject, s.stream)
	js, err := s.t.jetStream()
	if err != nil {
		return nil, nil, err
	}
	name := script.ResourceName(s.subject, s.name)
	cfg := jetstream.ConsumerConfig{
		Durable:       name,
		Description:   fmt.Sprintf("msgscript: script %q on %s", s.name, s.subject),
		FilterSubject: s.subject,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       s.ackWait,
		MaxDeliver:    -1, // msgscript counts the tries, to dead-letter the last one
		DeliverPolicy: jetstream.DeliverAllPolicy,
	}
	if s.deliverNew {
		cfg.DeliverPolicy = jetstream.DeliverNewPolicy
	}
	existing, err := js.Consumer(ctx, s.stream, name)
	switch {
	case err == nil:
		// Where a consumer starts is decided once, when it is made; JetStream refuses to change it.
		c := existing.CachedInfo().Config
		cfg.DeliverPolicy, cfg.OptStartSeq, cfg.OptStartTime = c.DeliverPolicy, c.OptStartSeq, c.OptStartTime
	case errors.Is(err, jetstream.ErrStreamNotFound):
		return nil, nil, fmt.Errorf("stream %q not found: create it, e.g. nats stream add %s --subjects '%s' --defaults", s.stream, s.stream, s.subject)
	case !errors.Is(err, jetstream.ErrConsumerNotFound):
		return nil, nil, explain(err, what)
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, s.stream, cfg)
	if err != nil {
		return nil, nil, explain(err, what)
	}
	broken := make(chan error, 1)
	cc, err := cons.Consume(s.handle,
		// Few enough waiting in the client that, should every slot be taken for long, they do not
		// outlive their ack wait there (the one waiting for a slot is kept in progress).
		jetstream.PullMaxMessages(min(cap(s.slots), maxBuffered)),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			if errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrConsumerNotFound) {
				select {
				case broken <- err:
				default:
				}
				return
			}
			s.t.log.Debug("stream consumer", append(s.fields(), zap.Error(err))...)
		}))
	if err != nil {
		return nil, nil, err
	}
	return cc, broken, nil
}

// handle takes a slot for a message, then runs it on its own goroutine: the consumer delivers the
// next one meanwhile.
func (s *streamTrigger) handle(msg jetstream.Msg) {
	received := time.Now()
	if !s.begin() {
		_ = msg.Nak() // stopping: no call takes it here; another instance may at once
		return
	}
	if !s.acquire(msg, s.slots, nil) {
		s.calls.Done()
		_ = msg.Nak()
		return
	}
	if granted := s.t.disp.awaitSlot(s.turn); !s.acquire(msg, nil, granted) {
		s.t.disp.withdraw(s.turn, granted)
		<-s.slots
		s.calls.Done()
		_ = msg.Nak()
		return
	}
	go func() {
		defer func() {
			s.t.disp.releaseTurn()
			<-s.slots
			s.calls.Done()
		}()
		s.process(msg, received)
	}()
}

// handBackWaiting has the handlers waiting for a slot hand their messages back.
func (s *streamTrigger) handBackWaiting() { s.handBackOnce.Do(func() { close(s.handBack) }) }

// acquire waits for a slot for msg: one of the trigger's own (a send on own), or one of all
// calls' (granted receives; see awaitSlot), unless the trigger stops pulling meanwhile (false). A
// slot there at once is taken even when stopping: the messages already delivered run while it
// drains.
// While it waits, JetStream is told the message is in progress, so that its ack wait does not run
// out and send it to another instance as well.
func (s *streamTrigger) acquire(msg jetstream.Msg, own chan<- struct{}, granted <-chan struct{}) bool {
	select {
	case own <- struct{}{}:
		return true
	case <-granted:
		return true
	default:
	}
	tick := time.NewTicker(s.ackWait / 3)
	defer tick.Stop()
	for {
		select {
		case own <- struct{}{}:
			return true
		case <-granted:
			return true
		case <-tick.C:
			_ = msg.InProgress()
		case <-s.handBack:
			return false
		}
	}
}

// begin counts a message in calls unless the trigger is stopping, when it reports false: stop
// waits for calls once no new one can begin.
func (s *streamTrigger) begin() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		return false
	}
	s.calls.Add(1)
	return true
}

// process runs the script on one message and settles it with JetStream.
func (s *streamTrigger) process(msg jetstream.Msg, received time.Time) {
	p := s.prog.Load()
	tries := 1
	if meta, err := msg.Metadata(); err == nil {
		tries = int(meta.NumDelivered)
	}
	maxDeliver := p.Headers.MaxDeliver
	if maxDeliver == 0 {
		maxDeliver = script.DefaultMaxDeliver
	}
	m := &nats.Msg{Subject: msg.Subject(), Data: msg.Data(), Header: msg.Headers()}
	if tries > maxDeliver {
		// Its last try ended without settling it (its instance stopped, or the dead letter could
		// not be sent): the script has had its tries.
		s.giveUp(msg, m, &CallError{Msg: fmt.Sprintf("delivered %d times, past max_deliver %d, without an answer (an instance stopped during its last try?)", tries, maxDeliver)}, tries)
		return
	}
	if time.Since(received) > s.ackWait/4 {
		_ = msg.InProgress() // it waited for a slot: give the call its whole ack wait
	}
	res := s.t.reg.runTriggered(s.t.disp.ctx, p, m)
	if res.err == nil {
		if err := msg.Ack(); err != nil {
			s.t.log.Warn("cannot ack a stream message; it will run again", append(s.fields(), zap.Error(err))...)
		}
		s.state.acked.Add(1)
		s.reply(m, res)
		return
	}
	if tries < maxDeliver && !res.err.refused {
		s.state.retried.Add(1)
		_ = msg.NakWithDelay(script.RetryDelay(p.Headers.Backoff, tries))
		return
	}
	if s.giveUp(msg, m, res.err, tries) {
		s.reply(m, res)
	}
}

// giveUp dead-letters a message whose script failed for the last time and terminates it; when the
// dead letter cannot be sent, the message is kept (delivered again after the backoff) and giveUp
// reports false. A message that cannot become a dead letter (a dead letter itself, or a subject
// too long) is terminated with a log line: it stays in its stream.
func (s *streamTrigger) giveUp(msg jetstream.Msg, m *nats.Msg, failure *CallError, tries int) bool {
	if why := deadLetterRefused(m.Subject); why != "" {
		if skipped, ok := s.refused.allow(); ok {
			s.t.log.Error("stream message not dead-lettered: "+why+"; it stays in its stream",
				append(s.fields(), zap.String("message_subject", truncate(m.Subject)), zap.Uint64("sequence", sequenceOf(msg)),
					zap.String("error", failure.Msg), zap.Int64("more_since_last_said", skipped))...)
		}
		_ = msg.TermWithReason("msgscript: failed " + strconv.Itoa(tries) + " times; " + why)
		return true
	}
	if err := s.deadLetter(msg, m, failure, tries); err != nil {
		if skipped, ok := s.refused.allow(); ok {
			s.t.log.Error("cannot dead-letter a stream message; keeping it", append(s.fields(), zap.Error(err), zap.Int64("more_since_last_said", skipped))...)
		}
		_ = msg.NakWithDelay(script.RetryDelay(s.prog.Load().Headers.Backoff, tries))
		return false
	}
	s.state.dead.Add(1)
	if skipped, ok := s.refused.allow(); ok {
		s.t.log.Warn("stream message dead-lettered", append(s.fields(), zap.Uint64("sequence", sequenceOf(msg)), zap.Int("tries", tries),
			zap.String("to", DeadLetterPrefix+truncate(m.Subject)), zap.String("error", failure.Msg), zap.Int64("more_since_last_said", skipped))...)
	}
	_ = msg.TermWithReason(fmt.Sprintf("msgscript: failed %d times, sent to %s", tries, DeadLetterPrefix+m.Subject))
	return true
}

// reply sends the script's answer where the message's Msgscript-Reply-To header says.
func (s *streamTrigger) reply(m *nats.Msg, res result) {
	to := m.Header.Get(HeaderReplyTo)
	if to == "" {
		return
	}
	if err := replyAllowed(to); err != nil {
		if skipped, ok := s.refused.allow(); ok {
			s.t.log.Warn("no reply sent", append(s.fields(), zap.Error(err), zap.Int64("more_since_last_said", skipped))...)
		}
		return
	}
	if err := s.t.nc.Load().PublishMsg(newReply(to, m.Subject, []result{res})); err != nil {
		s.t.log.Warn("cannot send reply", append(s.fields(), zap.Error(err))...)
	}
}
