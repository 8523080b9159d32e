package caddymodule

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/nats-io/nats.go"
	"go.uber.org/zap"

	"github.com/msgscript/msgscript/callctx"
	"github.com/msgscript/msgscript/httpmsg"
	"github.com/msgscript/msgscript/script"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// Handler turns an HTTP request to /<subject>[/rest] into a NATS request to <subject> and writes
// the reply: the JSON object of a normal-mode script, or exactly the status, headers and body of
// an HTTP-mode script. Every verb is passed on. Caddy in front gives it TLS, auth and logging.
type Handler struct {
	// Timeout bounds the wait for the reply. Default: 5s.
	Timeout caddy.Duration `json:"timeout,omitempty"`
	// MaxBody is the largest request body accepted, in bytes. Default: 1 MiB.
	MaxBody int64 `json:"max_body,omitempty"`
	// Subjects, when set, are the only subjects (patterns with * and >) requests may reach.
	Subjects []string `json:"subjects,omitempty"`
	// ForwardHeaders, when set, are the only request headers passed on to scripts. Default: all.
	ForwardHeaders []string `json:"forward_headers,omitempty"`
	// NATSURL is the NATS server to send requests to, for a Caddy that runs the handler without
	// the msgscript app (an edge node). Default: the app's connection, else the NATS_URL
	// environment variable.
	NATSURL string `json:"nats_url,omitempty"`

	conn    *connRef               // the NATS connection: the app's, or the handler's own
	started <-chan struct{}        // closed once the app of the handler's config serves; nil: no app
	forward func(name string) bool // the ForwardHeaders filter; nil forwards every header
	waits   *waits                 // the requests waiting for their reply
	logger  *zap.Logger

	timeoutValue []string // the Msgscript-Timeout header of every request: Timeout, less a margin
}

// connRef is the handler's hold on a pooled NATS connection (the msgscript app's, or its own
// nats_url's), taken on the first request so that provisioning does no network I/O, and let go by
// Cleanup. Holding its own reference keeps the connection for the requests a config still serves
// after its msgscript app stopped, as happens during a reload; dialing does not wait for NATS (the
// connection keeps trying in the background).
type connRef struct {
	key  string
	log  *zap.Logger
	dial func(*zap.Logger) (*natsConn, error)
	mu   sync.Mutex
	conn atomic.Pointer[natsConn]
	gone bool // released by Cleanup
}

func (o *connRef) get() *nats.Conn {
	if c := o.conn.Load(); c != nil {
		return c.conn()
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if c := o.conn.Load(); c != nil {
		return c.conn()
	}
	if o.gone {
		return nil
	}
	c, err := acquireConn(o.key, o.log, o.dial)
	if err != nil {
		o.log.Error("connecting to NATS", zap.Error(err))
		return nil
	}
	o.conn.Store(c)
	return c.conn()
}

// release lets go of the reference. A request of the old config still being served after a
// reload keeps using the connection, which the new config holds; once nobody holds it, it is
// closed and such a request gets 503.
func (o *connRef) release() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.gone && o.conn.Load() != nil {
		releaseConn(o.key)
	}
	o.gone = true
}

const (
	defaultHandlerTimeout = 5 * time.Second
	defaultMaxBody        = 1 << 20
)

func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.msgscript",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision finds the NATS connection: its own nats_url, else the msgscript app's, else NATS_URL.
func (h *Handler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	if h.Timeout <= 0 {
		h.Timeout = caddy.Duration(defaultHandlerTimeout)
	}
	if h.MaxBody <= 0 {
		h.MaxBody = defaultMaxBody
	}
	h.waits = newWaits(time.Duration(h.Timeout))
	h.timeoutValue = []string{callctx.TimeoutValue(time.Duration(h.Timeout))}
	for _, p := range h.Subjects {
		if err := script.ValidatePattern(p); err != nil {
			return fmt.Errorf("msgscript handler: subjects: %v", err)
		}
	}
	if len(h.ForwardHeaders) > 0 {
		keep := map[string]bool{}
		for _, name := range h.ForwardHeaders {
			keep[http.CanonicalHeaderKey(name)] = true
		}
		h.forward = func(name string) bool { return keep[name] }
	}

	url := caddy.NewReplacer().ReplaceKnown(h.NATSURL, "")
	if url == "" {
		if app, err := ctx.AppIfConfigured("msgscript"); err == nil {
			a := app.(*App)
			h.conn = &connRef{key: a.connKey, log: a.logger, dial: a.dial}
			h.started = a.started
			return nil
		}
		url = os.Getenv("NATS_URL")
	}
	if url == "" {
		return fmt.Errorf("msgscript handler: no NATS server: configure the msgscript app, or nats_url in the handler")
	}
	h.conn = &connRef{key: "nats " + url, log: h.logger, dial: func(log *zap.Logger) (*natsConn, error) { return dialNATS(url, log) }}
	return nil
}

// Cleanup lets go of the connection.
func (h *Handler) Cleanup() error {
	if h.conn != nil {
		h.conn.release()
	}
	return nil
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	start := time.Now()
	subject, status, failure := h.serve(w, r)
	var err error
	if failure != "" {
		err = fail(w, r, status, failure)
	}
	if status >= 400 {
		level := zap.InfoLevel
		if status >= 500 {
			level = zap.ErrorLevel
		}
		h.logger.Log(level, "msgscript request failed",
			zap.String("subject", subject), zap.String("method", r.Method),
			zap.Int("status", status), zap.Duration("duration", time.Since(start)))
	}
	return err
}

