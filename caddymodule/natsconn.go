package caddymodule

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// conns shares NATS connections (and embedded servers) between the configs of one process. Caddy
// starts a new config before it stops the old one; with the connection shared the new config's
// subscriptions join the same queue groups on the same connection while the old ones drain, and
// an embedded server is not asked to bind a port it already holds.
var conns = caddy.NewUsagePool()

// natsConn is one pooled connection, and the embedded server behind it if there is one.
//
// nats.go reconnects by itself after a network failure, but some errors close a connection for
// good (a protocol line over the server's limit, an authorization change): then natsConn opens a
// new connection and tells its watchers (the engines, which subscribe again on it), so that
// msgscript never stays cut off from NATS.
type natsConn struct {
	log     *zap.Logger
	srv     *server.Server
	unlock  func()                                        // lets go of the embedded server's jetstream_dir, once it is shut down
	connect func(opts ...nats.Option) (*nats.Conn, error) // opens a client connection (again)

	current atomic.Pointer[nats.Conn]
	gone    chan struct{} // closed by Destruct
	// reconnects counts the connection coming back, after a reconnection or a replacement.
	reconnects atomic.Uint64

	mu       sync.Mutex
	closing  bool
	watchers map[int]func(*nats.Conn)
	nextID   int
}

func newNATSConn(log *zap.Logger, srv *server.Server, connect func(opts ...nats.Option) (*nats.Conn, error)) (*natsConn, error) {
	c := &natsConn{log: log, srv: srv, connect: connect, gone: make(chan struct{}), watchers: map[int]func(*nats.Conn){}}
	nc, err := c.dial()
	if err != nil {
		return nil, err
	}
	c.current.Store(nc)
	return c, nil
}

// conn is the connection of the moment.
func (c *natsConn) conn() *nats.Conn { return c.current.Load() }

// watch calls fn with every connection that replaces the current one, from now on; the caller
// works on have, and fn is called at once if that is no longer the current one. stop ends it.
func (c *natsConn) watch(have *nats.Conn, fn func(*nats.Conn)) (stop func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := c.nextID
	c.nextID++
	c.watchers[id] = fn
	if nc := c.current.Load(); nc != have {
		fn(nc)
	}
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		delete(c.watchers, id)
	}
}

func (c *natsConn) dial() (*nats.Conn, error) {
	return c.connect(append(connOptions(c.log, &c.reconnects), nats.ClosedHandler(c.closed))...)
}

// closed runs when a connection is closed for good: unless Destruct closed it, a new one is opened.
func (c *natsConn) closed(nc *nats.Conn) {
	c.mu.Lock()
	closing := c.closing
	c.mu.Unlock()
	if closing || c.current.Load() != nc {
		return
	}
	c.log.Error("NATS closed the connection for good; opening a new one", zap.Error(nc.LastError()))
	go c.replace()
}

// replace opens a new connection, retrying until it can or Destruct runs, makes it the current one
// and tells the watchers.
func (c *natsConn) replace() {
	for wait := 250 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
		nc, err := c.dial()
		if err == nil {
			c.mu.Lock()
			if c.closing {
				c.mu.Unlock()
				nc.Close()
				return
			}
			c.current.Store(nc)
			watchers := make([]func(*nats.Conn), 0, len(c.watchers))
			for _, fn := range c.watchers {
				watchers = append(watchers, fn)
			}
			c.mu.Unlock()
			for _, fn := range watchers { // outside the lock: they subscribe, which waits for NATS
				fn(nc)
			}
			c.reconnects.Add(1)
			c.log.Info("NATS connection replaced")
			return
		}
		c.log.Error("opening a new NATS connection", zap.Error(err), zap.Duration("retry_in", wait))
		select {
		case <-time.After(wait):
		case <-c.gone:
			return
		}
	}
}

// Destruct runs when the last config using the connection lets go of it. The engines using it
// have drained their subscriptions already; flushing sends their last replies.
func (c *natsConn) Destruct() error {
	c.mu.Lock()
	c.closing = true
	c.mu.Unlock()
	close(c.gone)
	nc := c.current.Load()
	err := nc.FlushTimeout(time.Second)
	nc.Close()
	if c.srv != nil {
		c.srv.Shutdown()
		c.srv.WaitForShutdown()
	}
	if c.unlock != nil {
		c.unlock()
	}
	if errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, nats.ErrConnectionReconnecting) {
		err = nil // nothing could be sent anyway
	}
	return err
}

func acquireConn(key string, log *zap.Logger, dial func(*zap.Logger) (*natsConn, error)) (*natsConn, error) {
	v, _, err := conns.LoadOrNew(key, func() (caddy.Destructor, error) { return dial(log) })
	if err != nil {
		return nil, err
	}
	return v.(*natsConn), nil
}

func releaseConn(key string) {
	_, _ = conns.Delete(key)
}

