package caddymodule

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync/atomic"

	"github.com/caddyserver/caddy/v2"

	"github.com/msgscript/msgscript/engine"
	"github.com/msgscript/msgscript/internal/version"
)

func init() {
	caddy.RegisterModule(adminAPI{})
}

// adminAPI adds msgscript's routes to Caddy's admin endpoint, as reverse_proxy adds
// /reverse_proxy/upstreams:
//
//	GET /msgscript/scripts    every script: subject, name, the version serving, the stored one
//	                          when it is not that one and why (its compile error, file:line),
//	                          calls, errors, timeouts, last error and when
//	GET /msgscript/subjects   every subject pattern subscribed to, its scripts and its messages
//	GET /msgscript/instance   this instance: service name and id, versions, NATS, memory limit
//
// They report the msgscript app of the running config (the one started last, during a reload).
type adminAPI struct{}

// serving is the app whose engine the admin routes report: the last started, until it stops.
var serving atomic.Pointer[App]

func (adminAPI) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "admin.api.msgscript",
		New: func() caddy.Module { return new(adminAPI) },
	}
}

func (a adminAPI) Routes() []caddy.AdminRoute {
	return []caddy.AdminRoute{
		{Pattern: "/msgscript/scripts", Handler: caddy.AdminHandlerFunc(a.get(func(e *engine.Engine, _ *App) any { return e.Registry().Status() }))},
		{Pattern: "/msgscript/subjects", Handler: caddy.AdminHandlerFunc(a.get(func(e *engine.Engine, _ *App) any { return e.Registry().SubjectStatus() }))},
		{Pattern: "/msgscript/instance", Handler: caddy.AdminHandlerFunc(a.get(func(e *engine.Engine, app *App) any { return instanceOf(e, app) }))},
	}
}

// get answers a GET with what report says of the engine serving, in JSON.
func (adminAPI) get(report func(*engine.Engine, *App) any) caddy.AdminHandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if r.Method != http.MethodGet {
			return caddy.APIError{HTTPStatus: http.StatusMethodNotAllowed, Err: fmt.Errorf("method not allowed")}
		}
		app := serving.Load()
		var e *engine.Engine
		if app != nil {
			e = app.running.Load()
		}
		if e == nil {
			return caddy.APIError{HTTPStatus: http.StatusServiceUnavailable, Err: fmt.Errorf("msgscript is not running")}
		}
		w.Header().Set("Content-Type", "application/json")
		return json.NewEncoder(w).Encode(report(e, app))
	}
}

// instanceOf is what the instance of app, running e, tells of itself.
func instanceOf(e *engine.Engine, a *App) engine.Instance {
	_, caddyVersion := caddy.Version()
	act := e.Activity()
	return engine.Instance{
		Service: e.ServiceName(), ID: e.ServiceID(), Version: version.Get().String(), Caddy: caddyVersion,
		NATS: a.natsTarget, QueueGroup: e.QueueGroup(), Sandbox: a.Sandbox, MemoryLimit: act.MemoryLimit, Activity: act,
	}
}

var _ caddy.AdminRouter = adminAPI{}