// serve answers one request and returns its subject and status. A failure is not written: serve
// returns its message, for fail.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request) (subject string, status int, failure string) {
	subject, rest, err := httpmsg.SplitPath(r.URL.Path)
	if errors.Is(err, script.ErrSubjectTooLong) {
		return subject, http.StatusRequestURITooLong, err.Error()
	} else if err != nil {
		return subject, http.StatusBadRequest, err.Error()
	}
	if !h.allowed(subject) {
		return subject, http.StatusForbidden, fmt.Sprintf("subject %q is not open to HTTP requests", subject)
	}
	if r.ContentLength > h.MaxBody {
		closeUnread(w)
		return subject, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over %d bytes", h.MaxBody)
	}
	nc := h.conn.get() // before reading the body, which may take long enough for a reload to happen
	body, held, err := readBody(w, r, h.MaxBody)
	if err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			return subject, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over %d bytes", h.MaxBody)
		case errors.Is(err, errBodiesBusy):
			closeUnread(w)
			return subject, http.StatusServiceUnavailable, err.Error()
		}
		return subject, http.StatusBadRequest, "reading the request body: " + err.Error()
	}
	defer releaseBody(held)
	if nc == nil || !nc.IsConnected() {
		return subject, http.StatusServiceUnavailable, "NATS is not reachable"
	}
	// The wait ends at the timeout, counted from now (the body is read), or when the client goes.
	wait := h.waits.start(r.Context(), time.Now().Add(time.Duration(h.Timeout)))
	defer h.waits.finish(wait)
	msg := httpmsg.NewMsg(subject, rest, r, body, h.forward)
	// The scripts' spans go below the request's, when Caddy's tracing directive traces it.
	callctx.Trace.Inject(r.Context(), callctx.TraceHeaders(msg.Header))
	// The scripts end when the handler stops waiting. The value is the handler's, shared by its
	// messages: nats.go only reads it.
	msg.Header[callctx.HeaderTimeout] = h.timeoutValue
	if depth := callctx.DepthOf(r.Header); depth > 0 {
		// A script's request through the handler: the loop through HTTP counts its hops too.
		msg.Header.Set(callctx.HeaderDepth, strconv.Itoa(depth))
	}
	starting := h.starting()
	reply, err := nc.RequestMsgWithContext(wait, msg)
	if starting && errors.Is(err, nats.ErrNoResponders) && h.waitStarted(wait) {
		// Caddy starts its apps in no set order: a request that came before the msgscript app had
		// subscribed its scripts goes again once it has, rather than being told 404.
		reply, err = nc.RequestMsgWithContext(wait, msg)
	}
	switch {
	case err == nil:
		if status, msg, failed := httpmsg.Failure(reply); failed {
			return subject, status, msg // a script failed, or none was there
		}
		return subject, httpmsg.WriteReply(w, reply), ""
	case errors.Is(err, nats.ErrNoResponders):
		return subject, http.StatusNotFound, "no script listens on " + subject
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout):
		return subject, http.StatusGatewayTimeout, fmt.Sprintf("no reply from %s within %s", subject, time.Duration(h.Timeout))
	case errors.Is(err, nats.ErrMaxPayload):
		return subject, http.StatusRequestEntityTooLarge, "request over the NATS server's max_payload"
	case r.Context().Err() != nil:
		return subject, 499, "" // the client went away; nothing to write
	case errors.Is(err, nats.ErrConnectionClosed), errors.Is(err, nats.ErrConnectionReconnecting),
		errors.Is(err, nats.ErrConnectionDraining), errors.Is(err, nats.ErrDisconnected):
		return subject, http.StatusServiceUnavailable, "NATS is not reachable"
	default:
		return subject, http.StatusBadGateway, err.Error()
	}
}

// starting tells whether the msgscript app of the handler's config has yet to subscribe its
// scripts.
func (h *Handler) starting() bool {
	select {
	case <-h.started:
		return false
	default:
		return h.started != nil
	}
}

// waitStarted waits until the app has subscribed its scripts (true), or ctx ends.
func (h *Handler) waitStarted(ctx context.Context) bool {
	select {
	case <-h.started:
		return true
	case <-ctx.Done():
		return false
	}
}

// allowed checks subject against the allow-list.
func (h *Handler) allowed(subject string) bool {
	if len(h.Subjects) == 0 {
		return true
	}
	for _, p := range h.Subjects {
		if script.Match(p, subject) {
			return true
		}
	}
	return false
}

// fail answers a request that msgscript refuses or cannot serve. As Caddy's own handlers do, it hands the failure to the site's handle_errors
// routes as a caddyhttp.Error (with {err.status_code} and {err.message}); a site without them
// would answer with the bare status, so there msgscript writes the message itself, as plain text.
func fail(w http.ResponseWriter, r *http.Request, status int, msg string) error {
	if srv, ok := r.Context().Value(caddyhttp.ServerCtxKey).(*caddyhttp.Server); ok && srv.Errors != nil && len(srv.Errors.Routes) > 0 {
		return caddyhttp.Error(status, errors.New(msg))
	}
	httpmsg.WriteError(w, status, msg)
	return nil
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.CleanerUpper          = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
