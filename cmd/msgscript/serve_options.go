package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/spf13/pflag"
)

// The stores serve can use.
const (
	backendEtcd = "etcd"
	backendDir  = "dir"
)

// serveOptions is what serve's flags ask for, checked: every mistake a flag can hold is found
// here, before anything starts, and said with the flag's name.
type serveOptions struct {
	natsURL      string   // outside NATS; "" with embeddedNATS "" is the app's default
	embeddedNATS string   // host:port of the embedded server
	backend      string   // backendEtcd or backendDir
	dir          string   // the folder store's path, absolute
	etcd         []string // etcd endpoints: the store's, or the etcd module's with backendDir
	pluginDir    string   // absolute
	listen       string   // the HTTP bridge's address; "" for none
	admin        string   // Caddy's admin address; "" for none
	sandbox      bool
	timeout      time.Duration
	queueGroup   string
	dashboard    bool
	accessLog    bool
	logLevel     string   // Caddy's name of the level; "" for the default
	notes        []string // original flags accepted but without effect, to log at start
}

// serveOptionsFrom reads and checks the parsed flags.
func serveOptionsFrom(fs *pflag.FlagSet) (*serveOptions, error) {
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("serve takes flags only, not %q (see: msgscript help serve)", fs.Arg(0))
	}
	str := func(name string) string { v, _ := fs.GetString(name); return strings.TrimSpace(v) }
	flag := func(name string) bool { v, _ := fs.GetBool(name); return v }
	o := &serveOptions{
		natsURL:      str("natsurl"),
		embeddedNATS: str("embedded-nats"),
		queueGroup:   str("queue-group"),
		sandbox:      flag("sandbox"),
		dashboard:    flag("dashboard"),
		accessLog:    flag("access-log"),
	}
	var err error
	if err = o.checkNATS(); err != nil {
		return nil, err
	}
	if err = o.chooseStore(fs, str); err != nil {
		return nil, err
	}
	if dir := str("plugin"); dir != "" {
		if o.pluginDir, err = existingDir("-plugin", dir); err != nil {
			return nil, err
		}
	}
	if err = o.chooseListen(fs, str("listen")); err != nil {
		return nil, err
	}
	if admin := str("admin"); admin != "off" && admin != "" {
		if _, err := caddy.ParseNetworkAddress(admin); err != nil {
			return nil, fmt.Errorf("--admin %q: want host:port such as localhost:2019, or off: %v", admin, err)
		}
		o.admin = admin
	}
	if t := str("timeout"); t != "" {
		if o.timeout, err = caddy.ParseDuration(t); err != nil || o.timeout <= 0 {
			return nil, fmt.Errorf("--timeout %q: want a positive duration such as 30s", t)
		}
	}
	if strings.ContainsAny(o.queueGroup, " \t\r\n") {
		return nil, fmt.Errorf("--queue-group %q contains a blank", o.queueGroup)
	}
	if o.logLevel, err = logLevel(str("log")); err != nil {
		return nil, err
	}
	return o, nil
}

// checkNATS checks -natsurl and --embedded-nats.
func (o *serveOptions) checkNATS() error {
	if o.natsURL != "" && o.embeddedNATS != "" {
		return fmt.Errorf("-natsurl and --embedded-nats exclude each other: connect to a NATS server, or run one")
	}
	if o.natsURL != "" {
		for _, u := range strings.Split(o.natsURL, ",") {
			if err := checkNATSURL(strings.TrimSpace(u)); err != nil {
				return fmt.Errorf("-natsurl %q: %v", u, err)
			}
		}
	}
	if o.embeddedNATS != "" {
		if _, port, err := splitHostPort(o.embeddedNATS); err != nil || port == 0 {
			return fmt.Errorf("--embedded-nats %q: want host:port, such as 127.0.0.1:4222", o.embeddedNATS)
		}
	}
	return nil
}