// connOptions are the client options of every connection: reconnect forever (the subscriptions
// come back by themselves), say so in Caddy's log, and count it in reconnects.
func connOptions(log *zap.Logger, reconnects *atomic.Uint64) []nats.Option {
	errorLog := sampled(log)
	return []nats.Option{
		nats.Name("msgscript"),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("NATS disconnected; reconnecting", zap.Error(err))
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			reconnects.Add(1)
			log.Info("NATS reconnected", zap.String("server", redactURLs(nc.ConnectedUrl())))
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			fields := []zap.Field{zap.Error(err)}
			if sub != nil {
				fields = append(fields, zap.String("subject", sub.Subject))
			}
			errorLog.Error("NATS", fields...)
		}),
	}
}

// dialNATS connects to an outside NATS server. If the server is not there yet the connection keeps
// trying in the background (and the subscriptions are made once it answers), so that Caddy can
// start before NATS does.
func dialNATS(url string, log *zap.Logger) (*natsConn, error) {
	c, err := newNATSConn(log, nil, func(opts ...nats.Option) (*nats.Conn, error) {
		return nats.Connect(url, append(opts, nats.RetryOnFailedConnect(true))...)
	})
	if err != nil {
		return nil, fmt.Errorf("connecting to NATS at %s: %v", redactURLs(url), err)
	}
	if !c.conn().IsConnected() {
		log.Warn("NATS not reachable yet; will keep trying", zap.String("url", redactURLs(url)))
	}
	return c, nil
}

// startEmbeddedNATS runs a NATS server in the process, listening on addr for other clients, with
// JetStream keeping its data in jsDir ("off": without JetStream), and connects to it in-process.
func startEmbeddedNATS(addr, jsDir string, log *zap.Logger) (c *natsConn, err error) {
	unlock := func() {}
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("embedded_nats %q: %v", addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("embedded_nats %q: bad port", addr)
	}
	opts := &server.Options{Host: host, Port: port, NoSigs: true, ServerName: "msgscript"}
	if jsDir != "off" {
		// Made here to say at once what is wrong with it: the server only logs it, then does not
		// get ready.
		if err := os.MkdirAll(jsDir, 0o700); err != nil {
			return nil, fmt.Errorf("embedded NATS server: its JetStream folder (jetstream_dir; off runs without JetStream): %v", err)
		}
		release, err := lockDir(jsDir)
		if err != nil {
			return nil, fmt.Errorf("embedded NATS server: jetstream_dir: %v", err)
		}
		unlock = release
		opts.JetStream, opts.StoreDir = true, jsDir
	}
	defer func() {
		if c == nil {
			unlock()
		}
	}()
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded NATS server: %v", err)
	}
	srv.SetLoggerV2(natsLogger{sampled(log.Named("nats")).Sugar()}, false, false, false)
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		return nil, fmt.Errorf("embedded NATS server did not start on %s (is the port in use? is %s writable?)", addr, jsDir)
	}
	if opts.JetStream && !srv.JetStreamEnabled() {
		srv.Shutdown()
		return nil, fmt.Errorf("embedded NATS server on %s: JetStream did not start in %s (see the log; jetstream_dir off runs without it)", addr, jsDir)
	}
	c, err = newNATSConn(log, srv, func(opts ...nats.Option) (*nats.Conn, error) {
		return nats.Connect("", append(opts, nats.InProcessServer(srv))...)
	})
	if err != nil {
		srv.Shutdown()
		return nil, fmt.Errorf("connecting to the embedded NATS server: %v", err)
	}
	c.unlock = unlock
	return c, nil
}

// defaultJetStreamDir is where the embedded server on addr keeps its JetStream data: one folder
// per address, so that two embedded servers of one machine never share one.
func defaultJetStreamDir(addr string) string {
	name := strings.NewReplacer(":", "_", "[", "", "]", "", "/", "_").Replace(addr)
	return filepath.Join(caddy.AppDataDir(), "msgscript", "jetstream", name)
}

// sampled is log saying each message 5 times a second at most: a flood (slow consumers, a
// script fanning out) made 21,000 lines of the same warning.
func sampled(log *zap.Logger) *zap.Logger {
	return log.WithOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core {
		return zapcore.NewSamplerWithOptions(c, time.Second, 5, 0)
	}))
}

// natsLogger sends the embedded server's log to Caddy's.
type natsLogger struct{ s *zap.SugaredLogger }

func (l natsLogger) Noticef(format string, v ...any) { l.s.Infof(format, v...) }
func (l natsLogger) Warnf(format string, v ...any)   { l.s.Warnf(format, v...) }
func (l natsLogger) Fatalf(format string, v ...any)  { l.s.Errorf(format, v...) }
func (l natsLogger) Errorf(format string, v ...any)  { l.s.Errorf(format, v...) }
func (l natsLogger) Debugf(format string, v ...any)  { l.s.Debugf(format, v...) }
func (l natsLogger) Tracef(format string, v ...any)  { l.s.Debugf(format, v...) }

// Interface guards
var (
	_ caddy.Destructor = (*natsConn)(nil)
	_ server.Logger    = natsLogger{}
)
