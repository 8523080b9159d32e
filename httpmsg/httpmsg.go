// Package httpmsg is msgscript's HTTP-over-NATS wire format: it carries HTTP requests and
// responses over NATS. The body stays raw
// bytes in the message's data; the method, URL, status and headers travel in NATS headers. The HTTP
// handler, msgscriptcli devhttp and the engine all speak it, so a script answers the same whether
// it is reached through Caddy or run locally.
package httpmsg

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/msgscript/msgscript/script"
)

// NATS headers of msgscript's own. Headers of the HTTP request and response travel next to them
// under their own names; any that would clash with these (or with the Nats- ones) are dropped.
const (
	HeaderMethod     = "Msgscript-Method"      // the request's verb; its presence marks an HTTP request
	HeaderURL        = "Msgscript-Url"         // what follows the subject in the path, plus the query
	HeaderRemoteAddr = "Msgscript-Remote-Addr" // the client's address
	HeaderStatus     = "Msgscript-Status"      // the response's status, from an HTTP-mode script

	reservedPrefix = "Msgscript-"
	natsPrefix     = "Nats-"
)

// SplitPath reads the subject from the first segment of a request path, /<subject>[/rest], and
// returns it with the rest ("/" when nothing follows). The subject must be one a client may send
// to: no wildcards, no empty tokens, nothing reserved for NATS.
func SplitPath(path string) (subject, rest string, err error) {
	path = strings.TrimPrefix(path, "/")
	subject, rest, _ = strings.Cut(path, "/")
	rest = "/" + rest
	if subject == "" {
		return "", "", errors.New("no subject: POST /<subject>[/path]")
	}
	if !utf8.ValidString(subject) || strings.ContainsFunc(subject, unicode.IsControl) {
		return "", "", fmt.Errorf("subject %q has a control character or is not UTF-8", subject)
	}
	if err := script.ValidateSubject(subject); err != nil {
		return "", "", err
	}
	return subject, rest, nil
}

// Request is an HTTP request as a script sees it.
type Request struct {
	Method     string
	URL        string // Path plus "?" and the query when there is one
	Path       string // what follows the subject in the request's path, starting with "/"
	RawQuery   string
	RemoteAddr string
	Header     http.Header
	Body       []byte
}

// NewMsg builds the NATS request for an HTTP request to subject; rest is what followed the subject
// in the path. forward chooses the request headers that go along (nil: all of them). The
// hop-by-hop headers, which describe the client's connection to Caddy, never do, as a proxy
// would not pass them on.
func NewMsg(subject, rest string, r *http.Request, body []byte, forward func(name string) bool) *nats.Msg {
	h := make(nats.Header, len(r.Header)+4) // and the sender's Msgscript-Timeout
	for name, values := range r.Header {
		if reserved(name) || hopByHop[name] || (forward != nil && !forward(name)) {
			continue
		}
		h[name] = values
	}
	u := rest
	if r.URL.RawQuery != "" {
		u += "?" + r.URL.RawQuery
	}
	v := []string{r.Method, u, r.RemoteAddr} // one allocation for the three values
	h[HeaderMethod], h[HeaderURL], h[HeaderRemoteAddr] = v[0:1:1], v[1:2:2], v[2:3:3]
	return &nats.Msg{Subject: subject, Header: h, Data: body}
}

// MethodOf is the verb of the HTTP request m carries, "" when it carries none.
func MethodOf(m *nats.Msg) string {
	if m.Header == nil {
		return ""
	}
	return m.Header.Get(HeaderMethod)
}

// hopByHop are the headers of one connection (RFC 9110, 7.6.1), by their canonical names.
var hopByHop = map[string]bool{
	"Connection": true, "Proxy-Connection": true, "Keep-Alive": true, "Te": true, "Trailer": true,
	"Transfer-Encoding": true, "Upgrade": true, "Proxy-Authorization": true, "Proxy-Authenticate": true,
}

// FromMsg decodes the HTTP request a message carries; nil when it carries none.
func FromMsg(m *nats.Msg) *Request {
	method := MethodOf(m)
	if method == "" {
		return nil
	}
	u := m.Header.Get(HeaderURL)
	path, query, _ := strings.Cut(u, "?")
	if path == "" {
		path = "/"
	}
	h := http.Header{}
	for name, values := range m.Header {
		if !reserved(name) {
			h[http.CanonicalHeaderKey(name)] = values
		}
	}
	return &Request{
		Method: method, URL: u, Path: path, RawQuery: query,
		RemoteAddr: m.Header.Get(HeaderRemoteAddr), Header: h, Body: m.Data,
	}
}