// chooseStore decides where the scripts come from. Without --backend the store is the one named:
// --dir (or the original's -script) for a folder, else etcd (at -etcdurl, or the defaults the
// original used); naming both is a mistake. With --backend, the flags of the other store are what
// the original did with them: the original's NixOS unit passes -etcdurl, -script and -library
// whatever its backend, so with the folder store -etcdurl gives the scripts' etcd module its
// server, and with etcd, -script and -library do nothing (said at start).
func (o *serveOptions) chooseStore(fs *pflag.FlagSet, str func(string) string) error {
	dir, script, library := str("dir"), str("script"), str("library")
	dirFlag := "--dir"
	if dir == "" && script != "" {
		dir, dirFlag = script, "-script"
	} else if dir != "" && script != "" && filepath.Clean(dir) != filepath.Clean(script) {
		return fmt.Errorf("--dir %s and -script %s: give the folder of scripts once", dir, script)
	}
	if e := str("etcdurl"); e != "" {
		o.etcd = splitList(e)
		for _, ep := range o.etcd {
			if err := checkEtcdURL(ep); err != nil {
				return fmt.Errorf("-etcdurl %q: %v", ep, err)
			}
		}
	}
	switch b := str("backend"); b {
	case "":
		if dir != "" && len(o.etcd) > 0 {
			return fmt.Errorf("-etcdurl and %s both name a store of scripts: give one (-etcdurl for etcd, %s for a folder), or --backend dir to serve the folder and give the scripts' etcd module that server", dirFlag, dirFlag)
		}
		o.backend = backendEtcd
		if dir != "" {
			o.backend = backendDir
		}
	case "etcd":
		o.backend = backendEtcd
		if fs.Changed("dir") {
			return fmt.Errorf("--dir with --backend etcd: the scripts are either in etcd or in a folder")
		}
	case "dir", "file": // file: the original's name
		o.backend = backendDir
		if dir == "" {
			return fmt.Errorf("--backend %s needs the folder of scripts: --dir <path>", b)
		}
	default:
		return fmt.Errorf("--backend %q: want etcd or dir", b)
	}

	if o.backend == backendEtcd {
		if script != "" {
			o.notes = append(o.notes, "-script is ignored: the scripts are in etcd")
		}
		if library != "" {
			o.notes = append(o.notes, "-library is ignored: the libraries are in etcd, beside the scripts")
		}
		return nil
	}
	var err error
	if o.dir, err = existingDir(dirFlag, dir); err != nil {
		return err
	}
	if library != "" {
		// The folder store reads its libraries from libs/ inside the folder, and from nowhere else.
		lib, err := filepath.Abs(library)
		if err != nil {
			return fmt.Errorf("-library %s: %v", library, err)
		}
		if want := filepath.Join(o.dir, "libs"); lib != want {
			return fmt.Errorf("-library %s: the folder store reads its libraries from the libs folder inside the scripts' folder (%s): move them there and drop -library", library, want)
		}
	}
	return nil
}

// chooseListen reads --listen, or the original's -port.
func (o *serveOptions) chooseListen(fs *pflag.FlagSet, listen string) error {
	if fs.Changed("port") {
		if fs.Changed("listen") {
			return fmt.Errorf("--listen and -port both set the HTTP address: give one")
		}
		port, _ := fs.GetInt("port")
		if port < 1 || port > 65535 {
			return fmt.Errorf("-port %d: want 1 to 65535", port)
		}
		listen = ":" + strconv.Itoa(port)
	}
	if listen == "off" || listen == "" {
		if o.dashboard {
			return fmt.Errorf("--dashboard needs the HTTP bridge, which --listen off turns off")
		}
		return nil
	}
	addr, err := caddy.ParseNetworkAddress(listen)
	if err != nil || (!addr.IsUnixNetwork() && addr.StartPort == 0) {
		return fmt.Errorf("--listen %q: want an address such as :7643 or 127.0.0.1:7643, or off", listen)
	}
	o.listen = listen
	return nil
}

// existingDir returns path made absolute, or why it is not a folder.
func existingDir(flag, path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("%s %s: %v", flag, path, errorText(err))
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("%s %s: not a folder", flag, path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("%s %s: %v", flag, path, err)
	}
	return abs, nil
}

// errorText is err without the path that the message already names.
func errorText(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err.Error()
	}
	return err.Error()
}

// logLevel maps the original's -log levels (logrus names) to Caddy's.
func logLevel(level string) (string, error) {
	switch strings.ToLower(level) {
	case "":
		return "", nil
	case "trace", "debug":
		return "DEBUG", nil
	case "info":
		return "INFO", nil
	case "warn", "warning":
		return "WARN", nil
	case "error":
		return "ERROR", nil
	}
	return "", fmt.Errorf("-log %q: want debug, info, warn or error", level)
}

// splitList splits a comma-separated list, dropping empty items.
func splitList(s string) []string {
	var list []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			list = append(list, item)
		}
	}
	return list
}
