// Package luaenv assembles the Lua environment msgscript's scripts run in: the modules of
// luamods, the registered plugins and the .so plugins of a folder, under one Policy that says
// what scripts may reach. The Caddy app and msgscriptcli both build theirs here, so a script meets
// the same environment on a developer's machine as in production.
package luaenv

import (
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
}

// New returns what prepares each new Lua state under policy p (the engine's Options.Preload): the
// base library confined when p.Sandbox is set, package.path set to p.LuaPath, and every module
// and plugin made available to require, those that reach outside the process replaced in the
// sandbox by a loader that says they are not available. The .so plugins of p.PluginDir are loaded
// here, once; New fails if one does not load.
func New(p Policy, s Services) (func(*lua.LState), error) {
	so, err := plugins.LoadDir(p.PluginDir)
	if err != nil {
		return nil, err
	}
	env := &luamods.Env{NATS: s.NATS, Etcd: s.Etcd, AllowURL: p.allowURL()}
	modules := append(luamods.Modules(env), plugins.Registered()...)
	return func(L *lua.LState) {
		if p.LuaPath != "" {
			if pkg, ok := L.GetGlobal("package").(*lua.LTable); ok {
				pkg.RawSetString("path", lua.LString(p.LuaPath))
			}
		}
		if p.Sandbox {
			confineBaseLibrary(L)
		}
		for _, m := range modules {
			if p.Sandbox && m.Sandboxed {
				L.PreloadModule(m.Name, unavailableModule(m.Name))
				continue
			}
			L.PreloadModule(m.Name, m.Loader)
		}
		for _, preload := range so {
			preload(L)
		}
	}, nil
}
