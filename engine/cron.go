package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/msgscript/msgscript/script"
)

// CronBucket is the NATS KV bucket where the instances of a cluster elect who runs each tick of
// a `--* cron:` script: the first to create the tick's key (kv.Create succeeds for one writer
// only) runs it, the others skip it. Its keys expire after cronClaimTTL; a key holds who ran the
// tick (host and process id).
const CronBucket = "msgscript_cron"

// cronClaimTTL is how long a tick's key lives: longer than the clocks of two instances may differ
// and than an instance may be late for a tick, short enough that the bucket stays small.
const cronClaimTTL = time.Minute

// instanceID tells in the cron bucket which instance ran a tick.
var instanceID = func() string {
	host, _ := os.Hostname()
	return host + ":" + strconv.Itoa(os.Getpid())
}()

// cronTrigger runs a `--* cron:` script's OnMessage(subject, "") on each tick of its schedule,
// once per cluster. A tick is claimed before it runs, so it runs at most once: if the instance
// that claimed it dies during the call, that tick is not run again (the next one is). An instance
// runs one call of a script's ticks at a time: a tick that comes while the last call still runs
// is left to the other instances (skipped when there are none).
type cronTrigger struct {
	t     *triggers
	spec  string
	sched script.Schedule
	prog  atomic.Pointer[Program]
	calls sync.WaitGroup

	done     chan struct{}
	finished chan struct{}
	once     sync.Once
	said     string        // the last failure logged; only run's goroutine uses it
	busy     atomic.Bool   // a call of this script's ticks runs here
	turn     *subjectQueue // where its calls wait for one of the slots all calls share
	state    *triggerState
}

func startCron(t *triggers, p *Program) *cronTrigger {
	c := &cronTrigger{t: t, spec: p.Headers.Cron, done: make(chan struct{}), finished: make(chan struct{}),
		state: t.reg.triggers.of(scriptKey{p.Subject, p.Name}), turn: t.disp.turnQueue("cron " + p.Subject + " " + p.Name)}
	c.sched, _ = script.ParseSchedule(c.spec) // checked with the headers
	c.prog.Store(p)
	go c.run()
	return c
}

func (c *cronTrigger) same(p *Program) bool { return p.Headers.Cron == c.spec }
func (c *cronTrigger) serve(p *Program)     { c.prog.Store(p) }

func (c *cronTrigger) stop(ctx context.Context) {
	c.once.Do(func() { close(c.done) })
	select {
	case <-c.finished:
	case <-ctx.Done():
		return
	}
	waitFor(ctx, &c.calls)
}

func (c *cronTrigger) fields() []zap.Field {
	p := c.prog.Load()
	return []zap.Field{zap.String("subject", p.Subject), zap.String("name", p.Name), zap.String("cron", c.spec)}
}

// fail logs a failure, once until a different one happens or a tick is claimed again.
func (c *cronTrigger) fail(msg string, err error) {
	if s := msg + err.Error(); s != c.said {
		c.said = s
		c.t.log.Error(msg, append(c.fields(), zap.Error(err))...)
	}
}

// run waits for each tick, claims it and runs the script.
func (c *cronTrigger) run() {
	defer close(c.finished)
	var bucket jetstream.KeyValue
	for {
		if bucket == nil {
			var err error
			bucket, err = c.bucket()
			c.state.setError(err)
			if err != nil {
				c.fail("cron trigger not running; retrying", err)
				if !c.t.waitRetry(c.done) {
					return
				}
				continue
			}
		}
		tick := c.sched.Next(time.Now())
		if tick.IsZero() { // checked with the headers; a schedule that ends stops here
			c.state.setError(fmt.Errorf("the schedule %q has no next tick", c.spec))
			return
		}
		timer := time.NewTimer(time.Until(tick))
		select {
		case <-timer.C:
		case <-c.done:
			timer.Stop()
			return
		}
		if c.busy.Load() {
			// The call of an earlier tick still runs here. Not claimed: another instance may take
			// the tick; here one call at a time keeps a slow script from piling up.
			c.state.skipped.Add(1)
			continue
		}
		p := c.prog.Load()
		key := script.ResourceName(p.Subject, p.Name) + "." + strconv.FormatInt(tick.UnixMilli(), 10)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := bucket.Create(ctx, key, []byte(instanceID))
		cancel()
		switch {
		case err == nil:
			c.said = ""
			c.state.setError(nil)
			c.state.ticks.Add(1)
			c.call(p)
		case errors.Is(err, jetstream.ErrKeyExists):
			// Another instance runs this tick.
		default:
			c.fail("cron tick skipped: cannot claim it", err)
			c.state.setError(fmt.Errorf("last tick skipped: cannot claim it: %w", err))
			bucket = nil // deleted, or made again otherwise: open it anew for the next tick
		}
	}
}

// call runs the script for a tick, on its own goroutine so that a long call does not make the
// next tick late; it waits for one of the slots all calls share, in turn with the messages.
func (c *cronTrigger) call(p *Program) {
	c.busy.Store(true)
	c.calls.Add(1)
	go func() {
		defer func() {
			c.busy.Store(false)
			c.calls.Done()
		}()
		granted := c.t.disp.awaitSlot(c.turn)
		select {
		case <-granted:
		case <-c.done:
			c.t.disp.withdraw(c.turn, granted)
			return
		}
		defer c.t.disp.releaseTurn()
		c.t.reg.runTriggered(c.t.disp.ctx, p, &nats.Msg{Subject: p.Subject})
	}()
}

// bucket opens the election bucket, making it if it is not there.
func (c *cronTrigger) bucket() (jetstream.KeyValue, error) {
	js, err := c.t.jetStream()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      CronBucket,
		Description: "msgscript: which instance runs each tick of a cron script",
		TTL:         cronClaimTTL,
		Storage:     jetstream.MemoryStorage,
	})
	if err != nil {
		return nil, explain(err, fmt.Sprintf("cron %q (to run each tick once per cluster)", c.spec))
	}
	return kv, nil
}
