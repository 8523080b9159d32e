package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// triggers runs the scripts that something other than a core NATS message calls: a JetStream
// stream (`--* stream:`, see streamTrigger) or a schedule (`--* cron:`, see cronTrigger). Each
// such script has one trigger, started when the script is loaded and restarted when a new
// version changes how it is triggered; a new version that triggers the same way takes over the
// running trigger at its next message.
type triggers struct {
	nc   atomic.Pointer[nats.Conn]
	reg  *Registry
	disp *dispatcher // for the slots all calls share, and the calls' parent context
	opts *Options
	log  *zap.Logger

	mu      sync.Mutex
	running map[scriptKey]trigger
	stopped bool
}

// trigger is one script's stream consumer or schedule.
type trigger interface {
	// same reports whether p is triggered exactly as the trigger does (so it can take p over).
	same(p *Program) bool
	// serve makes p the version the trigger runs from now on.
	serve(p *Program)
	// stop ends the trigger and waits, until ctx ends, for the calls it started.
	stop(ctx context.Context)
}

func newTriggers(nc *nats.Conn, reg *Registry, disp *dispatcher, opts *Options) *triggers {
	t := &triggers{reg: reg, disp: disp, opts: opts, log: opts.Logger, running: map[scriptKey]trigger{}}
	t.nc.Store(nc)
	return t
}

// sync brings the triggers in line with the registry's scripts.
func (t *triggers) sync() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return
	}
	want := map[scriptKey]*Program{}
	for _, p := range t.reg.triggeredPrograms() {
		want[scriptKey{p.Subject, p.Name}] = p
	}
	for key, tr := range t.running {
		if p := want[key]; p == nil || !tr.same(p) {
			delete(t.running, key)
			go tr.stop(context.Background()) // its consumer goes on under the next trigger
		}
	}
	for key, p := range want {
		if tr := t.running[key]; tr != nil {
			tr.serve(p)
			continue
		}
		t.running[key] = t.start(p)
	}
}

// start begins the trigger of p. It returns at once: a trigger that cannot reach JetStream yet
// (no stream, a server without JetStream, NATS down) logs why and keeps trying.
func (t *triggers) start(p *Program) trigger {
	if p.Headers.Stream != "" {
		return startStream(t, p)
	}
	return startCron(t, p)
}

// setConn restarts every trigger on nc, the connection that replaced one closed for good.
func (t *triggers) setConn(nc *nats.Conn) {
	t.mu.Lock()
	if t.stopped || t.nc.Load() == nc {
		t.mu.Unlock()
		return
	}
	t.nc.Store(nc)
	old := t.running
	t.running = map[scriptKey]trigger{}
	t.mu.Unlock()
	for _, tr := range old {
		go tr.stop(context.Background())
	}
	t.sync()
}

// stop ends every trigger; messages a stream delivered and no call took are delivered again.
func (t *triggers) stop(ctx context.Context) {
	t.mu.Lock()
	t.stopped = true
	running := t.running
	t.running = nil
	t.mu.Unlock()
	var wg sync.WaitGroup
	for _, tr := range running {
		wg.Go(func() { tr.stop(ctx) })
	}
	wg.Wait()
}

// jetStream is the JetStream context of the connection of the moment.
func (t *triggers) jetStream() (jetstream.JetStream, error) {
	return jetstream.New(t.nc.Load())
}

// retryEvery is the pause before a trigger tries again to reach its stream or bucket.
const retryEvery = 2 * time.Second

// explain turns JetStream being off (its API has no responder) into what to do about it; what
// says who needs it.
func explain(err error, what string) error {
	if errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount) ||
		errors.Is(err, nats.ErrNoResponders) {
		return fmt.Errorf("%s needs NATS JetStream, which the NATS server has off: start nats-server with -js (or, with msgscript's embedded NATS server, do not set jetstream_dir off): %w", what, err)
	}
	return err
}

// waitRetry waits before trying again to reach JetStream, or until done closes; it reports
// whether to go on.
func (t *triggers) waitRetry(done <-chan struct{}) bool {
	select {
	case <-time.After(t.opts.retryEvery):
		return true
	case <-done:
		return false
	}
}

// waitFor waits for wg until ctx ends.
func waitFor(ctx context.Context, wg *sync.WaitGroup) {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
}
