package main

import (
	"github.com/spf13/pflag"
)

// defaultServeListen is where the HTTP bridge listens, as in the original server (port 7643).
const defaultServeListen = ":7643"

// defineServeFlags declares serve's flags. No shorthands: every single-dash name longer than one
// letter is a long flag (see longFlagArgs), as it was for the original server.
func defineServeFlags(fs *pflag.FlagSet) {
	fs.String("natsurl", "", "NATS server(s) to connect to, comma-separated (default: $NATS_URL, else an embedded server)")
	fs.String("embedded-nats", "", "run the embedded NATS server on this host:port (default 127.0.0.1:4222)")
	fs.String("etcdurl", "", "etcd endpoint(s) holding the scripts, comma-separated (default: $ETCD_ENDPOINTS, else http://127.0.0.1:2379)")
	fs.String("dir", "", "serve the scripts of this folder instead of etcd (libraries in its libs/)")
	fs.String("backend", "", "the store: etcd or dir (default: dir with --dir, else etcd)")
	fs.String("plugin", "", "load the Go .so plugins of this folder")
	fs.String("listen", defaultServeListen, "address of the HTTP bridge (POST /<subject>); off for none")
	fs.Bool("sandbox", false, "take file, process, environment and network access away from scripts")
	fs.String("timeout", "", "deadline of a call when the script sets none (default 30s)")
	fs.String("queue-group", "", "NATS queue group shared with the other instances (default msgscript)")
	fs.Bool("dashboard", false, "serve the dashboard at /_/ on --listen, to this machine only (loopback clients)")
	fs.Bool("access-log", false, "log every HTTP request")
	fs.String("admin", "off", "address of Caddy's admin API, e.g. localhost:2019 (msgscriptcli status, metrics)")
	fs.String("log", "", "log level: debug, info, warn or error (default info)")

	// The original server's spellings, kept out of the help: its systemd units still use them.
	fs.String("script", "", "the original's folder of scripts (-backend file): --dir")
	fs.String("library", "", "the original's folder of libraries: the libs/ folder of --dir")
	fs.Int("port", 0, "the original's HTTP port: --listen :PORT")
	for _, name := range []string{"script", "library", "port"} {
		_ = fs.MarkHidden(name)
	}
}
