package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/msgscript/msgscript/store"
	"github.com/msgscript/msgscript/store/dirstore"
	"github.com/msgscript/msgscript/store/etcdstore"
)

// globals are the flags every command shares, and the store they open.
type globals struct {
	etcdURLs   string
	etcdPrefix string
	natsURL    string
	backend    string
	dir        string
	logLevel   string
	timeout    time.Duration
	pluginDir  string

	// stdout and stderr write what a terminal would act on as escapes (terminalSafe): names,
	// errors and test output carry what files, servers and their clients hold. raw is stdout as
	// it is, for the bytes a command is asked for (invoke's and dev's reply, show's text).
	stdout, stderr, raw io.Writer
	st                  store.Store
	etcd                *clientv3.Client // opened on first use, by the etcd store or the etcd module
}

func (g *globals) register(root *cobra.Command) {
	f := root.PersistentFlags()
	f.StringVarP(&g.etcdURLs, "etcdurls", "e", envOr("ETCD_ENDPOINTS", "localhost:2379"), "etcd endpoints, comma-separated (env ETCD_ENDPOINTS)")
	f.StringVar(&g.etcdPrefix, "prefix", etcdstore.DefaultPrefix, "etcd key prefix")
	f.StringVarP(&g.natsURL, "natsurl", "u", os.Getenv("NATS_URL"), "NATS server for invoke, and for the nats module of the scripts run here (env NATS_URL)")
	f.StringVarP(&g.backend, "backend", "b", "etcd", "where the scripts live: etcd or dir")
	f.StringVar(&g.dir, "dir", "", "the scripts folder, with --backend dir")
	f.StringVarP(&g.logLevel, "log", "L", "warn", "log level: debug, info, warn or error")
	// Bounds each command's work against the store, so that an unreachable etcd is an error
	// rather than a hang; invoke waits as long for its reply.
	f.DurationVar(&g.timeout, "timeout", 10*time.Second, "how long to wait for the store, or for invoke's reply")
}

// registerPlugin adds --plugin to a command that runs scripts here (dev, devhttp, test); the
// others load no plugin, and their help does not offer it.
func (g *globals) registerPlugin(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&g.pluginDir, "plugin", "p", "", "folder of Go plugins (*.so) for the scripts run here")
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// logger writes to stderr at the chosen level.
func (g *globals) logger() (*zap.Logger, error) {
	level, err := zapcore.ParseLevel(g.logLevel)
	if err != nil {
		return nil, usageError{fmt.Errorf("--log: %v", err)}
	}
	enc := zap.NewDevelopmentEncoderConfig()
	enc.TimeKey = ""
	core := zapcore.NewCore(zapcore.NewConsoleEncoder(enc), zapcore.AddSync(g.stderr), level)
	return zap.New(core), nil
}

// store opens the chosen backend once.
func (g *globals) store() (store.Store, error) {
	if g.st != nil {
		return g.st, nil
	}
	log, err := g.logger()
	if err != nil {
		return nil, err
	}
	switch g.backend {
	case "dir":
		if g.dir == "" {
			return nil, usageError{fmt.Errorf("--backend dir needs --dir PATH")}
		}
		if fi, err := os.Stat(g.dir); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("--dir %s: not a folder", g.dir)
		}
		g.st = dirstore.New(g.dir, log)
	case "etcd":
		if err := g.checkEtcd(etcdstore.Endpoints(g.etcdURLs)); err != nil {
			return nil, err
		}
		cli, err := g.etcdClient()
		if err != nil {
			return nil, err
		}
		g.st = etcdstore.New(cli, g.etcdPrefix, log)
	default:
		return nil, usageError{fmt.Errorf("--backend %q: want etcd or dir", g.backend)}
	}
	return g.st, nil
}

// etcdClient opens the client of --etcdurls once. It does not wait for etcd: it connects when
// first used.
func (g *globals) etcdClient() (*clientv3.Client, error) {
	if g.etcd != nil {
		return g.etcd, nil
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: etcdstore.Endpoints(g.etcdURLs), DialTimeout: g.timeout, Logger: zap.NewNop()})
	if err != nil {
		return nil, fmt.Errorf("etcd %s: %v", g.etcdURLs, err)
	}
	g.etcd = cli
	return cli, nil
}

// withStore runs fn against the chosen store, within --timeout.
func (g *globals) withStore(fn func(ctx context.Context, st store.Store) error) error {
	st, err := g.store()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), g.timeout)
	defer cancel()
	return fn(ctx, st)
}

// missing rewords a store's ErrNotFound as "no <what> in <the store>".
func (g *globals) missing(err error, what string) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no %s in %s", what, g.where())
	}
	return err
}

// where names the store in messages.
func (g *globals) where() string {
	if g.backend == "dir" {
		return g.dir
	}
	return "etcd " + g.etcdURLs
}

func (g *globals) close() error {
	if g.etcd != nil {
		return g.etcd.Close()
	}
	return nil
}
