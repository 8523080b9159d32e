package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/zap"

	"github.com/msgscript/msgscript/script"
)

// dispatcher keeps one queue subscription per subject pattern that has scripts, runs the scripts
// of each message and sends the reply.
//
// Messages are delivered by the NATS client straight into a channel per subscription, where
// "pullers" wait: the puller that takes a message runs it itself, so a message costs one goroutine
// hand-off, as in a hand-written responder. Pullers are elastic: whoever takes the last waiting
// puller's place starts a spare before running its message (so a slow script never holds up the
// next message), and pullers beyond two idle ones end.
type dispatcher struct {
	nc   atomic.Pointer[nats.Conn]
	reg  *Registry
	opts *Options
	log  *zap.Logger
	ctx  context.Context // parent of every call; cancelled only when a Stop runs out of time
	kill context.CancelFunc

	slots   chan struct{}  // bounds the calls running at once (Options.MaxConcurrent)
	pullers sync.WaitGroup // every puller of every subscription

	mu      sync.Mutex
	subs    map[string]*subscription
	stopped bool

	refusedReplies logEvery // replies refused by replyAllowed, said once a second at most
}

// subscription is one subject pattern's NATS subscription and its pullers.
type subscription struct {
	pattern string
	sub     *nats.Subscription
	msgs    chan *nats.Msg
	slots   chan struct{} // bounds the calls running at once for this pattern
	idle    atomic.Int32  // pullers waiting on msgs
	drained chan struct{} // closed once NATS delivers no more: pullers empty msgs and end
}

// subscriptionBuffer is how many received messages may wait for a puller, per subscription. Past
// it NATS drops messages and reports a slow consumer (logged).
const subscriptionBuffer = 16 * 1024

// newDispatcher returns a dispatcher for the registry's scripts on nc. It subscribes when sync is
// called (by the registry, after each change).
func newDispatcher(nc *nats.Conn, reg *Registry, opts *Options) *dispatcher {
	ctx, kill := context.WithCancel(context.Background())
	d := &dispatcher{
		reg: reg, opts: opts, log: opts.Logger, ctx: ctx, kill: kill,
		slots: make(chan struct{}, opts.MaxConcurrent),
		subs:  map[string]*subscription{},
	}
	d.nc.Store(nc)
	return d
}

// setConn moves every subscription to nc. The old connection is closed for good, so its
// subscriptions deliver nothing more: their pullers finish what they hold and end.
func (d *dispatcher) setConn(nc *nats.Conn) {
	d.mu.Lock()
	if d.stopped || d.nc.Load() == nc {
		d.mu.Unlock()
		return
	}
	d.nc.Store(nc)
	old := d.subs
	d.subs = map[string]*subscription{}
	d.mu.Unlock()
	for _, s := range old {
		go d.drain(context.Background(), s)
	}
	d.sync()
}

// flushTimeout bounds the round trip that confirms new subscriptions with the server.
const flushTimeout = 2 * time.Second

// sync brings the subscriptions in line with the registry's subjects: it subscribes to new ones
// and drains those that lost their last script (messages already received are still handled).
func (d *dispatcher) sync() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopped {
		return
	}
	subjects := d.reg.Subjects()
	want := make(map[string]bool, len(subjects))
	added := false
	for _, pattern := range subjects {
		want[pattern] = true
		if d.subs[pattern] != nil {
			continue
		}
		s := &subscription{pattern: pattern, msgs: make(chan *nats.Msg, subscriptionBuffer),
			slots: make(chan struct{}, d.opts.MaxConcurrentPerSubject), drained: make(chan struct{})}
		sub, err := d.nc.Load().ChanQueueSubscribe(pattern, d.opts.QueueGroup, s.msgs)
		if err != nil {
			d.log.Error("cannot subscribe", zap.String("subject", pattern), zap.Error(err))
			continue
		}
		s.sub = sub
		d.subs[pattern] = s
		d.startPuller(s)
		added = true
		d.log.Debug("subscribed", zap.String("subject", pattern), zap.String("queue_group", d.opts.QueueGroup))
	}
	for pattern, s := range d.subs {
		if !want[pattern] {
			delete(d.subs, pattern)
			go d.drain(context.Background(), s)
		}
	}
	if added {
		// Make sure the server knows the new subscriptions before anyone is told the script is
		// live. When NATS is down this fails; the client subscribes again on reconnect.
		if err := d.nc.Load().FlushTimeout(flushTimeout); err != nil {
			d.log.Warn("subscriptions not confirmed by the server yet", zap.Error(err))
		}
	}
}

// drain stops the subscription's delivery and, once NATS has handed over everything it had, lets
// the pullers finish what is buffered and end.
func (d *dispatcher) drain(ctx context.Context, s *subscription) {
	closed := s.sub.StatusChanged(nats.SubscriptionClosed)
	if err := s.sub.Drain(); err != nil {
		d.log.Warn("draining subscription", zap.String("subject", s.pattern), zap.Error(err))
		_ = s.sub.Unsubscribe()
	} else {
		select {
		case <-closed:
		case <-ctx.Done():
			_ = s.sub.Unsubscribe()
		}
	}
	close(s.drained)
}

