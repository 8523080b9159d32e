package engine

import (
	"runtime"
	"time"

	"go.uber.org/zap"
)

// Options tune an Engine. The zero value of each field means its default.
type Options struct {
	// QueueGroup every subscription joins, so that instances sharing a NATS cluster split the
	// messages and each runs once. Default "msgscript".
	QueueGroup string
	// Timeout is the deadline of one call when the script sets none. Default 30s.
	Timeout time.Duration
	// MaxConcurrent bounds the calls running at once over all subjects; past it, messages wait
	// in the NATS client's buffer. Default 1024.
	MaxConcurrent int
	// PoolSize bounds the idle Lua states kept per script version. Default 4 per CPU, at least 8.
	PoolSize int
	// Preload runs on every new Lua state, after the engine's own hardening: it adds the modules
	// and applies the policy of what scripts may reach (see the luaenv package). Without it,
	// scripts get Lua's base libraries, and require reads no files.
	Preload []Preloader
	Logger  *zap.Logger
}

const (
	DefaultQueueGroup    = "msgscript"
	DefaultTimeout       = 30 * time.Second
	DefaultMaxConcurrent = 1024
)

func (o Options) withDefaults() Options {
	if o.QueueGroup == "" {
		o.QueueGroup = DefaultQueueGroup
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = DefaultMaxConcurrent
	}
	if o.PoolSize <= 0 {
		o.PoolSize = max(8, 4*runtime.GOMAXPROCS(0))
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	return o
}
