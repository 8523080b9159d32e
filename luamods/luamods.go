// Package luamods holds the Lua modules every msgscript script can require: the original
// msgscript's nats, etcd, http, json, re and lfs with their APIs, msgscript's own kv (NATS
// JetStream key-value buckets), and a chosen set of gopher-lua-libs modules. It knows nothing of
// the engine nor of the sandbox's policy: Modules lists them, each saying whether it reaches
// outside the process (and, for the few that only partly do, what is left of them in a
// sandbox), the Env says what the services modules may reach, and the luaenv package decides
// which a script gets.
package luamods

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/nats-io/nats.go"
	lua "github.com/yuin/gopher-lua"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Module is one Lua module that scripts get with require.
type Module struct {
	Name   string
	Loader lua.LGFunction
	// Sandboxed marks a module that reaches files, processes or the network: a sandbox leaves it
	// out.
	Sandboxed bool
	// SandboxLoader, when set, is what a sandbox loads instead of Loader: the same module with
	// the functions that reach files, processes or the network raising an error that says so
	// (filepath without glob, for instance). Meaningless with Sandboxed.
	SandboxLoader lua.LGFunction
}

// Env is what the modules reach outside the Lua state. Every field may be left zero: a module
// whose service is missing answers with an error instead of failing to load.
type Env struct {
	// NATS returns the app's connection (nil while there is none).
	NATS func() *nats.Conn
	// Etcd is the app's one etcd client.
	Etcd *clientv3.Client
	// EtcdPrefix confines the etcd module to the keys under it, transparently (as etcd's
	// namespace package does): a script's keys are relative to it, and it can neither read nor
	// write a key outside it. Empty: the whole keyspace.
	EtcdPrefix string
	// MaxHTTPBody bounds a response body read by the http module. Default: 16 MiB.
	MaxHTTPBody int64
	// AllowURL, when set, checks every URL the http module is asked for and every redirect it
	// would follow; a request it refuses fails with its error. Nil allows every URL.
	AllowURL func(*url.URL) error
	// AllowSubject, when set, checks every subject the nats module publishes or sends a request
	// to; a message it refuses fails with its error. Nil allows every valid subject.
	AllowSubject func(subject string) error
	// DialContext, when set, makes every connection of the http module, so that it can check
	// the address actually connected to (after DNS); requests then go straight to their host,
	// never through an HTTP_PROXY, which would be all the dial saw. Nil: net's dialer, and the
	// proxy of the environment.
	DialContext func(ctx context.Context, network, address string) (net.Conn, error)
	// Transport, when set, carries every request of the http module in place of a connection
	// (DialContext is then unused; AllowURL still checks every URL and redirect), so that
	// msgscriptcli test can answer the scripts' requests with its mocks and no request reaches
	// the network. Nil: the module connects as described above.
	Transport http.RoundTripper
	// KVMaxBytes is the most a kv bucket the module creates may hold (its stream's max_bytes).
	// Default (0): DefaultKVMaxBytes; negative: no limit.
	KVMaxBytes int64
}

// DefaultMaxHTTPBody bounds a response body read by the http module.
const DefaultMaxHTTPBody = 16 << 20

// DefaultKVMaxBytes bounds a kv bucket the module creates: plenty for the state a script keeps
// between calls (counters, tokens, the last thing it saw), and a bound on what one script can
// write to the NATS server's disk.
const DefaultKVMaxBytes = 64 << 20

// httpClient makes every http module request of an Env that confines nothing (no AllowURL, no
// DialContext), so connections are reused across calls and states.
var httpClient = &http.Client{
	Transport: &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     90 * time.Second,
	},
}

// Modules lists every module, on env's services (nil: none). Preloaded with L.PreloadModule, a
// module is loaded on first require, so a script pays only for what it uses.
func Modules(env *Env) []Module {
	if env == nil {
		env = &Env{}
	}
	return append([]Module{
		{Name: "nats", Loader: natsLoader(env)},
		{Name: "etcd", Loader: etcdLoader(env)}, // confined by env.EtcdPrefix
		kvModule(env),                           // the sandbox's has only the script's own bucket
		{Name: "http", Loader: httpLoader(env)}, // confined by env.AllowURL and env.DialContext
		{Name: "re", Loader: reLoader},
		{Name: "lfs", Loader: lfsLoader, Sandboxed: true},
	}, libs...)
}

// callContext is the context of the call in progress: the call's deadline. Only the goroutine
// running the call may watch it; give code that watches from goroutines of its own (a client
// library) a context derived from it, as contextWithTimeout does.
func callContext(L *lua.LState) context.Context {
	if ctx := L.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}

// contextWithTimeout bounds an operation by d and by the call's deadline, whichever comes first.
func contextWithTimeout(L *lua.LState, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(callContext(L), d)
}

// notInSandbox is what a SandboxLoader puts in place of a function that reaches outside.
func notInSandbox(name string) lua.LGFunction {
	return func(L *lua.LState) int {
		L.RaiseError("%s is not available in msgscript's sandbox", name)
		return 0
	}
}

// fail returns the Lua convention for an error: nil, message.
func fail(L *lua.LState, err error) int {
	L.Push(lua.LNil)
	L.Push(lua.LString(err.Error()))
	return 2
}
