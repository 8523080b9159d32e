package caddymodule

import (
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("msgscript_ui", parseUI)
	// Before respond, like msgscript, so that it needs no `order`.
	httpcaddyfile.RegisterDirectiveOrder("msgscript_ui", httpcaddyfile.Before, "respond")
}

func parseUI(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	u := new(UI)
	err := u.UnmarshalCaddyfile(h.Dispenser)
	return u, err
}

// UnmarshalCaddyfile reads
//
//	msgscript_ui [<matcher>] {
//		show_source [on|off]
//		refresh     <duration>
//	}
func (u *UI) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the directive's name
	if d.NextArg() {
		return d.ArgErr()
	}
	nesting := d.Nesting()
	for d.NextBlock(nesting) {
		switch opt := d.Val(); opt {
		case "show_source":
			if err := switchArg(d, opt, &u.ShowSource); err != nil {
				return err
			}
		case "refresh":
			dur, err := durationArg(d, opt, "5s")
			if err != nil {
				return err
			}
			u.Refresh = dur
		default:
			return d.Errf("msgscript_ui: unknown option %q (known: show_source, refresh)", opt)
		}
	}
	return nil
}

var _ caddyfile.Unmarshaler = (*UI)(nil)
