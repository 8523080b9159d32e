package caddymodule

import (
	"encoding/json"
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/dustin/go-humanize"
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
//		jetstream_dir  <path>|off
//		store          <backend> <args...>
//		queue_group    <name>
//		service_name   <name>
//		tracing        [on|off]
//		timeout        <duration>
//		max_timeout    <duration>
//		max_concurrent <n>
//		max_concurrent_per_subject <n>
//		max_depth      <n>
//		send_rate      <messages per second>
//		memory_limit   <size>
//		kv_max_bytes   <size>|off
//		sandbox        [on|off]
//		http_hosts     <host>...
//		denied_addrs   <host:port>...
//		env            <NAME>...
//		etcd_prefix    <prefix>
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
		case "jetstream_dir":
			if err := oneArg(d, &a.JetStreamDir); err != nil {
				return err
			}
		case "queue_group":
			if err := oneArg(d, &a.QueueGroup); err != nil {
				return err
			}
		case "service_name":
			if err := oneArg(d, &a.ServiceName); err != nil {
				return err
			}
		case "timeout":
			dur, err := durationArg(d, opt, "30s")
			if err != nil {
				return err
			}
			a.Timeout = dur
		case "max_timeout":
			dur, err := durationArg(d, opt, "5m")
			if err != nil {
				return err
			}
			a.MaxTimeout = dur
		case "max_concurrent":
			if err := positiveArg(d, opt, &a.MaxConcurrent); err != nil {
				return err
			}
		case "max_concurrent_per_subject":
			if err := positiveArg(d, opt, &a.MaxConcurrentPerSubject); err != nil {
				return err
			}
		case "max_depth":
			if err := positiveArg(d, opt, &a.MaxDepth); err != nil {
				return err
			}
		case "send_rate":
			if err := positiveArg(d, opt, &a.SendRate); err != nil {
				return err
			}
		case "memory_limit":
			size, err := sizeArg(d, opt, "1GiB", false)
			if err != nil {
				return err
			}
			a.MemoryLimit = size
		case "kv_max_bytes":
			size, err := sizeArg(d, opt, "64MiB (or off)", true)
			if err != nil {
				return err
			}
			a.KVMaxBytes = size
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
			if err := switchArg(d, opt, &a.Sandbox); err != nil {
				return err
			}
		case "tracing":
			if err := switchArg(d, opt, &a.Tracing); err != nil {
				return err
			}
		case "http_hosts":
			args, err := listArgs(d)
			if err != nil {
				return err
			}
			a.HTTPHosts = append(a.HTTPHosts, args...)
		case "denied_addrs":
			args, err := listArgs(d)
			if err != nil {
				return err
			}
			a.DeniedAddrs = append(a.DeniedAddrs, args...)
		case "env":
			args, err := listArgs(d)
			if err != nil {
				return err
			}
			a.Env = append(a.Env, args...)
		case "etcd_prefix":
			if err := oneArg(d, &a.EtcdPrefix); err != nil {
				return err
			}
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
			return d.Errf("msgscript: unknown option %q (known: nats_url, embedded_nats, jetstream_dir, store, queue_group, service_name, tracing, timeout, max_timeout, max_concurrent, max_concurrent_per_subject, max_depth, send_rate, memory_limit, kv_max_bytes, sandbox, http_hosts, denied_addrs, env, etcd_prefix, etcd_endpoints, lua_path, plugin_dir)", opt)
		}
	}
	return nil
}

// switchArg reads an option that is on when named alone or with "on", off with "off".
func switchArg(d *caddyfile.Dispenser, opt string, v *bool) error {
	*v = true
	if !d.NextArg() {
		return nil
	}
	switch d.Val() {
	case "on":
	case "off":
		*v = false
	default:
		return d.Errf("%s: want on or off, got %q", opt, d.Val())
	}
	if d.NextArg() {
		return d.ArgErr()
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

// sizeArg reads the one size of opt, such as 1GiB or 512MB; with offAllowed, "off" is -1 (no
// limit).
func sizeArg(d *caddyfile.Dispenser, opt, example string, offAllowed bool) (int64, error) {
	var v string
	if err := oneArg(d, &v); err != nil {
		return 0, err
	}
	if v == "off" && offAllowed {
		return -1, nil // no limit
	}
	size, err := humanize.ParseBytes(v)
	if err != nil || size == 0 || size > 1<<50 {
		return 0, d.Errf("%s: want a size such as %s, got %q", opt, example, v)
	}
	return int64(size), nil
}

// positiveArg reads the one positive number of opt into dst.
func positiveArg(d *caddyfile.Dispenser, opt string, dst *int) error {
	var v string
	if err := oneArg(d, &v); err != nil {
		return err
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return d.Errf("%s: want a positive number, got %q", opt, v)
	}
	*dst = n
	return nil
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
