// Package engine runs msgscript's Lua scripts: it compiles each stored script version once, keeps
// the compiled scripts current as a store changes (Registry), runs them on pooled Lua states with
// a deadline and a fresh environment per call (Program), and answers their subjects on a NATS
// connection (Engine). It knows no store backend, no Lua module and no Caddy: the store and the
// modules are handed in (a store.Store, Options.Preload), and the caddymodule package wraps it.
package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/zap"

	"github.com/msgscript/msgscript/store"
)

// Engine is msgscript's server side: it follows a store, compiles its scripts and answers their
// subjects on a NATS connection.
type Engine struct {
	store store.Store
	reg   *Registry
	disp  *dispatcher
	trig  *triggers
	disc  *discovery
	log   *zap.Logger

	stopWatch context.CancelFunc
	watchDone chan struct{}
}

// New prepares an engine; it does nothing until Start.
//
// This is where the registry and the dispatcher meet: after every change, once the registry has
// released its lock, the dispatcher brings its subscriptions in line with the registry's subjects
// (so a slow NATS server delays the store's next change, never a reader of the registry), and
// the triggers start or stop the streams and schedules of the scripts that have them.
func New(nc *nats.Conn, st store.Store, opts Options) *Engine {
	o := opts.withDefaults()
	e := &Engine{store: st, log: o.Logger}
	e.reg = newRegistry(&o, func() {
		e.disp.sync()
		e.trig.sync()
	})
	e.disp = newDispatcher(nc, e.reg, &o)
	e.trig = newTriggers(nc, e.reg, e.disp, &o)
	e.disc = newDiscovery(e.reg, &o)
	return e
}

// Registry gives access to the compiled scripts.
func (e *Engine) Registry() *Registry { return e.reg }

// SetConn moves the engine to another NATS connection, when the one it works on was closed for
// good: it subscribes again there. Messages already received finish and reply on the new one.
func (e *Engine) SetConn(nc *nats.Conn) {
	e.disp.setConn(nc)
	e.trig.setConn(nc)
	e.disc.subscribe(nc)
}

// watchRetry is the pause before following the store again after its watch failed.
const watchRetry = time.Second

// Start loads every script, subscribes to their subjects and keeps following the store. It
// returns once the scripts are loaded and subscribed, or with the error that prevented it.
func (e *Engine) Start(ctx context.Context) error {
	watchCtx, stop := context.WithCancel(context.Background())
	e.stopWatch, e.watchDone = stop, make(chan struct{})
	loaded := make(chan error, 1)
	go func() {
		defer close(e.watchDone)
		first := true
		for {
			// Every Watch starts with a complete batch: after a failure it replaces what the
			// registry holds, so that nothing changed meanwhile is missed.
			complete := true
			err := e.store.Watch(watchCtx, func(batch []store.Event) {
				if complete {
					e.reg.Replace(batch)
					complete = false
					if first {
						first = false
						loaded <- nil
					}
					return
				}
				e.reg.Apply(batch)
			})
			if watchCtx.Err() != nil {
				return
			}
			if err == nil {
				err = errors.New("the store stopped reporting changes")
			}
			if first {
				loaded <- err
				return
			}
			e.log.Error("following the store failed; retrying", zap.Error(err), zap.Duration("retry_in", watchRetry))
			select {
			case <-time.After(watchRetry):
			case <-watchCtx.Done():
				return
			}
		}
	}()
	select {
	case err := <-loaded:
		if err == nil {
			e.disc.subscribe(e.disp.nc.Load())
			return nil
		}
		stop()
		<-e.watchDone
		return fmt.Errorf("loading scripts: %w", err)
	case <-ctx.Done():
		stop()
		<-e.watchDone
		return fmt.Errorf("loading scripts: %w", ctx.Err())
	}
}

// Stop stops following the store, stops the stream consumers and schedules, drains the
// subscriptions, waits for the calls in progress (until ctx ends) and releases every Lua state.
// Stream messages not acknowledged by then are delivered again, here after a restart or to
// another instance. The NATS connection is left open: it belongs to the
// caller.
func (e *Engine) Stop(ctx context.Context) error {
	e.disc.stop()
	if e.stopWatch != nil {
		e.stopWatch()
		<-e.watchDone
	}
	e.trig.stop(ctx)
	err := e.disp.Stop(ctx)
	e.reg.Close()
	return errors.Join(err, e.store.Close())
}
