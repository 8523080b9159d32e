package engine

import (
	"runtime"
	"time"

	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
)

// Options tune an Engine. The zero value of each field means its default.
type Options struct {
	// QueueGroup every subscription joins, so that instances sharing a NATS cluster split the
	// messages and each runs once. Default "msgscript".
	QueueGroup string
	// Timeout is the deadline of one call when the script sets none. Default 30s.
	Timeout time.Duration
	// MaxTimeout, when set, is the longest deadline a call gets: a script's `--* timeout:` over
	// it is cut to it (and the script's status says so), so that the operator, not each script,
	// bounds how long one message may hold a worker. Default: none.
	MaxTimeout time.Duration
	// MaxConcurrent bounds the calls running at once over all subjects; past it, messages wait
	// in the NATS client's buffer. Default 1024.
	MaxConcurrent int
	// MaxConcurrentPerSubject bounds the calls running at once for one subject pattern (or stream
	// script), so that a busy or looping subject leaves slots to the others; the stream and cron
	// triggers together hold at most MaxConcurrent minus it. Default MaxConcurrent/4.
	MaxConcurrentPerSubject int
	// MemoryLimit is the most memory the Lua calls may make the process use, in bytes: past it,
	// the call that pushed it there ends with a "memory limit" error (see memoryGuard), and no
	// library function makes a single value over a quarter of it. Default: DefaultMemoryLimit.
	MemoryLimit uint64
	// MaxDepth bounds a chain of calls through NATS (a script requesting a subject whose script
	// requests another...): a message more than MaxDepth hops deep runs no script and is answered
	// with error 508. Default 8.
	MaxDepth int
	// SendRate bounds the messages one script sends a second (nats.publish and nats.request
	// together; past it they wait, within the call's deadline): a script fanning out to its own
	// subject (ten publishes a call) had NATS drop msgscript's connection as a slow consumer.
	// Its burst is one second's worth. Default 1000.
	SendRate float64
	// PoolSize bounds the idle Lua states kept per script version. Default IdleStates: a script
	// called by many at once keeps a state for each, rather than making and dropping states (~100
	// µs each) under load; IdleStates bounds what all scripts keep together.
	PoolSize int
	// IdleStates bounds the idle Lua states kept by all the scripts together: past it, the one
	// idle the longest is closed. Default 16 per CPU, at least 64.
	IdleStates int
	// Preload runs on every new Lua state, after the engine's own hardening: it adds the modules
	// and applies the policy of what scripts may reach (see the luaenv package). Without it,
	// scripts get Lua's base libraries, and require reads no files.
	Preload []Preloader
	Logger  *zap.Logger
	// Tracer, when set, makes a span of every script call, continuing the trace a message
	// carries in its headers (W3C traceparent). Nil: no tracing, at no cost.
	Tracer trace.Tracer
	// ServiceName is the name the engine answers NATS's service discovery under (nats micro
	// ls). Default "msgscript".
	ServiceName string
	// ServiceVersion is the version it gives there (a semantic version). Default "0.0.0".
	ServiceVersion string

	// idle is the bound of IdleStates, shared by the pools of the registry these options are
	// for (made by withDefaults).
	idle *idleStates

	// retryEvery is the pause before a stream or cron trigger tries again to reach JetStream
	// (tests shorten it). Default 2s.
	retryEvery time.Duration
}

const (
	DefaultQueueGroup    = "msgscript"
	DefaultTimeout       = 30 * time.Second
	DefaultMaxConcurrent = 1024
	DefaultMaxDepth      = 8
	DefaultSendRate      = 1000
)

func (o Options) withDefaults() Options {
	if o.QueueGroup == "" {
		o.QueueGroup = DefaultQueueGroup
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxTimeout > 0 {
		o.Timeout = min(o.Timeout, o.MaxTimeout)
	}
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = DefaultMaxConcurrent
	}
	if o.MaxConcurrentPerSubject <= 0 {
		o.MaxConcurrentPerSubject = max(1, o.MaxConcurrent/4)
	}
	o.MaxConcurrentPerSubject = min(o.MaxConcurrentPerSubject, o.MaxConcurrent)
	if o.MaxDepth <= 0 {
		o.MaxDepth = DefaultMaxDepth
	}
	if o.SendRate <= 0 {
		o.SendRate = DefaultSendRate
	}
	if o.MemoryLimit == 0 {
		o.MemoryLimit = DefaultMemoryLimit()
	}
	if o.IdleStates <= 0 {
		o.IdleStates = max(64, 16*runtime.GOMAXPROCS(0))
	}
	if o.PoolSize <= 0 {
		o.PoolSize = o.IdleStates
	}
	if o.idle == nil {
		o.idle = newIdleStates(o.IdleStates)
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.ServiceName == "" {
		o.ServiceName = DefaultServiceName
	}
	if o.retryEvery <= 0 {
		o.retryEvery = retryEvery
	}
	if o.ServiceVersion == "" {
		o.ServiceVersion = "0.0.0"
	}
	return o
}
