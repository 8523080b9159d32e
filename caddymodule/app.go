// Package caddymodule is msgscript's Caddy glue: the msgscript app (NATS connection, store and
// engine), its store modules and their Caddyfile syntax. The work itself is done by the engine
// package, which knows nothing of Caddy.
package caddymodule

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/dustin/go-humanize"
	"github.com/nats-io/nats.go"
	clientv3 "go.etcd.io/etcd/client/v3"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"

	"github.com/msgscript/msgscript/engine"
	"github.com/msgscript/msgscript/internal/version"
	"github.com/msgscript/msgscript/luaenv"
	"github.com/msgscript/msgscript/store"
)

func init() {
	caddy.RegisterModule(App{})
}

// App runs Lua scripts when NATS messages arrive on their subjects. It connects to NATS (or runs
// an embedded NATS server), follows a store of scripts and answers the subjects they listen on,
// in a queue group so that several instances share the work.
type App struct {
	// NATSURL is the NATS server to connect to, e.g. nats://127.0.0.1:4222 (comma-separate
	// several for a cluster). Placeholders such as {env.NATS_URL} are expanded. When neither
	// this nor EmbeddedNATS is set, the NATS_URL environment variable is used if set, as the
	// original msgscript did, else an embedded server is started on 127.0.0.1:4222.
	NATSURL string `json:"nats_url,omitempty"`
	// EmbeddedNATS runs a NATS server inside Caddy listening on this address (host:port). It is
	// kept across config reloads while the address stays the same.
	EmbeddedNATS string `json:"embedded_nats,omitempty"`
	// JetStreamDir is where the embedded NATS server keeps its JetStream data (streams, the
	// consumers of `--* stream:` scripts, kv buckets, the cron election), so that stream
	// triggers, cron and the kv module work without any setup. "off" runs it without JetStream.
	// Default: msgscript/jetstream/<host>_<port> under Caddy's data directory. Read when the
	// embedded server starts: a reload that keeps the address keeps the server and its folder.
	JetStreamDir string `json:"jetstream_dir,omitempty"`
	// StoreRaw is where the scripts live: a msgscript.stores module such as
	// {"backend": "dir", "path": "./examples"}.
	StoreRaw json.RawMessage `json:"store,omitempty" caddy:"namespace=msgscript.stores inline_key=backend"`
	// QueueGroup is the NATS queue group every subscription joins. Default: msgscript.
	QueueGroup string `json:"queue_group,omitempty"`
	// Timeout is the deadline of a call when the script sets none (`--* timeout:`). Default: 30s.
	Timeout caddy.Duration `json:"timeout,omitempty"`
	// MaxTimeout, when set, is the longest deadline a call gets: a script's `--* timeout:` over
	// it is cut to it. Default: none (a script's header is its deadline).
	MaxTimeout caddy.Duration `json:"max_timeout,omitempty"`
	// MaxConcurrent bounds the calls running at once. Default: 1024.
	MaxConcurrent int `json:"max_concurrent,omitempty"`
	// MaxConcurrentPerSubject bounds the calls running at once for one subject pattern, so that
	// no subject (a burst, a loop through NATS) takes every slot. Default: max_concurrent / 4.
	MaxConcurrentPerSubject int `json:"max_concurrent_per_subject,omitempty"`
	// MemoryLimit is the most memory, in bytes, the scripts may make the process use: past it the
	// call that holds the most ends with a "memory limit" error, and no call may hold half of it
	// or make one value (string.rep, table.concat) of a quarter. Default: three quarters of the
	// machine's memory, or of the container's (cgroup) limit, and at most three eighths of the
	// address space limit (ulimit -v).
	MemoryLimit int64 `json:"memory_limit,omitempty"`
	// ServiceName is the service msgscript answers NATS's service discovery under (`nats micro
	// ls`). Default: msgscript.
	ServiceName string `json:"service_name,omitempty"`
	// Tracing makes an OpenTelemetry span of every script call, below the span of the HTTP
	// request (Caddy's tracing directive) or of the message (a traceparent header) that caused
	// it, and passes the trace on in the scripts' NATS messages and HTTP requests. The exporter
	// is configured by the OTEL_* environment, as for Caddy's tracing directive.
	Tracing bool `json:"tracing,omitempty"`
	// MaxDepth bounds a chain of calls through NATS: a message more hops deep (a script
	// requesting a subject whose script requests another...) runs no script and is answered
	// with error 508. Default: 8.
	MaxDepth int `json:"max_depth,omitempty"`
	// SendRate bounds the messages one script sends a second with nats.publish and
	// nats.request (past it they wait, within the call's deadline), so that a script fanning out
	// cannot flood NATS. Default: 1000.
	SendRate int `json:"send_rate,omitempty"`
	// EtcdEndpoints give the Lua etcd module a client when the scripts are not in etcd (with the
	// etcd store, the module uses the store's client).
	EtcdEndpoints []string `json:"etcd_endpoints,omitempty"`
	// Policy is what scripts may reach: sandbox, http_hosts, denied_addrs, env, etcd_prefix,
	// lua_path and plugin_dir (see luaenv.Policy), options of the app itself in JSON. Caddy's
	// admin address and the etcd endpoints are always among the sandbox's denied_addrs.
	luaenv.Policy

	storeModule StoreModule
	connKey     string // identifies the shared connection; holds credentials, never logged
	natsTarget  string // what to tell the user: the URLs without passwords, or the embedded address
	dial        func(log *zap.Logger) (*natsConn, error)
	conn        *atomic.Pointer[natsConn] // set while started; read by HTTP handlers in the same config
	engine      *engine.Engine
	running     *atomic.Pointer[engine.Engine] // the engine while it serves, for metrics and the admin API
	started     chan struct{}                  // closed once Start has subscribed the scripts
	unwatchConn func()                         // stops the engine following a replaced connection
	releaseLua  func()                         // lets go of what the Lua modules hold (an etcd client)
	tracing     *sdktrace.TracerProvider       // set while started with Tracing
	logger      *zap.Logger
}

