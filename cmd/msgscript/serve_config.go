package main

import (
	"encoding/json"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/rewrite"

	"github.com/msgscript/msgscript/caddymodule"
)

// caddyConfig is the Caddy config serve runs: the msgscript app, and an HTTP server on the listen
// address with the msgscript handler (and the dashboard at /_/ when asked), as `caddy run` would
// load from the equivalent Caddyfile. The admin API is off unless asked for, as in Caddy's own
// quick commands, and the config is never saved: the flags are the whole of it.
func (o *serveOptions) caddyConfig() *caddy.Config {
	apps := caddy.ModuleMap{"msgscript": caddyconfig.JSON(o.app(), nil)}
	if o.listen != "" {
		apps["http"] = caddyconfig.JSON(o.httpApp(), nil)
	}
	persist := false
	cfg := &caddy.Config{
		Admin:   &caddy.AdminConfig{Disabled: true, Config: &caddy.ConfigSettings{Persist: &persist}},
		AppsRaw: apps,
	}
	if o.admin != "" {
		cfg.Admin.Disabled, cfg.Admin.Listen = false, o.admin
	}
	if o.logLevel != "" {
		cfg.Logging = &caddy.Logging{Logs: map[string]*caddy.CustomLog{
			"default": {BaseLog: caddy.BaseLog{Level: o.logLevel}},
		}}
	}
	return cfg
}

// app is the msgscript app of the flags.
func (o *serveOptions) app() *caddymodule.App {
	app := &caddymodule.App{
		NATSURL:      o.natsURL,
		EmbeddedNATS: o.embeddedNATS,
		QueueGroup:   o.queueGroup,
		Timeout:      caddy.Duration(o.timeout),
	}
	app.Sandbox = o.sandbox
	app.PluginDir = o.pluginDir
	if o.admin != "" {
		// The app keeps sandboxed scripts off Caddy's default admin address; one moved by
		// --admin has to be named.
		app.DeniedAddrs = []string{o.admin}
	}
	if o.backend == backendDir {
		app.StoreRaw = caddyconfig.JSONModuleObject(caddymodule.DirStore{Path: o.dir}, "backend", "dir", nil)
		app.EtcdEndpoints = o.etcd
	} else {
		app.StoreRaw = caddyconfig.JSONModuleObject(caddymodule.EtcdStore{Endpoints: o.etcd}, "backend", "etcd", nil)
	}
	return app
}

// httpApp is the HTTP bridge: every request to the msgscript handler, after the dashboard's
// route when asked. Header reads are bounded, as Caddy's quick commands do: a client sending its
// headers a byte at a time would otherwise hold a connection for as long as it likes.
func (o *serveOptions) httpApp() *caddyhttp.App {
	var routes caddyhttp.RouteList
	if o.dashboard {
		routes = append(routes, dashboardRoute())
	}
	routes = append(routes, caddyhttp.Route{HandlersRaw: []json.RawMessage{
		caddyconfig.JSONModuleObject(caddymodule.Handler{}, "handler", "msgscript", nil),
	}})
	server := &caddyhttp.Server{
		Listen:            []string{o.listen},
		Routes:            routes,
		ReadHeaderTimeout: caddy.Duration(10 * time.Second),
	}
	if o.accessLog {
		server.Logs = new(caddyhttp.ServerLogConfig)
	}
	return &caddyhttp.App{Servers: map[string]*caddyhttp.Server{"msgscript": server}}
}

// dashboardRoute serves the dashboard under /_/ to clients on this machine (loopback addresses)
// and refuses it to others, as Caddyfile.example does, without the scripts' source: scripts can
// hold secrets, and the bridge usually listens on every interface.
func dashboardRoute() caddyhttp.Route {
	sub := caddyhttp.Subroute{Routes: caddyhttp.RouteList{
		{HandlersRaw: []json.RawMessage{
			caddyconfig.JSONModuleObject(rewrite.Rewrite{StripPathPrefix: "/_"}, "handler", "rewrite", nil),
		}},
		{
			MatcherSetsRaw: caddyhttp.RawMatcherSets{{
				"remote_ip": caddyconfig.JSON(caddyhttp.MatchRemoteIP{Ranges: []string{"127.0.0.1/8", "::1"}}, nil),
			}},
			HandlersRaw: []json.RawMessage{caddyconfig.JSONModuleObject(caddymodule.UI{}, "handler", "msgscript_ui", nil)},
		},
		{HandlersRaw: []json.RawMessage{
			caddyconfig.JSONModuleObject(caddyhttp.StaticResponse{
				StatusCode: caddyhttp.WeakString("403"),
				Body:       "the dashboard answers this machine only",
			}, "handler", "static_response", nil),
		}},
	}}
	return caddyhttp.Route{
		MatcherSetsRaw: caddyhttp.RawMatcherSets{{"path": caddyconfig.JSON(caddyhttp.MatchPath{"/_/*"}, nil)}},
		HandlersRaw:    []json.RawMessage{caddyconfig.JSONModuleObject(sub, "handler", "subroute", nil)},
	}
}
