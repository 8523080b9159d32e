package caddymodule

import (
	"fmt"
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/msgscript/msgscript/dashboard"
	"github.com/msgscript/msgscript/engine"
)

func init() {
	caddy.RegisterModule(UI{})
}

// UI is the http.handlers.msgscript_ui handler: msgscript's dashboard, a page listing the
// scripts of the msgscript app with their state, counters, latency and last error, refreshing
// by itself, and a page per script. Mount it where you like, behind the authentication you use:
//
//	handle_path /_/* {
//		basic_auth { admin <hash> }
//		msgscript_ui
//	}
//
// It answers every request it gets (it does not call the next handler).
type UI struct {
	// ShowSource shows each script's text on its page. Off by default: scripts can hold secrets.
	ShowSource bool `json:"show_source,omitempty"`
	// Refresh is how often the pages update themselves. Default: 2s.
	Refresh caddy.Duration `json:"refresh,omitempty"`

	pages *dashboard.Handler
}

func (UI) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.msgscript_ui",
		New: func() caddy.Module { return new(UI) },
	}
}

// Provision finds the msgscript app of the same config, whose scripts the pages show.
func (u *UI) Provision(ctx caddy.Context) error {
	if u.Refresh < 0 {
		return fmt.Errorf("msgscript_ui: refresh must be positive")
	}
	mod, err := ctx.AppIfConfigured("msgscript")
	if err != nil {
		return fmt.Errorf("msgscript_ui: the msgscript app is not configured (add the msgscript global option): %v", err)
	}
	app := mod.(*App)
	u.pages = &dashboard.Handler{
		ShowSource: u.ShowSource,
		Refresh:    time.Duration(u.Refresh),
		Source: func() (engine.Instance, *engine.Registry, bool) {
			e := app.running.Load()
			if e == nil {
				return engine.Instance{}, nil, false
			}
			return instanceOf(e, app), e.Registry(), true
		},
	}
	return nil
}

func (u *UI) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	u.pages.ServeHTTP(w, r)
	return nil
}

// Interface guards
var (
	_ caddy.Provisioner           = (*UI)(nil)
	_ caddyhttp.MiddlewareHandler = (*UI)(nil)
)