// StoreModule is implemented by msgscript.stores.* modules.
type StoreModule interface {
	// OpenStore returns the store; it is called when the app starts, and the engine closes it
	// when the app stops. A store kept in etcd also returns the client it reads through, which
	// the Lua etcd module then shares; others return nil.
	OpenStore(log *zap.Logger) (store.Store, *clientv3.Client, error)
}

// serviceName is what NATS's service discovery accepts as a name.
var serviceName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// DefaultEmbeddedNATS is where the embedded NATS server listens when nothing else is configured.
const DefaultEmbeddedNATS = "127.0.0.1:4222"

func (App) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "msgscript",
		New: func() caddy.Module { return new(App) },
	}
}

// Provision resolves the configuration. It does no network I/O: connecting happens in Start.
func (a *App) Provision(ctx caddy.Context) error {
	a.logger = ctx.Logger()
	a.conn = new(atomic.Pointer[natsConn])
	a.running = new(atomic.Pointer[engine.Engine])
	a.started = make(chan struct{})
	if reg := ctx.GetMetricsRegistry(); reg != nil {
		if err := reg.Register(&metrics{app: a}); err != nil {
			return fmt.Errorf("msgscript: registering metrics: %v", err)
		}
	}
	if a.StoreRaw != nil {
		mod, err := ctx.LoadModule(a, "StoreRaw")
		if err != nil {
			return fmt.Errorf("loading store module: %v", err)
		}
		sm, ok := mod.(StoreModule)
		if !ok {
			return fmt.Errorf("module %T is not a msgscript store", mod)
		}
		a.storeModule = sm
	}

	repl := caddy.NewReplacer()
	natsURL := repl.ReplaceKnown(a.NATSURL, "")
	if natsURL == "" && a.EmbeddedNATS == "" {
		natsURL = os.Getenv("NATS_URL")
	}
	if natsURL != "" {
		a.connKey, a.natsTarget = "nats "+natsURL, redactURLs(natsURL)
		a.dial = func(log *zap.Logger) (*natsConn, error) { return dialNATS(natsURL, log) }
		return nil
	}
	addr := repl.ReplaceKnown(a.EmbeddedNATS, "")
	if addr == "" {
		addr = DefaultEmbeddedNATS
	}
	jsDir := repl.ReplaceKnown(a.JetStreamDir, "")
	if jsDir == "" {
		jsDir = defaultJetStreamDir(addr)
	}
	a.connKey, a.natsTarget = "embedded "+addr, "embedded NATS server on "+addr
	a.dial = func(log *zap.Logger) (*natsConn, error) { return startEmbeddedNATS(addr, jsDir, log) }
	return nil
}

