package httpmsg

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
)

func TestSplitPath(t *testing.T) {
	ok := map[string][2]string{
		"/funcs.hello":          {"funcs.hello", "/"},
		"/funcs.hello/":         {"funcs.hello", "/"},
		"/funcs.hello/a/b":      {"funcs.hello", "/a/b"},
		"/single":               {"single", "/"},
		"/web.page/deep/x.html": {"web.page", "/deep/x.html"},
	}
	for path, want := range ok {
		subject, rest, err := SplitPath(path)
		if err != nil || subject != want[0] || rest != want[1] {
			t.Errorf("%s: %q %q %v, want %q %q", path, subject, rest, err, want[0], want[1])
		}
	}
	for _, path := range []string{"/", "", "/funcs..hello", "/funcs.*", "/funcs.>", "/$SYS.REQ", "/_INBOX.abc", "/.a", "/a./x", "/a b", "/a.\x00", "/a.\xff\xfe", "/a.\u0085"} {
		if s, _, err := SplitPath(path); err == nil {
			t.Errorf("%q: accepted as subject %q", path, s)
		}
	}
}

func TestRequestRoundTrip(t *testing.T) {
	r := httptest.NewRequest("PATCH", "/funcs.x/rest?a=1&a=2&b", nil)
	r.Header.Set("X-Signature", "sig")
	r.Header.Set("Msgscript-Status", "200") // a client must not be able to forge ours
	r.Header.Set("Nats-Service-Error-Code", "500")
	r.Header.Set("Cookie", "c=1")
	r.Header.Set("Connection", "keep-alive, Upgrade") // hop-by-hop: the client's connection to Caddy
	r.Header.Set("Upgrade", "websocket")
	r.Header.Set("Proxy-Authorization", "Basic cHJveHk6c2VjcmV0")
	m := NewMsg("funcs.x", "/rest", r, []byte("body"), func(name string) bool { return name != "Cookie" })
	req := FromMsg(m)
	if req == nil {
		t.Fatal("not decoded as an HTTP request")
	}
	if req.Method != "PATCH" || req.URL != "/rest?a=1&a=2&b" || req.Path != "/rest" || req.RawQuery != "a=1&a=2&b" || string(req.Body) != "body" {
		t.Errorf("decoded %+v", req)
	}
	if req.Header.Get("X-Signature") != "sig" || req.Header.Get("Cookie") != "" {
		t.Errorf("forwarded headers: %v", req.Header)
	}
	for _, h := range []string{"Msgscript-Status", "Nats-Service-Error-Code", HeaderMethod, "Connection", "Upgrade", "Proxy-Authorization"} {
		if req.Header.Get(h) != "" {
			t.Errorf("%s reached the script's headers", h)
		}
	}
	if m.Header.Get("Msgscript-Status") != "" || m.Header.Get("Nats-Service-Error-Code") != "" {
		t.Errorf("a forged header crossed NATS: %v", m.Header)
	}
	if q := req.Query(); len(q["a"]) != 2 || q.Get("a") != "1" {
		t.Errorf("query: %v", q)
	}
	// The three values share one array: adding to one of them must leave the others whole.
	m.Header.Add(HeaderMethod, "GET")
	if m.Header.Get(HeaderURL) != "/rest?a=1&a=2&b" || m.Header.Get(HeaderRemoteAddr) != r.RemoteAddr {
		t.Errorf("adding a method changed the other values: %v", m.Header)
	}
	if FromMsg(&nats.Msg{Data: []byte("plain")}) != nil {
		t.Error("a plain message was taken for an HTTP request")
	}
}

func TestWriteReply(t *testing.T) {
	errMsg := &nats.Msg{Header: nats.Header{}, Data: []byte("{}")}
	errMsg.Header.Set(micro.ErrorCodeHeader, "504")
	errMsg.Header.Add(micro.ErrorHeader, "a: timed out")
	errMsg.Header.Add(micro.ErrorHeader, "b: timed out")
	w := httptest.NewRecorder()
	WriteReply(w, errMsg)
	if w.Code != 504 || w.Body.String() != "a: timed out\nb: timed out\n" || w.Header().Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Errorf("error reply: %d %q %v", w.Code, w.Body, w.Header())
	}

	w = httptest.NewRecorder()
	WriteReply(w, &nats.Msg{Data: []byte(`{"a":"x"}`)})
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/json" || w.Body.String() != "{\"a\":\"x\"}\n" || w.Header().Get("Content-Length") != "10" {
		t.Errorf("normal reply: %d %v %q", w.Code, w.Header(), w.Body)
	}

	// A raw reply: typed by the engine, as it is.
	w = httptest.NewRecorder()
	WriteReply(w, &nats.Msg{Data: []byte("hi"), Header: nats.Header{"Content-Type": {"text/plain; charset=utf-8"}}})
	if w.Code != 200 || w.Header().Get("Content-Type") != "text/plain; charset=utf-8" || w.Header().Get("X-Content-Type-Options") != "nosniff" || w.Body.String() != "hi" {
		t.Errorf("raw reply: %d %v %q", w.Code, w.Header(), w.Body)
	}

	resp := (&Response{Status: 302, Header: map[string][]string{"Location": {"/next"}, "Msgscript-Status": {"200"},
		"transfer-encoding": {"gzip"}, "Connection": {"keep-alive"}}}).Msg("inbox")
	w = httptest.NewRecorder()
	WriteReply(w, resp)
	if w.Code != 302 || w.Header().Get("Location") != "/next" || w.Header().Get("Msgscript-Status") != "" ||
		w.Header().Get("Transfer-Encoding") != "" || w.Header().Get("Connection") != "" {
		t.Errorf("HTTP-mode reply: %d %v", w.Code, w.Header())
	}
}

// writeCounter counts the writes a handler makes to its response.
type writeCounter struct {
	*httptest.ResponseRecorder
	writes int
}

func (w *writeCounter) Write(p []byte) (int, error) {
	w.writes++
	return w.ResponseRecorder.Write(p)
}

// Caddy moves the connection's write deadline on every write, so a JSON reply goes out with its
// newline in one write, whatever the buffer it was joined in wrote before.
func TestJSONReplyIsOneWrite(t *testing.T) {
	for _, data := range []string{`{"a":"first, longer reply"}`, `{"b":"x"}`, `{"c":"` + strings.Repeat("z", joinedMax) + `"}`} {
		w := &writeCounter{ResponseRecorder: httptest.NewRecorder()}
		WriteReply(w, &nats.Msg{Data: []byte(data)})
		if w.Body.String() != data+"\n" {
			t.Errorf("body %.40q..., want %.40q...", w.Body.String(), data)
		}
		if want := 1; len(data) < joinedMax && w.writes != want {
			t.Errorf("%d writes for a reply of %d bytes", w.writes, len(data))
		}
	}
}
