package engine

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	lua "github.com/yuin/gopher-lua"
	"golang.org/x/net/http/httpguts"

	"github.com/msgscript/msgscript/httpmsg"
)

// ServeHTTP runs the script for an HTTP request. In HTTP mode (`--* http: true`, or a global
// function named after the verb) the function named after the verb is called as
// fn(url, body, req) and returns body[, status[, headers]]; resp is then set. Otherwise the script
// runs as for any message, OnMessage(subject, body), and body is set.
func (p *Program) ServeHTTP(ctx context.Context, subject string, req *httpmsg.Request) (body string, resp *httpmsg.Response, err error) {
	return p.serveHTTP(ctx, 0, subject, httpCall{method: req.Method, body: req.Body, req: req})
}

// httpCall is the HTTP request a message carries, decoded only as far as the call needs: a script
// without a function for the verb (most) gets the body, and the headers are never read.
type httpCall struct {
	method string
	body   []byte
	msg    *nats.Msg        // to decode the rest from, when req is nil
	req    *httpmsg.Request // the whole request, once decoded
}

// httpCallOf is the HTTP request m carries; its method is "" when it carries none.
func httpCallOf(m *nats.Msg) httpCall {
	return httpCall{method: httpmsg.MethodOf(m), body: m.Data, msg: m}
}

func (c *httpCall) request() *httpmsg.Request {
	if c.req == nil {
		c.req = httpmsg.FromMsg(c.msg)
	}
	return c.req
}

// serveHTTP is ServeHTTP bounded by limit too, when it is set (what its sender waits).
func (p *Program) serveHTTP(ctx context.Context, limit time.Duration, subject string, hc httpCall) (body string, resp *httpmsg.Response, err error) {
	err = p.call(ctx, limit, func(L *lua.LState, env *lua.LTable) error {
		fn := env.RawGetString(hc.method)
		if fn.Type() != lua.LTFunction {
			if p.Headers.HTTP {
				resp = p.methodNotAllowed(env, hc.method)
				return nil
			}
			var err error
			body, err = callOnMessage(L, env, subject, hc.body)
			return err
		}
		req := hc.request()
		L.Push(fn)
		L.Push(lua.LString(req.URL))
		L.Push(lua.LString(req.Body))
		L.Push(requestTable(L, req))
		if err := L.PCall(3, 3, nil); err != nil {
			return err
		}
		var err error
		resp, err = responseOf(L, req.Method)
		return err
	})
	return body, resp, err
}

// methods are the verbs an HTTP-mode script may define functions for.
var methods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"}

// methodNotAllowed answers a verb the HTTP-mode script has no function for, listing those it has.
func (p *Program) methodNotAllowed(env *lua.LTable, method string) *httpmsg.Response {
	var allowed []string
	for _, m := range methods {
		if env.RawGetString(m).Type() == lua.LTFunction {
			allowed = append(allowed, m)
		}
	}
	h := http.Header{}
	h.Set("Allow", strings.Join(allowed, ", "))
	h.Set("Content-Type", "text/plain; charset=utf-8")
	return &httpmsg.Response{Status: http.StatusMethodNotAllowed, Header: h,
		Body: []byte(fmt.Sprintf("%s has no %s function\n", p.Name, method))}
}

// requestTable is the script's req: method, path, query (name -> first value), raw_query,
// headers (name -> values joined by ", ") and remote_addr.
func requestTable(L *lua.LState, req *httpmsg.Request) *lua.LTable {
	t := L.CreateTable(0, 7)
	t.RawSetString("method", lua.LString(req.Method))
	t.RawSetString("path", lua.LString(req.Path))
	t.RawSetString("url", lua.LString(req.URL))
	t.RawSetString("raw_query", lua.LString(req.RawQuery))
	t.RawSetString("remote_addr", lua.LString(req.RemoteAddr))
	query := L.NewTable()
	for name, values := range req.Query() {
		query.RawSetString(name, lua.LString(values[0]))
	}
	t.RawSetString("query", query)
	headers := L.NewTable()
	for name, values := range req.Header {
		headers.RawSetString(name, lua.LString(strings.Join(values, ", ")))
	}
	t.RawSetString("headers", headers)
	return t
}

// responseOf reads body[, status[, headers]] from the top of the stack.
func responseOf(L *lua.LState, method string) (*httpmsg.Response, error) {
	resp := &httpmsg.Response{Status: http.StatusOK, Header: http.Header{}}
	switch v := L.Get(-3).(type) {
	case lua.LString:
		resp.Body = []byte(v)
	case lua.LNumber:
		resp.Body = []byte(v.String())
	case *lua.LNilType:
	default:
		return nil, &CallError{Msg: fmt.Sprintf("%s returned a %s as the body; return a string", method, v.Type())}
	}
	switch v := L.Get(-2).(type) {
	case lua.LNumber:
		resp.Status = int(v)
		// 1xx are not answers but announcements (101 would switch the connection's protocol
		// under Caddy's feet).
		if resp.Status < 200 || resp.Status > 999 || lua.LNumber(resp.Status) != v {
			return nil, &CallError{Msg: fmt.Sprintf("%s returned status %s; want a number from 200 to 999", method, v)}
		}
	case *lua.LNilType:
	default:
		return nil, &CallError{Msg: fmt.Sprintf("%s returned a %s as the status; return a number", method, v.Type())}
	}
	switch v := L.Get(-1).(type) {
	case *lua.LTable:
		var bad error
		v.ForEach(func(k, val lua.LValue) {
			name, ok := k.(lua.LString)
			if !ok || bad != nil {
				return
			}
			switch val := val.(type) {
			case lua.LString, lua.LNumber:
				resp.Header.Add(string(name), val.String())
			case *lua.LTable: // several values
				for i := 1; i <= val.Len(); i++ {
					resp.Header.Add(string(name), val.RawGetInt(i).String())
				}
			default:
				bad = &CallError{Msg: fmt.Sprintf("%s returned header %q as a %s; use a string", method, name, val.Type())}
			}
		})
		if bad != nil {
			return nil, bad
		}
	case *lua.LNilType:
	default:
		return nil, &CallError{Msg: fmt.Sprintf("%s returned a %s as the headers; return a table", method, v.Type())}
	}
	for name, values := range resp.Header {
		if !httpguts.ValidHeaderFieldName(name) {
			return nil, &CallError{Msg: fmt.Sprintf("%s returned an invalid header name %q", method, name)}
		}
		for _, v := range values {
			if !httpguts.ValidHeaderFieldValue(v) {
				return nil, &CallError{Msg: fmt.Sprintf("%s returned an invalid value for header %q", method, name)}
			}
		}
	}
	return resp, nil
}
