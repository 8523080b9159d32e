package luamods

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/msgscript/msgscript/callctx"
)

// defaultHTTPTimeout bounds a request when the script gives no timeout; the call's deadline still
// applies.
const defaultHTTPTimeout = 30 * time.Second

// httpLoader is the http module with gluahttp's API:
//
//	resp, err = http.get(url[, opts])        -- also post, put, patch, delete, head
//	resp, err = http.request(method, url[, opts])
//
// opts: query (string or table), headers, body (string), form (string or table), cookies (table),
// timeout (seconds, or a string such as "500ms"), auth ({user=, pass=}).
// resp: status_code, body, body_size, headers, cookies, url (the last one, after redirects).
func httpLoader(env *Env) lua.LGFunction {
	client := newHTTPClient(env) // once per Env, so that its connections are reused
	return func(L *lua.LState) int {
		funcs := map[string]lua.LGFunction{
			"request": func(L *lua.LState) int {
				return doHTTP(L, env, client, strings.ToUpper(L.CheckString(1)), L.CheckString(2), L.OptTable(3, nil))
			},
		}
		for _, m := range []string{"get", "post", "put", "patch", "delete", "head"} {
			method := strings.ToUpper(m)
			funcs[m] = func(L *lua.LState) int {
				return doHTTP(L, env, client, method, L.CheckString(1), L.OptTable(2, nil))
			}
		}
		L.Push(L.SetFuncs(L.NewTable(), funcs))
		return 1
	}
}

// maxRedirects is how many redirects a request follows, as net/http's default policy.
const maxRedirects = 10

// newHTTPClient returns the client of env's http module: the shared one when env confines
// nothing, else one of its own whose every redirect passes env.AllowURL and whose every
// connection is made by env.DialContext (or whose every request goes to env.Transport).
// (net/http's client follows redirects by itself, so checking the first URL alone would let an
// allowed host send a script anywhere.)
func newHTTPClient(env *Env) *http.Client {
	if env.AllowURL == nil && env.DialContext == nil && env.Transport == nil {
		return httpClient
	}
	rt := env.Transport
	if rt == nil {
		t := &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			MaxIdleConnsPerHost: 16,
			IdleConnTimeout:     90 * time.Second,
		}
		if env.DialContext != nil {
			t.Proxy = nil // a proxy would be the only address the dial saw
			t.DialContext = env.DialContext
			t.ForceAttemptHTTP2 = true // as the shared transport, which has no DialContext, does
		}
		rt = t
	}
	c := &http.Client{Transport: rt}
	if env.AllowURL != nil {
		c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects {
				return fmt.Errorf("stopped after %d redirects", maxRedirects)
			}
			if err := env.AllowURL(req.URL); err != nil {
				return fmt.Errorf("redirect refused: %w", err) // the client's error names the URL
			}
			return nil
		}
	}
	return c
}

func doHTTP(L *lua.LState, env *Env, client *http.Client, method, rawURL string, opts *lua.LTable) int {
	req, timeout, err := buildRequest(L, method, rawURL, opts)
	if err != nil {
		return fail(L, err)
	}
	if env.AllowURL != nil {
		if err := env.AllowURL(req.URL); err != nil {
			return fail(L, err)
		}
	}
	ctx, cancel := contextWithTimeout(L, timeout)
	defer cancel()
	callctx.PassHTTP(ctx, req.Header)
	ctx, span := clientSpan(ctx, "HTTP "+method, trace.SpanKindClient, propagation.HeaderCarrier(req.Header),
		attribute.String("http.request.method", method), attribute.String("server.address", req.URL.Hostname()))
	resp, err := client.Do(req.WithContext(ctx))
	if err != nil {
		endClientSpan(span, err)
		return fail(L, fmt.Errorf("http: %v", err))
	}
	if span != nil {
		span.SetAttributes(attribute.Int("http.response.status_code", resp.StatusCode))
		defer endClientSpan(span, nil)
	}
	defer resp.Body.Close()
	limit := env.MaxHTTPBody
	if limit <= 0 {
		limit = DefaultMaxHTTPBody
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return fail(L, fmt.Errorf("http: reading the body: %v", err))
	}
	if int64(len(body)) > limit {
		return fail(L, fmt.Errorf("http: response body over %d bytes", limit))
	}

	t := L.CreateTable(0, 6)
	t.RawSetString("status_code", lua.LNumber(resp.StatusCode))
	t.RawSetString("body", lua.LString(body))
	t.RawSetString("body_size", lua.LNumber(len(body)))
	t.RawSetString("url", lua.LString(resp.Request.URL.String()))
	headers := L.NewTable()
	for name, values := range resp.Header {
		headers.RawSetString(name, lua.LString(strings.Join(values, ", ")))
	}
	t.RawSetString("headers", headers)
	cookies := L.NewTable()
	for _, c := range resp.Cookies() {
		cookies.RawSetString(c.Name, lua.LString(c.Value))
	}
	t.RawSetString("cookies", cookies)
	L.Push(t)
	return 1
}

