package main

import (
	"sync"

	"github.com/nats-io/nats.go"
	lua "github.com/yuin/gopher-lua"

	"github.com/msgscript/msgscript/luaenv"

	// The bundled plugins, as the server has them.
	_ "github.com/msgscript/msgscript/plugins/db"
	_ "github.com/msgscript/msgscript/plugins/hello"
	_ "github.com/msgscript/msgscript/plugins/scrape"
)

// luaModules gives the scripts that dev and devhttp run the server's Lua environment: nats on
// --natsurl (connected on first use, so a script that needs none runs without it), etcd on
// --etcdurls, the bundled plugins and those of --plugin.
type luaModules struct {
	g    *globals
	once sync.Once
	nc   *nats.Conn
}

func (m *luaModules) preloader(sandbox bool) (func(*lua.LState), error) {
	services := luaenv.Services{NATS: m.natsConn}
	if cli, err := m.g.etcdClient(); err == nil { // else the etcd module answers that it has no client
		services.Etcd = cli
	}
	return luaenv.New(luaenv.Policy{Sandbox: sandbox, PluginDir: m.g.pluginDir}, services)
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
}