// Validate reports configuration mistakes before anything starts.
func (a *App) Validate() error {
	if a.storeModule == nil {
		return fmt.Errorf("msgscript: no store configured; add `store etcd <endpoint>` or `store dir <folder>` to the msgscript global option")
	}
	if a.NATSURL != "" && a.EmbeddedNATS != "" {
		return fmt.Errorf("msgscript: nats_url and embedded_nats exclude each other")
	}
	if a.NATSURL != "" && a.JetStreamDir != "" {
		return fmt.Errorf("msgscript: jetstream_dir is for the embedded NATS server; with nats_url, JetStream is the server's own (nats-server -js)")
	}
	if a.ServiceName != "" && !serviceName.MatchString(a.ServiceName) {
		return fmt.Errorf("msgscript: service_name %q: use letters, digits, - and _ only (it is a token of NATS subjects)", a.ServiceName)
	}
	if strings.ContainsAny(a.QueueGroup, " \t\r\n") {
		return fmt.Errorf("msgscript: queue_group %q contains a blank", a.QueueGroup)
	}
	if a.Timeout < 0 || a.MaxTimeout < 0 || a.MaxConcurrent < 0 || a.MaxConcurrentPerSubject < 0 || a.MaxDepth < 0 || a.SendRate < 0 || a.MemoryLimit < 0 {
		return fmt.Errorf("msgscript: timeout, max_timeout, max_concurrent, max_concurrent_per_subject, max_depth and memory_limit cannot be negative")
	}
	if a.MaxTimeout > 0 && a.Timeout > a.MaxTimeout {
		return fmt.Errorf("msgscript: timeout %s is over max_timeout %s", time.Duration(a.Timeout), time.Duration(a.MaxTimeout))
	}
	if es, ok := a.storeModule.(*EtcdStore); ok {
		if err := es.separateFrom(a.EffectiveEtcdPrefix()); err != nil {
			return fmt.Errorf("msgscript: %v", err)
		}
	}
	return nil
}