// buildRequest reads gluahttp's options.
func buildRequest(L *lua.LState, method, rawURL string, opts *lua.LTable) (*http.Request, time.Duration, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, 0, fmt.Errorf("http: bad URL %q: want http:// or https://", rawURL)
	}
	timeout := defaultHTTPTimeout
	var body io.Reader
	contentType := ""
	header := http.Header{}
	if opts != nil {
		if q := opts.RawGetString("query"); q != lua.LNil {
			if u.RawQuery, err = encodeValues(q); err != nil {
				return nil, 0, fmt.Errorf("http: query: %v", err)
			}
		}
		if s, ok := opts.RawGetString("body").(lua.LString); ok {
			body = strings.NewReader(string(s))
		}
		if f := opts.RawGetString("form"); f != lua.LNil {
			form, err := encodeValues(f)
			if err != nil {
				return nil, 0, fmt.Errorf("http: form: %v", err)
			}
			body, contentType = strings.NewReader(form), "application/x-www-form-urlencoded"
		}
		if h, ok := opts.RawGetString("headers").(*lua.LTable); ok {
			h.ForEach(func(k, v lua.LValue) { header.Add(k.String(), v.String()) })
		}
		if c, ok := opts.RawGetString("cookies").(*lua.LTable); ok {
			c.ForEach(func(k, v lua.LValue) {
				header.Add("Cookie", (&http.Cookie{Name: k.String(), Value: v.String()}).String())
			})
		}
		switch v := opts.RawGetString("timeout").(type) {
		case lua.LNumber:
			timeout = time.Duration(float64(v) * float64(time.Second))
		case lua.LString:
			if timeout, err = time.ParseDuration(string(v)); err != nil {
				return nil, 0, fmt.Errorf("http: timeout %q: %v", string(v), err)
			}
		}
	}
	req, err := http.NewRequest(method, u.String(), body)
	if err != nil {
		return nil, 0, fmt.Errorf("http: %v", err)
	}
	req.Header = header
	if contentType != "" && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", contentType)
	}
	if opts != nil {
		if a, ok := opts.RawGetString("auth").(*lua.LTable); ok {
			req.SetBasicAuth(lua.LVAsString(a.RawGetString("user")), lua.LVAsString(a.RawGetString("pass")))
		}
	}
	return req, timeout, nil
}

// encodeValues takes an already encoded string, or a table name -> value (or list of values).
func encodeValues(v lua.LValue) (string, error) {
	switch v := v.(type) {
	case lua.LString:
		return string(v), nil
	case *lua.LTable:
		vals := url.Values{}
		v.ForEach(func(k, val lua.LValue) {
			if list, ok := val.(*lua.LTable); ok {
				for i := 1; i <= list.Len(); i++ {
					vals.Add(k.String(), list.RawGetInt(i).String())
				}
				return
			}
			vals.Add(k.String(), val.String())
		})
		return vals.Encode(), nil
	}
	return "", fmt.Errorf("want a string or a table, got a %s", v.Type())
}
