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
// of each message on its workers (see workers.go) and sends the reply.
type dispatcher struct {
	nc   atomic.Pointer[nats.Conn]
	reg  *Registry
	opts *Options
	log  *zap.Logger
	ctx  context.Context // parent of every call, carrying root
	root *callRoot       // killed only when a Stop runs out of time

	slots chan struct{} // bounds the calls running at once (Options.MaxConcurrent), triggers' too (turns.go)

	msgs     chan *nats.Msg // every subscription's messages
	freed    chan struct{}  // a trigger gave back a slot, or waits for one: a worker looks at what waits
	stopped  chan struct{}  // closed by Stop once the subscriptions are drained
	stopOnce sync.Once
	workers  sync.WaitGroup

	shrink    chan struct{} // wakes idle workers beyond those to keep, to end
	promote   chan struct{} // wakes a standby worker to listen on msgs (see work)
	wmu       sync.Mutex    // guards what follows
	idle      int           // workers waiting: the listener and those standing by
	listening bool          // an idle worker waits on msgs
	nworkers  int           // workers running
	started   int           // workers ever started
	idleCap   int           // idle workers to keep (see workers.go)
	busyPeak  int           // most workers busy at once since the last decayIdle
	// decay runs decayIdle a window after the idle workers kept went up, and again while above
	// minIdle.
	decay      *time.Timer
	decayArmed bool
	queues     map[string]*subjectQueue
	ready      []*subjectQueue // subjects with messages waiting and a call to spare, in turn
	turnCalls  int             // slots the triggers hold, at most turnCap (turns.go)
	turnCap    int
	reserves   []int           // by depth, the slots a message leaves free (nested.go)
	parked     []*subjectQueue // triggers' queues waiting for turnCalls to go below turnCap

	mu       sync.Mutex
	subs     map[string]*subscription
	stopping bool

	refusedReplies logEvery // replies refused by replyAllowed, said once a second at most
	dropped        logEvery // messages dropped because too many waited on their subject
}

// subscription is one subject pattern's NATS subscription.
type subscription struct {
	pattern string
	sub     *nats.Subscription
}

// newDispatcher returns a dispatcher for the registry's scripts on nc. It subscribes when sync is
// called (by the registry, after each change).
func newDispatcher(nc *nats.Conn, reg *Registry, opts *Options) *dispatcher {
	root, ctx := newCallRoot()
	d := &dispatcher{
		reg: reg, opts: opts, log: opts.Logger, ctx: ctx, root: root,
		slots: make(chan struct{}, opts.MaxConcurrent),
		msgs:  make(chan *nats.Msg, sharedBuffer), freed: make(chan struct{}, 1), stopped: make(chan struct{}),
		queues: map[string]*subjectQueue{},
		subs:   map[string]*subscription{},
		shrink: make(chan struct{}), promote: make(chan struct{}, 1), idleCap: minIdle,
		turnCap: turnCapOf(opts), reserves: reservesOf(opts),
	}
	root.relisten = func() {
		d.wmu.Lock()
		d.ensureListener()
		d.wmu.Unlock()
	}
	d.decay = time.AfterFunc(time.Hour, d.decayIdle)
	d.decay.Stop()
	d.nc.Store(nc)
	d.wmu.Lock()
	d.startWorker()
	d.wmu.Unlock()
	return d
}

// setConn moves every subscription to nc. The old connection is closed for good, so its
// subscriptions deliver nothing more; what they delivered still runs.
func (d *dispatcher) setConn(nc *nats.Conn) {
	d.mu.Lock()
	if d.stopping || d.nc.Load() == nc {
		d.mu.Unlock()
		return
	}
	d.nc.Store(nc)
	old := d.subs
	d.subs = map[string]*subscription{}
	d.mu.Unlock()
	for pattern, s := range old {
		d.subscribed(pattern, false) // sync subscribes again those still with scripts
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
	if d.stopping {
		return
	}
	// The subject map itself, not the sorted list of Subjects: with 10,000 subjects, an edit would
	// sort them all.
	want := *d.reg.bySubject.Load()
	added := false
	for pattern, se := range want {
		if len(se.core) == 0 || d.subs[pattern] != nil {
			continue
		}
		sub, err := d.nc.Load().ChanQueueSubscribe(pattern, d.opts.QueueGroup, d.msgs)
		if err != nil {
			d.log.Error("cannot subscribe", zap.String("subject", pattern), zap.Error(err))
			continue
		}
		d.subs[pattern] = &subscription{pattern: pattern, sub: sub}
		d.subscribed(pattern, true)
		added = true
		d.log.Debug("subscribed", zap.String("subject", pattern), zap.String("queue_group", d.opts.QueueGroup))
	}
	for pattern, s := range d.subs {
		if se := want[pattern]; se == nil || len(se.core) == 0 {
			delete(d.subs, pattern)
			d.subscribed(pattern, false)
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

// drain stops the subscription's delivery and waits until NATS has handed over everything it had
// (its messages still run), or ctx ends. With NATS unreachable nothing more can come, and a drain
// would wait for the server to confirm it (nats.go flushes for up to 10 s): the subscription is
// dropped at once.
func (d *dispatcher) drain(ctx context.Context, s *subscription) {
	if nc := d.nc.Load(); nc != nil && !nc.IsConnected() {
		_ = s.sub.Unsubscribe()
		return
	}
	closed := s.sub.StatusChanged(nats.SubscriptionClosed)
	if err := s.sub.Drain(); err != nil {
		d.log.Warn("draining subscription", zap.String("subject", s.pattern), zap.Error(err))
		_ = s.sub.Unsubscribe()
		return
	}
	select {
	case <-closed:
	case <-ctx.Done():
		_ = s.sub.Unsubscribe()
	}
}

// load is how many calls run now and how many messages wait for one.
func (d *dispatcher) load() (inFlight, waiting int) {
	d.wmu.Lock()
	defer d.wmu.Unlock()
	for _, q := range d.queues {
		waiting += q.backlog()
	}
	return len(d.slots), waiting + len(d.msgs)
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
		// NATS counts the headers too: an HTTP-mode script's can be most of it.
		size := reply.Size() - len(reply.Subject) - len(reply.Reply) // headers and data, as encoded
		headers := size - len(reply.Data)
		err = nc.PublishMsg(failureReply(m.Reply, 500, fmt.Sprintf("reply of %d bytes (%d of them headers) exceeds NATS max_payload %d", size, headers, nc.MaxPayload())))
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
	d.stopping = true
	subs := d.subs
	d.subs = nil
	d.mu.Unlock()

	var draining sync.WaitGroup
	for _, s := range subs {
		draining.Go(func() { d.drain(ctx, s) })
	}
	draining.Wait()
	d.stopOnce.Do(func() { close(d.stopped) })
	d.decay.Stop()
	done := make(chan struct{})
	go func() {
		d.workers.Wait()
		close(done)
	}()
	select {
	case <-done:
		d.root.kill()
		return nil
	case <-ctx.Done():
		d.root.kill()
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
