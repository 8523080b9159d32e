package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	lua "github.com/yuin/gopher-lua"

	"github.com/msgscript/msgscript/script"
)

// The mocks of a test: mock_http answers the http module's requests, mock_nats the nats module's.
// They live in the test's world, so each test starts with none.

// httpMock is one mock_http: the response to the requests whose URL starts with prefix.
type httpMock struct {
	prefix string
	status int
	body   string
	header http.Header
}

// maxSeenBody bounds what http_requests() keeps of a request body.
const maxSeenBody = 1 << 20

// mockTransport carries every request of the http module, the scripts' and the test's (see
// luaenv.Services.HTTPTransport). A request whose URL a mock_http of the running test matches
// gets that mock's response. Any other fails, and fails the test, even when the script swallows
// the error: a test never reaches the network by surprise, and a request nobody thought of is
// seen.
type mockTransport struct{ run *testRun }

func (t mockTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(io.LimitReader(req.Body, maxSeenBody))
		_ = req.Body.Close()
	}
	w := t.run.current()
	if w == nil {
		return nil, errors.New("no test is running")
	}
	u := req.URL.String()
	w.mu.Lock()
	w.requests = append(w.requests, seenRequest{method: req.Method, url: u, body: string(body), header: req.Header.Clone()})
	m, ok := w.httpMockLocked(u)
	if !ok {
		at := w.at
		if at.file == "" {
			at = location{w.file, w.line}
		}
		w.failures = append(w.failures, testFailure{location: at, test: w.test,
			msg: fmt.Sprintf("unmocked HTTP request %s %s: add a mock_http for it", req.Method, u)})
	}
	w.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("no mock_http matches %s (msgscriptcli test sends no request to the network)", u)
	}
	return &http.Response{
		Status: fmt.Sprintf("%d %s", m.status, http.StatusText(m.status)), StatusCode: m.status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: m.header.Clone(), Body: io.NopCloser(strings.NewReader(m.body)), ContentLength: int64(len(m.body)),
		Request: req,
	}, nil
}

// httpMockLocked finds the mock of a URL: the longest prefix that matches, the latest of equal
// ones (so that a test can override what the file's top level set). w.mu is held.
func (w *testWorld) httpMockLocked(u string) (httpMock, bool) {
	best, found := httpMock{}, false
	for _, m := range w.httpMocks {
		if strings.HasPrefix(u, m.prefix) && (!found || len(m.prefix) >= len(best.prefix)) {
			best, found = m, true
		}
	}
	return best, found
}

// luaMockHTTP is mock_http(url_prefix, status, body[, headers]).
func (r *testRun) luaMockHTTP(L *lua.LState) int {
	m := httpMock{prefix: L.CheckString(1), status: L.CheckInt(2), body: optText(L, 3), header: http.Header{}}
	if m.status < 100 || m.status > 999 {
		L.ArgError(2, "a status from 100 to 999")
	}
	if h := L.OptTable(4, nil); h != nil {
		m.header = headerOf(h)
	}
	if m.header.Get("Content-Type") == "" {
		m.header.Set("Content-Type", "text/plain; charset=utf-8")
	}
	w := r.current()
	w.mu.Lock()
	w.httpMocks = append(w.httpMocks, m)
	w.mu.Unlock()
	return 0
}

// luaHTTPRequests is http_requests(): every request the http module made during the test, in
// order, mocked or not: {method=, url=, body=, headers={name = values joined by ", "}}.
func (r *testRun) luaHTTPRequests(L *lua.LState) int {
	w := r.current()
	w.mu.Lock()
	seen := append([]seenRequest(nil), w.requests...)
	w.mu.Unlock()
	list := L.CreateTable(len(seen), 0)
	for _, s := range seen {
		t := L.CreateTable(0, 4)
		t.RawSetString("method", lua.LString(s.method))
		t.RawSetString("url", lua.LString(s.url))
		t.RawSetString("body", lua.LString(s.body))
		t.RawSetString("headers", headerTable(L, s.header))
		list.Append(t)
	}
	L.Push(list)
	return 1
}

// natsMock is one mock_nats: the reply to the requests on the subjects of pattern; with err, a
// failure in the NATS micro error headers, as a msgscript script that failed answers.
type natsMock struct {
	pattern, reply, err string
}

// luaMockNATS is mock_nats(subject, reply[, err]). The subject may hold wildcards. A mocked
// subject is answered by the mock alone, even when a script listens on it; the latest mock
// matching a subject answers it.
func (r *testRun) luaMockNATS(L *lua.LState) int {
	m := natsMock{pattern: L.CheckString(1), reply: optText(L, 2), err: L.OptString(3, "")}
	if err := script.ValidatePattern(m.pattern); err != nil {
		L.ArgError(1, err.Error())
	}
	w := r.current()
	w.mu.Lock()
	subscribed := false
	for _, old := range w.natsMocks {
		subscribed = subscribed || old.pattern == m.pattern
	}
	w.natsMocks = append(w.natsMocks, m)
	w.mu.Unlock()
	if subscribed {
		return 0
	}
	// One subscription per pattern. A message may reach several (svc.* and svc.a): each finds
	// the same latest mock, and only the subscription of that mock's pattern answers.
	pattern := m.pattern
	if _, err := w.nc.Subscribe(pattern, func(msg *nats.Msg) {
		w.mu.Lock()
		m, _ := w.natsMockFor(msg.Subject)
		w.mu.Unlock()
		if m.pattern != pattern || msg.Reply == "" {
			return
		}
		reply := &nats.Msg{Subject: msg.Reply, Data: []byte(m.reply)}
		if m.err != "" {
			reply.Header = nats.Header{}
			reply.Header.Set(micro.ErrorCodeHeader, "500")
			reply.Header.Set(micro.ErrorHeader, m.err)
		}
		_ = w.nc.PublishMsg(reply)
	}); err != nil {
		L.RaiseError("mock_nats: %v", err)
	}
	if err := w.nc.Flush(); err != nil {
		L.RaiseError("mock_nats: %v", err)
	}
	return 0
}

// natsMockFor finds the latest mock whose pattern matches subject. w.mu is held.
func (w *testWorld) natsMockFor(subject string) (natsMock, bool) {
	for i := len(w.natsMocks) - 1; i >= 0; i-- {
		if m := w.natsMocks[i]; script.Match(m.pattern, subject) {
			return m, true
		}
	}
	return natsMock{}, false
}

// optText reads an optional string argument; a number is taken as its text, nil as "".
func optText(L *lua.LState, n int) string {
	switch v := L.Get(n).(type) {
	case lua.LString:
		return string(v)
	case lua.LNumber:
		return v.String()
	case *lua.LNilType:
		return ""
	default:
		L.ArgError(n, "a string expected, got "+v.Type().String())
		return ""
	}
}

// headerOf reads a table of headers: name -> value, or name -> list of values.
func headerOf(t *lua.LTable) http.Header {
	h := http.Header{}
	t.ForEach(func(k, v lua.LValue) {
		if list, ok := v.(*lua.LTable); ok {
			for i := 1; i <= list.Len(); i++ {
				h.Add(k.String(), list.RawGetInt(i).String())
			}
			return
		}
		h.Add(k.String(), v.String())
	})
	return h
}

// headerTable is the Lua table of headers: name -> values joined by ", ", as the http module
// gives them.
func headerTable(L *lua.LState, h http.Header) *lua.LTable {
	t := L.CreateTable(0, len(h))
	names := make([]string, 0, len(h))
	for name := range h {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		t.RawSetString(name, lua.LString(strings.Join(h[name], ", ")))
	}
	return t
}
