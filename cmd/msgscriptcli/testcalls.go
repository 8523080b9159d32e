package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	luajson "github.com/vadv/gopher-lua-libs/json"
	lua "github.com/yuin/gopher-lua"

	"github.com/msgscript/msgscript/callctx"
	"github.com/msgscript/msgscript/httpmsg"
	"github.com/msgscript/msgscript/script"
)

// handlerTimeout is how long the server's HTTP handler waits for a reply by default; it tells
// the scripts (Msgscript-Timeout), which end then.
const handlerTimeout = 5 * time.Second

// handlerMaxBody is the handler's default max_body: larger bodies are answered 413.
const handlerMaxBody = 1 << 20

// testRemoteAddr is the client address an HTTP-mode script sees in req.remote_addr.
const testRemoteAddr = "127.0.0.1:1234"

// luaCall is call(subject, payload[, headers]): the message runs the scripts of its subject as
// the server runs them (every script on the subject, the replies merged into one object) and
// call returns what a requester gets: the reply decoded (a table from script name to what it
// returned), then, when a script failed, the NATS micro error messages joined by "; " and the
// error code (500, or 504 when every failure was a timeout): reply, err, code.
func (r *testRun) luaCall(L *lua.LState) int {
	subject, payload := L.CheckString(1), optText(L, 2)
	if err := script.ValidatePublish(subject); err != nil {
		L.ArgError(1, err.Error())
	}
	pattern, err := r.patternFor(subject)
	if err != nil {
		L.RaiseError("call: %v", err)
	}
	m := &nats.Msg{Subject: subject, Data: []byte(payload), Header: nats.Header{}}
	if h := L.OptTable(3, nil); h != nil {
		m.Header = nats.Header(headerOf(h))
	}
	w := r.current()
	w.setAt(testCaller(L, w.file, w.line)) // where a request nothing mocks is reported
	defer w.setAt(location{})
	reply := r.reg.Answer(contextOf(L), pattern, m)

	L.Push(replyValue(L, reply.Data))
	code := reply.Header.Get(micro.ErrorCodeHeader)
	if code == "" {
		return 1
	}
	L.Push(lua.LString(strings.Join(reply.Header.Values(micro.ErrorHeader), "; ")))
	if n, err := strconv.Atoi(code); err == nil {
		L.Push(lua.LNumber(n))
	} else {
		L.Push(lua.LString(code))
	}
	return 3
}

// luaCallHTTP is call_http(method, path[, body[, headers]]): the request as the server's HTTP
// handler sends it, path being "/<subject>/rest?query", answered as the handler answers it. It
// returns {status=, body=, headers={name = values joined by ", "}}.
func (r *testRun) luaCallHTTP(L *lua.LState) int {
	method, path, body := strings.ToUpper(L.CheckString(1)), L.CheckString(2), optText(L, 3)
	u, err := url.ParseRequestURI(path)
	if err != nil || !strings.HasPrefix(path, "/") {
		L.ArgError(2, "a path, /<subject>[/rest][?query]")
	}
	req := &http.Request{Method: method, URL: u, RequestURI: path, Header: http.Header{}, Host: "localhost",
		RemoteAddr: testRemoteAddr, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}
	if h := L.OptTable(4, nil); h != nil {
		req.Header = headerOf(h)
	}
	w := r.current()
	w.setAt(testCaller(L, w.file, w.line))
	defer w.setAt(location{})
	rec := httptest.NewRecorder()
	if err := r.serveHTTP(contextOf(L), rec, req, []byte(body)); err != nil {
		L.RaiseError("call_http: %v", err)
	}
	resp := rec.Result()
	t := L.CreateTable(0, 3)
	t.RawSetString("status", lua.LNumber(resp.StatusCode))
	t.RawSetString("body", lua.LString(rec.Body.String()))
	t.RawSetString("headers", headerTable(L, resp.Header))
	L.Push(t)
	return 1
}

// serveHTTP answers the request as the server's handler (caddymodule's Handler.serve) does, with
// its default options: the subject from the path, a body of at most 1 MiB, the scripts told the
// handler's 5 s wait, and the handler's statuses. An error is a mistake of the test, not an
// answer: a subject that several subject patterns match.
func (r *testRun) serveHTTP(ctx context.Context, w http.ResponseWriter, req *http.Request, body []byte) error {
	subject, rest, err := httpmsg.SplitPath(req.URL.Path)
	switch {
	case errors.Is(err, script.ErrSubjectTooLong):
		httpmsg.WriteError(w, http.StatusRequestURITooLong, err.Error())
		return nil
	case err != nil:
		httpmsg.WriteError(w, http.StatusBadRequest, err.Error())
		return nil
	case len(body) > handlerMaxBody:
		httpmsg.WriteError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over %d bytes", handlerMaxBody))
		return nil
	}
	pattern, err := r.patternFor(subject)
	if errors.Is(err, errNoScript) {
		httpmsg.WriteError(w, http.StatusNotFound, "no script listens on "+subject)
		return nil
	} else if err != nil {
		return err
	}
	msg := httpmsg.NewMsg(subject, rest, req, body, nil)
	callctx.SetTimeout(msg, handlerTimeout)
	reply := r.reg.Answer(ctx, pattern, msg)
	if status, text, failed := httpmsg.Failure(reply); failed {
		httpmsg.WriteError(w, status, text)
		return nil
	}
	httpmsg.WriteReply(w, reply)
	return nil
}

// errNoScript: no script listens on the subject.
var errNoScript = errors.New("no script listens on it")

// patternFor finds the subject pattern whose scripts a message on subject runs. The server
// subscribes each pattern apart, so a subject under two patterns (funcs.* and funcs.a) runs both
// and the requester gets whichever reply comes first: a test cannot rely on that, and is told.
func (r *testRun) patternFor(subject string) (string, error) {
	var found []string
	for _, p := range r.patterns {
		if script.Match(p, subject) {
			found = append(found, p)
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("%s: %w", subject, errNoScript)
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("%s is under several subjects that have scripts (%s): the server would answer with whichever replied first",
		subject, strings.Join(found, ", "))
}

// contextOf is the test's context: its deadline.
func contextOf(L *lua.LState) context.Context {
	if ctx := L.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}

// replyValue is a reply as a test sees it: a JSON object decoded by the scripts' own json module
// (gopher-lua-libs), anything else as its text.
func replyValue(L *lua.LState, data []byte) lua.LValue {
	var obj map[string]json.RawMessage
	if json.Unmarshal(data, &obj) != nil {
		return lua.LString(data)
	}
	L.Push(L.NewFunction(luajson.Decode))
	L.Push(lua.LString(data))
	L.Call(1, 2)
	v := L.Get(-2)
	L.Pop(2)
	return v
}
