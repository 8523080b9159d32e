package caddymodule

import (
	"fmt"
	"strings"

	"github.com/caddyserver/caddy/v2"
	lua "github.com/yuin/gopher-lua"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/msgscript/msgscript/engine"
	"github.com/msgscript/msgscript/engine/store"
	"github.com/msgscript/msgscript/luamods"
	"github.com/msgscript/msgscript/plugins"
)

// preloader gives every Lua state the modules (on the app's own NATS connection and etcd client)
// and the plugins. It returns what to release when the app stops.
func (a *App) preloader(st store.Store) (engine.Preloader, func(), error) {
	release := func() {}
	var etcd *clientv3.Client
	if shared, ok := st.(interface{ Client() *clientv3.Client }); ok {
		etcd = shared.Client() // the store's: one client per app
	} else if len(a.EtcdEndpoints) > 0 {
		repl := caddy.NewReplacer()
		var endpoints []string
		for _, ep := range a.EtcdEndpoints {
			endpoints = append(endpoints, splitList(repl.ReplaceKnown(ep, ""))...)
		}
		key := "lua " + strings.Join(endpoints, ",")
		cli, err := acquireEtcd(key, clientv3.Config{Endpoints: endpoints, DialTimeout: defaultDialTimeout, Logger: zap.NewNop()})
		if err != nil {
			return nil, nil, fmt.Errorf("etcd_endpoints: %v", err)
		}
		etcd, release = cli, func() { _, _ = etcdClients.Delete(key) }
	}
	so, err := plugins.LoadDir(a.PluginDir)
	if err != nil {
		release()
		return nil, nil, err
	}
	env := &luamods.Env{NATS: a.NATS, Etcd: etcd, Sandbox: a.Sandbox, HTTPHosts: a.HTTPHosts}
	return func(L *lua.LState) {
		luamods.Preload(L, env)
		plugins.Preload(L, a.Sandbox)
		for _, p := range so {
			p(L)
		}
	}, release, nil
}