// Start connects to NATS (or shares the connection a previous config opened), loads the scripts
// and subscribes to their subjects.
func (a *App) Start() error {
	conn, err := acquireConn(a.connKey, a.logger, a.dial)
	if err != nil {
		return fmt.Errorf("msgscript: %v", err)
	}
	st, etcd, err := a.storeModule.OpenStore(a.logger)
	if err != nil {
		releaseConn(a.connKey)
		return fmt.Errorf("msgscript: opening store: %v", err)
	}
	preload, releaseLua, err := a.luaEnvironment(etcd)
	if err != nil {
		_ = st.Close()
		releaseConn(a.connKey)
		return fmt.Errorf("msgscript: %v", err)
	}
	var tracer trace.Tracer
	if a.Tracing {
		name := a.ServiceName
		if name == "" {
			name = engine.DefaultServiceName
		}
		if a.tracing, err = newTracerProvider(context.Background(), name); err != nil {
			releaseLua()
			_ = st.Close()
			releaseConn(a.connKey)
			return fmt.Errorf("msgscript: %v", err)
		}
		tracer = a.tracing.Tracer(tracerName)
	}
	a.releaseLua = releaseLua
	a.conn.Store(conn)
	a.engine = engine.New(conn.conn(), st, engine.Options{
		QueueGroup:              a.QueueGroup,
		Timeout:                 time.Duration(a.Timeout),
		MaxTimeout:              time.Duration(a.MaxTimeout),
		MaxConcurrent:           a.MaxConcurrent,
		MaxConcurrentPerSubject: a.MaxConcurrentPerSubject,
		MaxDepth:                a.MaxDepth,
		SendRate:                float64(a.SendRate),
		MemoryLimit:             uint64(a.MemoryLimit),
		ServiceName:             a.ServiceName,
		ServiceVersion:          version.Get().Semver(),
		Preload:                 []engine.Preloader{preload},
		Logger:                  a.logger,
		Tracer:                  tracer,
	})
	a.unwatchConn = conn.watch(conn.conn(), a.engine.SetConn)
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := a.engine.Start(ctx); err != nil {
		a.unwatchConn()
		_ = a.engine.Stop(ctx)
		a.engine = nil
		a.conn.Store(nil)
		a.stopTracing(ctx)
		releaseLua()
		releaseConn(a.connKey)
		return fmt.Errorf("msgscript: %v", err)
	}
	a.running.Store(a.engine)
	serving.Store(a)
	close(a.started)
	a.logger.Info("msgscript started",
		zap.String("nats", a.natsTarget), zap.Strings("subjects", a.engine.Registry().Subjects()),
		zap.String("memory_limit", humanize.IBytes(a.engine.Registry().MemoryLimit())))
	return nil
}

// startTimeout bounds loading the scripts at start.
const startTimeout = 30 * time.Second

// Stop drains the subscriptions, lets the calls in progress finish and reply, then lets go of the
// NATS connection (closed when no other config uses it).
func (a *App) Stop() error {
	if a.engine == nil {
		return nil
	}
	grace := time.Duration(a.Timeout)
	if grace <= 0 {
		grace = engine.DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), grace+time.Second)
	defer cancel()
	a.running.Store(nil)
	serving.CompareAndSwap(a, nil)
	a.unwatchConn()
	err := a.engine.Stop(ctx)
	a.engine = nil
	a.conn.Store(nil)
	a.stopTracing(ctx)
	a.releaseLua()
	releaseConn(a.connKey)
	return err
}

// stopTracing sends the spans still batched, if the app traces.
func (a *App) stopTracing(ctx context.Context) {
	if a.tracing == nil {
		return
	}
	if err := a.tracing.Shutdown(ctx); err != nil {
		a.logger.Warn("sending the last spans", zap.Error(err))
	}
	a.tracing = nil
}

// NATS is the app's connection while it runs, nil before Start and after Stop.
func (a *App) NATS() *nats.Conn {
	if a.conn == nil {
		return nil
	}
	if c := a.conn.Load(); c != nil {
		return c.conn()
	}
	return nil
}

// redactURLs hides the credentials of a comma-separated list of NATS URLs, for the log, the admin
// API and the dashboard: a password (user:xxxxx@), a user with no password, which NATS reads as a
// token (xxxxx@), and a query string (?xxxxx). nats.go takes a URL without a scheme as nats://,
// and so does this; a URL it cannot read is hidden whole. (url.Redacted alone left tokens and
// "user:password@host" showing.)
func redactURLs(urls string) string {
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if !strings.Contains(p, "://") {
			p = "nats://" + p
		}
		u, err := url.Parse(p)
		switch {
		case err != nil:
			parts[i] = "(a URL that cannot be read)"
			continue
		case u.User == nil:
		case hasPassword(u.User):
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		default:
			u.User = url.User("xxxxx")
		}
		if u.RawQuery != "" { // nats.go reads no credentials there, but an operator may put some
			u.RawQuery = "xxxxx"
		}
		parts[i] = u.String()
	}
	return strings.Join(parts, ",")
}

func hasPassword(u *url.Userinfo) bool {
	_, set := u.Password()
	return set
}

// Interface guards
var (
	_ caddy.App         = (*App)(nil)
	_ caddy.Provisioner = (*App)(nil)
	_ caddy.Validator   = (*App)(nil)
)