func (d *dispatcher) startPuller(s *subscription) {
	d.pullers.Add(1)
	go d.pull(s)
}

// pull waits for messages of one subscription and runs them.
func (d *dispatcher) pull(s *subscription) {
	defer d.pullers.Done()
	for {
		s.idle.Add(1)
		select {
		case m := <-s.msgs:
			d.serve(s, m)
			// Keep two pullers waiting at most: enough that a burst rarely waits for a goroutine
			// to start, few enough that a quiet subject holds no crowd.
			if s.idle.Load() >= 2 {
				return
			}
		case <-s.drained:
			s.idle.Add(-1)
			for {
				select {
				case m := <-s.msgs:
					d.take(s)
					d.handle(s.pattern, m)
					d.put(s)
				default:
					return
				}
			}
		}
	}
}

// serve handles one message taken from s: it takes its slots, makes sure another puller waits for
// the next message, then handles the message itself.
func (d *dispatcher) serve(s *subscription, m *nats.Msg) {
	d.take(s)
	defer d.put(s)
	if s.idle.Add(-1) == 0 {
		select {
		case <-s.drained:
		default:
			d.startPuller(s)
		}
	}
	d.handle(s.pattern, m)
}

// load is how many calls run now and how many messages wait for one.
func (d *dispatcher) load() (inFlight, waiting int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, s := range d.subs {
		waiting += len(s.msgs)
	}
	return len(d.slots), waiting
}

// take waits for a slot of s's subject pattern, then for one of all (MaxConcurrentPerSubject and
// MaxConcurrent calls run at once): a subject that holds its share, a loop through NATS for
// instance, leaves the other slots to the other subjects. put gives them back.
func (d *dispatcher) take(s *subscription) {
	s.slots <- struct{}{}
	d.slots <- struct{}{}
}

func (d *dispatcher) put(s *subscription) {
	<-d.slots
	<-s.slots
}

// handle runs the scripts of the message's subscription and replies if the message asks for it.
func (d *dispatcher) handle(pattern string, m *nats.Msg) {
	reply := d.reg.answerCore(d.ctx, pattern, m)
	if m.Reply == "" {
		return
	}
	if err := replyAllowed(m.Reply); err != nil {
		if skipped, ok := d.refusedReplies.allow(); ok {
			d.log.Warn("no reply sent", zap.String("subject", m.Subject), zap.Error(err), zap.Int64("more_since_last_said", skipped))
		}
		return
	}
	nc := d.nc.Load()
	err := nc.PublishMsg(reply)
	if errors.Is(err, nats.ErrMaxPayload) {
		// Said at once, rather than leaving the caller to wait out its timeout.
		size := len(reply.Data)
		err = nc.PublishMsg(failureReply(m.Reply, 500, fmt.Sprintf("reply of %d bytes exceeds NATS max_payload %d", size, nc.MaxPayload())))
		d.log.Error("reply too large for NATS", zap.String("subject", m.Subject), zap.Int("bytes", size), zap.Int64("max_payload", nc.MaxPayload()))
	}
	if err != nil {
		d.log.Warn("cannot send reply", zap.String("subject", m.Subject), zap.Error(err))
	}
}

// replyAllowed refuses a reply subject msgscript must not publish to, whoever asks:
//   - one NATS would close the connection over: too long for the protocol line (a client can send
//     a request whose own line just fits, with a reply subject that does not leave room), or
//     malformed;
//   - one of NATS's own ($JS.API, $SYS, $KV, $JS.ACK...): msgscript would act there with its
//     connection's permissions on the sender's behalf (deleting a stream, acknowledging a message
//     of someone else's consumer). Replies go to inboxes; no client names a $ subject for them.
func replyAllowed(reply string) error {
	if err := script.ValidatePublish(reply); err != nil {
		return fmt.Errorf("reply subject: %v", err)
	}
	if strings.HasPrefix(reply, "$") {
		return fmt.Errorf("reply subject %.64q is one of NATS's own ($...)", reply)
	}
	return nil
}

// Stop drains every subscription (messages already received still run and get their reply) and
// waits for the calls in progress. When ctx ends first, the calls still running are cancelled.
func (d *dispatcher) Stop(ctx context.Context) error {
	d.mu.Lock()
	d.stopped = true
	subs := d.subs
	d.subs = nil
	d.mu.Unlock()

	var draining sync.WaitGroup
	for _, s := range subs {
		draining.Go(func() { d.drain(ctx, s) })
	}
	draining.Wait()
	done := make(chan struct{})
	go func() {
		d.pullers.Wait()
		close(done)
	}()
	select {
	case <-done:
		d.kill()
		return nil
	case <-ctx.Done():
		d.kill()
		select {
		case <-done:
		case <-time.After(abandonAfter):
			// A call stuck in Go code (a module blocking without watching its context) would
			// otherwise hold Stop, and with it `caddy stop`, a reload or SIGTERM, for ever.
			d.log.Error("calls still running after being cancelled; leaving them behind",
				zap.Int("calls", len(d.slots)), zap.Duration("waited", abandonAfter))
		}
		return ctx.Err()
	}
}

// abandonAfter is how long Stop waits, once it cancelled them, for calls to end.
const abandonAfter = time.Second
