// Package luaenv assembles the Lua environment msgscript's scripts run in: the modules of
// luamods, the registered plugins and the .so plugins of a folder, under one Policy that says
// what scripts may reach. The Caddy app and msgscriptcli both build theirs here, so a script meets
// the same environment on a developer's machine as in production.
package luaenv

import (
	"context"
	"net/http"
	"net/netip"

	"github.com/nats-io/nats.go"
	lua "github.com/yuin/gopher-lua"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/msgscript/msgscript/luamods"
	"github.com/msgscript/msgscript/plugins"
)

// Services are the outside connections the modules work on. Either may be nil: the module then
// answers with an error ("nats: not connected", "etcd: no etcd client") instead of failing to
// load.
type Services struct {
	// NATS returns the connection of the moment (nil while there is none).
	NATS func() *nats.Conn
	// Etcd is the client of the etcd module; it stays the caller's.
	Etcd *clientv3.Client
	// Resolve, when set, replaces the system's resolver for the sandbox's http module: it
	// returns the addresses of a host name. It is there for tests, which map names such as
	// allowed.test to loopback addresses to play a DNS answer; the app and the CLI leave it nil.
	Resolve func(ctx context.Context, host string) ([]netip.Addr, error)
	// HTTPTransport, when set, carries every request of the http module instead of the
	// network (the sandbox still checks each URL against http_hosts, but dials nothing):
	// msgscriptcli test answers the scripts' requests with its mocks through it. The app leaves
	// it nil.
	HTTPTransport http.RoundTripper
}

// New returns what prepares each new Lua state under policy p (the engine's Options.Preload): the
// base library confined when p.Sandbox is set, package.path set to p.LuaPath, and every module
// and plugin made available to require, those that reach outside the process replaced in the
// sandbox by a loader that says they are not available (or by what is left of them, for those
// with a SandboxLoader). The modules' services are built here, once: the etcd module's prefix,
// and in the sandbox the http module's own client, which checks every redirect and every address
// it connects to. The .so plugins of p.PluginDir are loaded here, once; New fails if one does not
// load, or if p.DeniedAddrs holds something that is not an address.
func New(p Policy, s Services) (func(*lua.LState), error) {
	env := &luamods.Env{NATS: s.NATS, Etcd: s.Etcd, EtcdPrefix: p.EffectiveEtcdPrefix(), Transport: s.HTTPTransport, KVMaxBytes: p.KVMaxBytes}
	envNames := map[string]bool{}
	if p.Sandbox {
		dialer, err := newSandboxDialer(p, s.Resolve)
		if err != nil {
			return nil, err
		}
		env.AllowURL, env.DialContext = parseHTTPHosts(p.HTTPHosts).allowURL, dialer.DialContext
		env.AllowSubject = sandboxSubject
		for _, name := range p.Env {
			envNames[name] = true
		}
	}
	so, err := plugins.LoadDir(p.PluginDir)
	if err != nil {
		return nil, err
	}
	modules := append(luamods.Modules(env), plugins.Registered()...)
	return func(L *lua.LState) {
		if p.LuaPath != "" {
			if pkg, ok := L.GetGlobal("package").(*lua.LTable); ok {
				pkg.RawSetString("path", lua.LString(p.LuaPath))
			}
		}
		if p.Sandbox {
			confineBaseLibrary(L, envNames, p.LuaPath)
		}
		for _, m := range modules {
			switch {
			case p.Sandbox && m.Sandboxed:
				L.PreloadModule(m.Name, unavailableModule(m.Name))
			case p.Sandbox && m.SandboxLoader != nil:
				L.PreloadModule(m.Name, m.SandboxLoader)
			default:
				L.PreloadModule(m.Name, m.Loader)
			}
		}
		for _, preload := range so {
			preload(L)
		}
	}, nil
}
