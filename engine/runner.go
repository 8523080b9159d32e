package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/zap"

	"github.com/msgscript/msgscript/callctx"
	"github.com/msgscript/msgscript/httpmsg"
)

// result is one script's answer to one message.
type result struct {
	name string
	body string
	http *httpmsg.Response // set when an HTTP-mode script answered an HTTP request
	raw  bool              // body is the whole reply (`--* reply: raw`)
	err  *CallError
	// start and end of the call, for the subject's counters too (the clock is read as few times
	// as it can be: on some machines each reading is a system call).
	start, end time.Time
}

// runScripts calls every script listening on pattern with one message (several at once, each on its own
// goroutine) and returns their results sorted by script name.
func (r *Registry) runScripts(ctx context.Context, limit time.Duration, progs []*Program, m *nats.Msg) []result {
	hc := httpCallOf(m)
	if len(progs) == 1 { // the common case, kept free of goroutines and allocations
		return []result{r.runScript(ctx, limit, progs[0], m, hc)}
	}
	results := make([]result, len(progs))
	var wg sync.WaitGroup
	for i, p := range progs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = r.runScript(ctx, limit, p, m, hc)
		}()
	}
	wg.Wait()
	return results
}

// runScript runs one script, for an HTTP request when hc carries one, and logs its failure with the
// subject and the script's name.
func (r *Registry) runScript(ctx context.Context, limit time.Duration, p *Program, m *nats.Msg, hc httpCall) result {
	var body string
	var resp *httpmsg.Response
	var err error
	ctx, span := r.startSpan(ctx, p, m)
	start := time.Now()
	if hc.method != "" {
		body, resp, err = p.serveHTTP(ctx, limit, m.Subject, hc)
	} else {
		body, err = p.onMessage(ctx, limit, m.Subject, m.Data)
	}
	end := time.Now()
	if err == nil {
		p.stats.record(OK, end.Sub(start), end, "")
		endSpan(span, nil)
		return result{name: p.Name, body: body, http: resp, raw: p.Headers.RawReply, start: start, end: end}
	}
	var ce *CallError
	if !errors.As(err, &ce) {
		ce = &CallError{Msg: err.Error()}
	}
	p.stats.record(outcomeOf(ce), end.Sub(start), end, ce.Msg)
	endSpan(span, ce)
	r.log.Error("script failed",
		zap.String("subject", m.Subject), zap.String("script_subject", p.Subject), zap.String("name", p.Name),
		zap.String("origin", p.Origin), zap.Bool("timeout", ce.Timeout), zap.String("error", ce.Msg))
	return result{name: p.Name, err: ce, start: start, end: end}
}

// Answer runs the scripts listening on pattern for one message exactly as the server does and
// returns the reply the server would send, addressed to m.Reply. msgscriptcli's dev command uses it
// to run a script without NATS.
//
// The message's headers bound the calls: a sender that waits less than a script's timeout ends
// the call when it stops waiting, and a message more hops deep than MaxDepth runs nothing.
//
// It runs every script of the pattern, those a stream triggers included (dev runs them this way);
// the server answers a core NATS message with answerCore.
func (r *Registry) Answer(ctx context.Context, pattern string, m *nats.Msg) *nats.Msg {
	return r.answer(ctx, pattern, m, false)
}

// answerCore answers a message the engine's subscription received: the scripts whose messages
// come from a stream get theirs from there, not from here.
func (r *Registry) answerCore(ctx context.Context, pattern string, m *nats.Msg) *nats.Msg {
	return r.answer(ctx, pattern, m, true)
}

func (r *Registry) answer(ctx context.Context, pattern string, m *nats.Msg, core bool) *nats.Msg {
	se := (*r.bySubject.Load())[pattern]
	if se == nil || core && len(se.core) == 0 {
		return newReply(m.Reply, m.Subject, nil) // the script was removed meanwhile
	}
	progs := se.progs
	if core {
		progs = se.core
	}
	timeout, depth := callctx.Read(m)
	if depth > r.opts.MaxDepth {
		r.log.Warn("message too deep in a chain of calls; no script runs",
			zap.String("subject", m.Subject), zap.Int("depth", depth), zap.Int("max_depth", r.opts.MaxDepth))
		msg := fmt.Sprintf("call depth %d exceeds max_depth %d: a loop through NATS?", depth, r.opts.MaxDepth)
		end := time.Now()
		for _, p := range progs {
			p.stats.record(Refused, 0, end, msg)
		}
		se.stats.record(Refused, 0, end, msg)
		return failureReply(m.Reply, 508, msg)
	}
	if depth > 0 {
		ctx = callctx.WithDepth(ctx, depth)
	}
	// The sender's wait (Msgscript-Timeout) bounds the calls as their deadline does: passed down,
	// not as a context of its own, which would cost a timer and a registration with its parent per
	// message.
	results := r.runScripts(ctx, timeout, progs, m)
	outcome, msg := OK, ""
	var start, end time.Time
	if len(results) > 0 {
		start, end = results[0].start, results[0].end
	}
	for _, res := range results {
		if res.err != nil && outcome != Failed {
			outcome, msg = outcomeOf(res.err), res.name+": "+res.err.Msg
		}
		if res.start.Before(start) {
			start = res.start
		}
		if res.end.After(end) {
			end = res.end
		}
	}
	se.stats.record(outcome, end.Sub(start), end, msg)
	return newReply(m.Reply, m.Subject, results)
}

// runTriggered runs one script for a message a stream delivered, or for a tick of its schedule
// (m has the script's subject and no data). The sender of a stored message is not waiting any
// more, so its timeout header is not the call's; its depth still bounds a chain of calls.
func (r *Registry) runTriggered(ctx context.Context, p *Program, m *nats.Msg) result {
	_, depth := callctx.Read(m)
	if depth > r.opts.MaxDepth {
		msg := fmt.Sprintf("call depth %d exceeds max_depth %d: a loop through NATS?", depth, r.opts.MaxDepth)
		p.stats.record(Refused, 0, time.Now(), msg)
		return result{name: p.Name, err: &CallError{Msg: msg, refused: true}}
	}
	if depth > 0 {
		ctx = callctx.WithDepth(ctx, depth)
	}
	return r.runScript(ctx, 0, p, m, httpCallOf(m))
}