// Query parses the query string, ignoring malformed pairs.
func (r *Request) Query() url.Values {
	q, _ := url.ParseQuery(r.RawQuery)
	return q
}

// Response is what an HTTP-mode script answered.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Msg encodes the response as the reply to inbox.
func (r *Response) Msg(inbox string) *nats.Msg {
	h := nats.Header{}
	for name, values := range r.Header {
		if !reserved(name) {
			h[name] = values
		}
	}
	h.Set(HeaderStatus, strconv.Itoa(r.Status))
	return &nats.Msg{Subject: inbox, Header: h, Data: r.Body}
}

// Failure reads the error a reply carries in the NATS micro headers: the HTTP status for its code
// (500, 504, or 404 when no script was there; 502 for a code that is no HTTP error) and the
// messages, one per line. failed is false for a reply that answers.
func Failure(m *nats.Msg) (status int, msg string, failed bool) {
	code := m.Header.Get(micro.ErrorCodeHeader)
	if code == "" {
		return 0, "", false
	}
	status, err := strconv.Atoi(code)
	if err != nil || status < 400 || status > 599 {
		status = http.StatusBadGateway
	}
	return status, strings.Join(m.Header.Values(micro.ErrorHeader), "\n"), true
}

// WriteReply writes a script's reply as the HTTP response: in HTTP mode the status, headers and
// body the script returned; in normal mode 200 and the JSON object name -> string (or, for a
// `--* reply: raw` script, what it returned, with the type the engine gave it); when a script
// failed, its Failure as plain text. It returns the status written.
func WriteReply(w http.ResponseWriter, m *nats.Msg) int {
	if status, msg, failed := Failure(m); failed {
		WriteError(w, status, msg)
		return status
	}
	status := http.StatusOK
	if s := m.Header.Get(HeaderStatus); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n >= 100 && n <= 999 {
			status = n
		}
		for name, values := range m.Header {
			// A script's hop-by-hop headers (Transfer-Encoding, Connection) are not its to set:
			// they describe Caddy's connection to the client, as a proxy would not pass them on.
			if !reserved(name) && !hopByHop[http.CanonicalHeaderKey(name)] {
				for _, v := range values {
					w.Header().Add(name, v)
				}
			}
		}
		writeBody(w, status, m.Data, nil)
		return status
	}
	if ct := m.Header.Get("Content-Type"); ct != "" {
		// A `--* reply: raw` script's reply, typed by the engine: sent as it is.
		w.Header().Set("Content-Type", ct)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		writeBody(w, status, m.Data, nil)
		return status
	}
	// The JSON object name -> reply, ended by a newline as JSON over HTTP usually is (a terminal
	// prompt then starts on its own line after curl).
	w.Header().Set("Content-Type", "application/json")
	writeBody(w, status, m.Data, newline)
	return status
}

var newline = []byte{'\n'}

// writeBody writes status and body, then end, with their Content-Length. A body of up to
// joinedMax bytes goes out with its end in one write: Caddy moves the connection's write deadline
// (write_idle_timeout) on every write, a timer update each.
func writeBody(w http.ResponseWriter, status int, body, end []byte) {
	w.Header().Set("Content-Length", strconv.Itoa(len(body)+len(end)))
	w.WriteHeader(status)
	if end != nil && len(body)+len(end) <= joinedMax {
		bp := joined.Get().(*[]byte)
		b := append(append((*bp)[:0], body...), end...)
		_, _ = w.Write(b) // a Writer keeps nothing of b, which goes back to the pool
		*bp = b[:0]
		joined.Put(bp)
		return
	}
	_, _ = w.Write(body)
	if end != nil {
		_, _ = w.Write(end)
	}
}

// joinedMax bounds the replies writeBody copies to write them with their end: the size of
// net/http's own write buffer, past which a copy costs more than the write it saves.
const joinedMax = 4096

// joined holds writeBody's buffers, joinedMax bytes each.
var joined = sync.Pool{New: func() any { b := make([]byte, 0, joinedMax); return &b }}

// WriteError answers with status and a plain-text message.
func WriteError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(msg + "\n"))
}

// reserved tells the headers that belong to msgscript or NATS and never cross as HTTP headers.
func reserved(name string) bool {
	return hasPrefixFold(name, reservedPrefix) || hasPrefixFold(name, natsPrefix)
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
