// Package luamods holds the Lua modules every msgscript script can require: the original
// msgscript's nats, etcd, http, json, re and lfs with their APIs, and a chosen set of
// gopher-lua-libs modules. It knows nothing of the engine: the engine preloads them into each new
// Lua state through Preload, with the Env of the app that runs it.
package luamods

import (
	"context"
	"net/http"
	"time"

	"github.com/nats-io/nats.go"
	lua "github.com/yuin/gopher-lua"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Env is what the modules reach outside the Lua state. Every field may be left zero: a module
// whose service is missing answers with an error instead of failing to load.
type Env struct {
	// NATS returns the app's connection (nil while there is none).
	NATS func() *nats.Conn
	// Etcd is the app's one etcd client.
	Etcd *clientv3.Client
	// MaxHTTPBody bounds a response body read by the http module. Default: 16 MiB.
	MaxHTTPBody int64
	// Sandbox leaves out the modules that reach files, processes or the network, and limits
	// http to HTTPHosts.
	Sandbox bool
	// HTTPHosts, in a sandbox, are the only hosts the http module may reach.
	HTTPHosts []string
}

// DefaultMaxHTTPBody bounds a response body read by the http module.
const DefaultMaxHTTPBody = 16 << 20

// httpClient makes every http module request, so connections are reused across calls and states.
var httpClient = &http.Client{
	Transport: &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     90 * time.Second,
	},
}

// Preload makes the modules available to require in L. Modules are loaded on first require, so a
// script pays only for what it uses.
func Preload(L *lua.LState, env *Env) {
	if env == nil {
		env = &Env{}
	}
	L.PreloadModule("nats", natsLoader(env))
	L.PreloadModule("etcd", etcdLoader(env))
	L.PreloadModule("http", httpLoader(env))
	L.PreloadModule("re", reLoader)
	preloadLibs(L, env.Sandbox)
	if env.Sandbox {
		L.PreloadModule("lfs", Unavailable("lfs"))
	} else {
		L.PreloadModule("lfs", lfsLoader)
	}
}

// callContext is the context of the call in progress: the call's deadline.
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

// fail returns the Lua convention for an error: nil, message.
func fail(L *lua.LState, err error) int {
	L.Push(lua.LNil)
	L.Push(lua.LString(err.Error()))
	return 2
}
