package caddymodule

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"go.uber.org/zap"
)

// conns shares NATS connections (and embedded servers) between the configs of one process. Caddy
// starts a new config before it stops the old one; with the connection shared the new config's
// subscriptions join the same queue groups on the same connection while the old ones drain, and
// an embedded server is not asked to bind a port it already holds.
var conns = caddy.NewUsagePool()

// natsConn is one pooled connection, and the embedded server behind it if there is one.
type natsConn struct {
	nc  *nats.Conn
	srv *server.Server
}

// Destruct runs when the last config using the connection lets go of it. The engines using it
// have drained their subscriptions already; flushing sends their last replies.
func (c *natsConn) Destruct() error {
	err := c.nc.FlushTimeout(time.Second)
	c.nc.Close()
	if c.srv != nil {
		c.srv.Shutdown()
		c.srv.WaitForShutdown()
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
// come back by themselves) and say so in Caddy's log.
func connOptions(log *zap.Logger) []nats.Option {
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
			log.Info("NATS reconnected", zap.String("server", nc.ConnectedUrlRedacted()))
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			fields := []zap.Field{zap.Error(err)}
			if sub != nil {
				fields = append(fields, zap.String("subject", sub.Subject))
			}
			log.Error("NATS", fields...)
		}),
	}
}

// dialNATS connects to an outside NATS server. If the server is not there yet the connection keeps
// trying in the background (and the subscriptions are made once it answers), so that Caddy can
// start before NATS does.
func dialNATS(url string, log *zap.Logger) (*natsConn, error) {
	opts := append(connOptions(log), nats.RetryOnFailedConnect(true))
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, fmt.Errorf("connecting to NATS at %s: %v", redactURLs(url), err)
	}
	if !nc.IsConnected() {
		log.Warn("NATS not reachable yet; will keep trying", zap.String("url", redactURLs(url)))
	}
	return &natsConn{nc: nc}, nil
}

// startEmbeddedNATS runs a NATS server in the process, listening on addr for other clients, and
// connects to it in-process.
func startEmbeddedNATS(addr string, log *zap.Logger) (*natsConn, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("embedded_nats %q: %v", addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("embedded_nats %q: bad port", addr)
	}
	srv, err := server.NewServer(&server.Options{Host: host, Port: port, NoSigs: true, ServerName: "msgscript"})
	if err != nil {
		return nil, fmt.Errorf("embedded NATS server: %v", err)
	}
	srv.SetLoggerV2(natsLogger{log.Named("nats").Sugar()}, false, false, false)
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		return nil, fmt.Errorf("embedded NATS server did not start on %s (is the port in use?)", addr)
	}
	nc, err := nats.Connect("", append(connOptions(log), nats.InProcessServer(srv))...)
	if err != nil {
		srv.Shutdown()
		return nil, fmt.Errorf("connecting to the embedded NATS server: %v", err)
	}
	return &natsConn{nc: nc, srv: srv}, nil
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
