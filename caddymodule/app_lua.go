package caddymodule

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/caddyserver/caddy/v2"
	lua "github.com/yuin/gopher-lua"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/msgscript/msgscript/luaenv"
	"github.com/msgscript/msgscript/store/etcdstore"
)

// luaEnvironment gives every Lua state the modules and plugins under the app's policy, on the
// app's own NATS connection and on one etcd client: the store's (storeEtcd) when the scripts are in
// etcd, else one for etcd_endpoints, if set. It returns what to release when the app stops.
func (a *App) luaEnvironment(storeEtcd *clientv3.Client) (func(*lua.LState), func(), error) {
	release := func() {}
	etcd := storeEtcd
	if etcd == nil && len(a.EtcdEndpoints) > 0 {
		repl := caddy.NewReplacer()
		var lists []string
		for _, ep := range a.EtcdEndpoints {
			lists = append(lists, repl.ReplaceKnown(ep, ""))
		}
		endpoints := etcdstore.Endpoints(lists...)
		key := "lua " + strings.Join(endpoints, ",")
		cli, err := acquireEtcd(key, clientv3.Config{Endpoints: endpoints, DialTimeout: defaultDialTimeout, Logger: zap.NewNop()})
		if err != nil {
			return nil, nil, fmt.Errorf("etcd_endpoints: %v", err)
		}
		etcd, release = cli, func() { _, _ = etcdClients.Delete(key) }
	}
	policy := a.Policy
	// What a sandboxed script must never reach, whatever http_hosts says: Caddy's admin API
	// (CADDY_ADMIN or its default; an `admin` address set in the Caddyfile belongs in
	// denied_addrs), and etcd, whose HTTP gateway would bypass etcd_prefix.
	policy.DeniedAddrs = append(slices.Clone(policy.DeniedAddrs), caddy.DefaultAdminListen)
	if etcd != nil {
		for _, ep := range etcd.Endpoints() {
			if u, err := url.Parse(ep); err == nil && u.Host != "" {
				policy.DeniedAddrs = append(policy.DeniedAddrs, u.Host)
			}
		}
	}
	preload, err := luaenv.New(policy, luaenv.Services{NATS: a.NATS, Etcd: etcd})
	if err != nil {
		release()
		return nil, nil, err
	}
	return preload, release, nil
}
