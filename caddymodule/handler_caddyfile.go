package caddymodule

import (
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("msgscript", parseHandler)
	// Before respond, so that `msgscript` needs no `order` (respond would otherwise answer first).
	httpcaddyfile.RegisterDirectiveOrder("msgscript", httpcaddyfile.Before, "respond")
}

func parseHandler(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	m := new(Handler)
	err := m.UnmarshalCaddyfile(h.Dispenser)
	return m, err
}

// UnmarshalCaddyfile reads
//
//	msgscript [<matcher>] {
//		timeout         <duration>
//		max_body        <size>
//		subjects        <pattern>...
//		forward_headers <name>...
//		nats_url        <url>
//	}
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the directive's name
	if d.NextArg() {
		return d.ArgErr()
	}
	nesting := d.Nesting()
	for d.NextBlock(nesting) {
		switch opt := d.Val(); opt {
		case "timeout":
			dur, err := durationArg(d, opt, "5s")
			if err != nil {
				return err
			}
			h.Timeout = dur
		case "max_body":
			size, err := sizeArg(d, opt, "1MiB or 512KB", false)
			if err != nil {
				return err
			}
			h.MaxBody = size
		case "subjects":
			args, err := listArgs(d)
			if err != nil {
				return err
			}
			h.Subjects = append(h.Subjects, args...)
		case "forward_headers":
			args, err := listArgs(d)
			if err != nil {
				return err
			}
			h.ForwardHeaders = append(h.ForwardHeaders, args...)
		case "nats_url":
			if err := oneArg(d, &h.NATSURL); err != nil {
				return err
			}
		default:
			return d.Errf("msgscript handler: unknown option %q (known: timeout, max_body, subjects, forward_headers, nats_url)", opt)
		}
	}
	return nil
}

var _ caddyfile.Unmarshaler = (*Handler)(nil)
