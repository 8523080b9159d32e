package caddymodule

import (
	"encoding/json"
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
)

func init() {
	httpcaddyfile.RegisterGlobalOption("msgscript", parseGlobalOption)
}

// parseGlobalOption reads the msgscript global option. Repeated blocks merge, later values
// winning, so a config can be assembled from imported snippets.
func parseGlobalOption(d *caddyfile.Dispenser, existing any) (any, error) {
	app := new(App)
	if existing != nil {
		prev, ok := existing.(httpcaddyfile.App)
		if !ok {
			return nil, d.Errf("msgscript: unexpected previous value %T", existing)
		}
		if err := json.Unmarshal(prev.Value, app); err != nil {
			return nil, d.Errf("msgscript: merging with the previous block: %v", err)
		}
	}
	if err := app.UnmarshalCaddyfile(d); err != nil {
		return nil, err
	}
	return httpcaddyfile.App{Name: "msgscript", Value: caddyconfig.JSON(app, nil)}, nil
}

// UnmarshalCaddyfile reads
//
//	msgscript {
//		nats_url       <url>
//		embedded_nats  <host:port>
//		store          <backend> <args...>
//		queue_group    <name>
//		timeout        <duration>
//		max_concurrent <n>
//		sandbox        [on|off]
//		http_hosts     <host>...
//		etcd_endpoints <endpoint>...
//		lua_path       <path>
//		plugin_dir     <dir>
//	}
func (a *App) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // "msgscript"
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		switch opt := d.Val(); opt {
		case "nats_url":
			if err := oneArg(d, &a.NATSURL); err != nil {
				return err
			}
		case "embedded_nats":
			if err := oneArg(d, &a.EmbeddedNATS); err != nil {
				return err
			}
		case "queue_group":
			if err := oneArg(d, &a.QueueGroup); err != nil {
				return err
			}
		case "timeout":
			dur, err := durationArg(d, opt, "30s")
			if err != nil {
				return err
			}
			a.Timeout = dur
		case "max_concurrent":
			var s string
			if err := oneArg(d, &s); err != nil {
				return err
			}
			n, err := strconv.Atoi(s)
			if err != nil || n <= 0 {
				return d.Errf("max_concurrent: want a positive number, got %q", s)
			}
			a.MaxConcurrent = n
		case "store":
			if !d.NextArg() {
				return d.ArgErr()
			}
			backend := d.Val()
			unm, err := caddyfile.UnmarshalModule(d, "msgscript.stores."+backend)
			if err != nil {
				return err
			}
			a.StoreRaw = caddyconfig.JSONModuleObject(unm, "backend", backend, nil)
		case "sandbox":
			a.Sandbox = true
			if d.NextArg() {
				switch d.Val() {
				case "on":
				case "off":
					a.Sandbox = false
				default:
					return d.Errf("sandbox: want on or off, got %q", d.Val())
				}
				if d.NextArg() {
					return d.ArgErr()
				}
			}
		case "http_hosts":
			args, err := listArgs(d)
			if err != nil {
				return err
			}
			a.HTTPHosts = append(a.HTTPHosts, args...)
		case "etcd_endpoints":
			args, err := listArgs(d)
			if err != nil {
				return err
			}
			a.EtcdEndpoints = append(a.EtcdEndpoints, args...)
		case "lua_path":
			if err := oneArg(d, &a.LuaPath); err != nil {
				return err
			}
		case "plugin_dir":
			if err := oneArg(d, &a.PluginDir); err != nil {
				return err
			}
		default:
			return d.Errf("msgscript: unknown option %q (known: nats_url, embedded_nats, store, queue_group, timeout, max_concurrent, sandbox, http_hosts, etcd_endpoints, lua_path, plugin_dir)", opt)
		}
	}
	return nil
}

// durationArg reads the one positive duration of opt.
func durationArg(d *caddyfile.Dispenser, opt, example string) (caddy.Duration, error) {
	var v string
	if err := oneArg(d, &v); err != nil {
		return 0, err
	}
	dur, err := caddy.ParseDuration(v)
	if err != nil || dur <= 0 {
		return 0, d.Errf("%s: want a positive duration such as %s, got %q", opt, example, v)
	}
	return caddy.Duration(dur), nil
}

// listArgs reads one or more arguments.
func listArgs(d *caddyfile.Dispenser) ([]string, error) {
	args := d.RemainingArgs()
	if len(args) == 0 {
		return nil, d.ArgErr()
	}
	return args, nil
}

// oneArg reads exactly one argument into dst.
func oneArg(d *caddyfile.Dispenser, dst *string) error {
	if !d.NextArg() {
		return d.ArgErr()
	}
	*dst = d.Val()
	if d.NextArg() {
		return d.ArgErr()
	}
	return nil
}

var _ caddyfile.Unmarshaler = (*App)(nil)
