package main

import (
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	lua "github.com/yuin/gopher-lua"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/msgscript/msgscript/engine"
	"github.com/msgscript/msgscript/luamods"
	"github.com/msgscript/msgscript/plugins"

	// The bundled plugins, as the server has them.
	_ "github.com/msgscript/msgscript/plugins/db"
	_ "github.com/msgscript/msgscript/plugins/hello"
	_ "github.com/msgscript/msgscript/plugins/scrape"
)

// luaModules gives the scripts that dev and devhttp run the server's modules: nats on --natsurl
// and etcd on --etcdurls (both connected on first use, so a script that needs neither runs
// without them), the bundled plugins and those of --plugin.
type luaModules struct {
	g       *globals
	once    sync.Once
	nc      *nats.Conn
	etcd    *clientv3.Client
	plugins []func(*lua.LState)
}

func (m *luaModules) preloader(sandbox bool) (engine.Preloader, error) {
	so, err := plugins.LoadDir(m.g.pluginDir)
	if err != nil {
		return nil, err
	}
	m.plugins = so
	env := &luamods.Env{NATS: m.natsConn, Sandbox: sandbox}
	if endpoints := strings.FieldsFunc(m.g.etcdURLs, func(r rune) bool { return r == ',' || r == ' ' }); len(endpoints) > 0 {
		// clientv3.New does not wait for etcd: it connects when a script first asks.
		cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
		if err == nil {
			m.etcd, env.Etcd = cli, cli
		}
	}
	return func(L *lua.LState) {
		luamods.Preload(L, env)
		plugins.Preload(L, sandbox)
		for _, p := range m.plugins {
			p(L)
		}
	}, nil
}

// natsConn connects to --natsurl on first use; nil when none is given or it cannot connect.
func (m *luaModules) natsConn() *nats.Conn {
	m.once.Do(func() {
		if m.g.natsURL == "" {
			return
		}
		nc, err := nats.Connect(m.g.natsURL, nats.Name("msgscriptcli"))
		if err != nil {
			_, _ = m.g.stderr.Write([]byte("msgscriptcli: NATS " + m.g.natsURL + ": " + err.Error() + "\n"))
			return
		}
		m.nc = nc
	})
	return m.nc
}

func (m *luaModules) close() {
	if m.nc != nil {
		m.nc.Close()
	}
	if m.etcd != nil {
		_ = m.etcd.Close()
	}
}
