package main

import (
	"fmt"
	"strings"

	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.uber.org/zap"
)

// `msgscript serve` runs msgscript from command-line flags alone, the way `caddy file-server` and
// `caddy reverse-proxy` build their config, so that the original server's systemd unit
// (`server -etcdurl ... -natsurl ... -plugin DIR`) needs one word changed, and trying msgscript
// needs no Caddyfile.
func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "serve",
		Usage: "[--dir <path> | -etcdurl <urls>] [-natsurl <urls>] [-plugin <dir>] [--listen <addr>] [--sandbox] [--timeout <duration>] [--queue-group <name>] [--dashboard] [--access-log] [--admin <addr>]",
		Short: "Runs msgscript from flags alone (the original server's flags work too)",
		Long: `
Runs msgscript with its config built from flags: the scripts of a store
(etcd, or a folder), NATS (an outside server, or an embedded one) and the
HTTP bridge (POST /<subject> becomes a NATS request). It stays in the
foreground, as 'run' does, until interrupted.

The scripts come from etcd (-etcdurl; without it $ETCD_ENDPOINTS, else
http://127.0.0.1:2379), as the original msgscript server's did, or from
a folder (--dir), reloaded whenever a file changes. Giving both is an
error, unless --backend says which store to use: with '--backend dir',
-etcdurl gives the scripts' etcd module its server.

NATS is -natsurl; without it $NATS_URL, else an embedded NATS server on
127.0.0.1:4222 (--embedded-nats moves it).

The original server's single-dash flags (-etcdurl, -natsurl, -plugin,
-backend, -script, -library, -port, -log) are accepted as they were: a
single dash followed by a long name is that long flag. Caddy's admin API
is off unless --admin gives it an address, as for Caddy's other quick
commands. For anything more (TLS, authentication, several sites), write
a Caddyfile and use 'run'.`,
		CobraFunc: func(cmd *cobra.Command) {
			defineServeFlags(cmd.Flags())
			// Cobra would read -natsurl as the shorthands -n -a -t...: serve parses its own
			// arguments, after rewriting the original's spellings (see longFlagArgs).
			cmd.DisableFlagParsing = true
			cmd.RunE = runServeCommand
		},
	})
}

// runServeCommand parses the arguments, checks them, and runs the config they describe until the
// process is stopped. Mistakes in the flags are reported before anything starts.
func runServeCommand(cmd *cobra.Command, args []string) error {
	fs := cmd.Flags()
	if err := fs.Parse(longFlagArgs(fs, args)); err != nil {
		if err == pflag.ErrHelp {
			return cmd.Help()
		}
		return fmt.Errorf("%v (see: msgscript help serve)", err)
	}
	if help, _ := fs.GetBool("help"); help {
		return cmd.Help()
	}
	opts, err := serveOptionsFrom(fs)
	if err != nil {
		return err
	}
	cfg := opts.caddyConfig()

	caddy.TrapSignals()
	for _, note := range opts.notes {
		caddy.Log().Warn(note)
	}
	if err := caddy.Run(cfg); err != nil {
		return err
	}
	caddy.Log().Info("msgscript serving",
		zap.String("store", opts.storeText()),
		zap.String("nats", opts.natsText()),
		zap.String("http", textOr(opts.listen, "off")),
		zap.String("admin", textOr(opts.admin, "off")))
	select {}
}

// textOr is s, or otherwise when s is empty, for the startup line.
func textOr(s, otherwise string) string {
	if s == "" {
		return otherwise
	}
	return s
}

// storeText tells where the scripts come from, for the startup line.
func (o *serveOptions) storeText() string {
	if o.backend == backendDir {
		return "folder " + o.dir
	}
	if len(o.etcd) == 0 {
		return "etcd ($ETCD_ENDPOINTS, else http://127.0.0.1:2379)"
	}
	return "etcd " + strings.Join(o.etcd, ",")
}

// natsText tells which NATS msgscript uses, for the startup line (the app logs the URL itself,
// without passwords; this line only says which way was chosen).
func (o *serveOptions) natsText() string {
	switch {
	case o.natsURL != "":
		return "-natsurl"
	case o.embeddedNATS != "":
		return "embedded server on " + o.embeddedNATS
	default:
		return "$NATS_URL, else an embedded server on 127.0.0.1:4222"
	}
}
