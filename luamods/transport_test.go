package luamods

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// fakeTransport answers every request itself and lists them: "METHOD URL body".
type fakeTransport struct {
	mu   sync.Mutex
	seen []string
}

func (f *fakeTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	body := ""
	if req.Body != nil {
		b, _ := io.ReadAll(req.Body)
		body = string(b)
	}
	f.mu.Lock()
	f.seen = append(f.seen, strings.TrimSpace(req.Method+" "+req.URL.String()+" "+body))
	f.mu.Unlock()
	h := http.Header{"X-Fake": {"yes"}}
	status := 203
	if strings.HasSuffix(req.URL.Path, "/redirect") {
		status = http.StatusFound
		h.Set("Location", "http://elsewhere.test/landed")
	}
	return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(strings.NewReader("fake " + req.URL.Path)), Request: req}, nil
}

func (f *fakeTransport) requests() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.seen, "\n")
}

// Env.Transport carries every request of the http module: a real server at the URL is never
// reached, and the response is the transport's.
func TestHTTPTransportCarriesEveryRequest(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	ft := &fakeTransport{}
	env := &Env{Transport: ft}
	expect(t, env, fmt.Sprintf(`local r, err = require("http").post(%q, {body = "hi"})
		return r.status_code, r.body, r.headers["X-Fake"]`, srv.URL+"/a"), "203|fake /a|yes")
	// Redirects are followed through the transport too.
	expect(t, env, `local r = require("http").get("http://first.test/redirect") return r.status_code, r.url`,
		"203|http://elsewhere.test/landed")
	if hits.Load() != 0 {
		t.Errorf("the network was reached %d times", hits.Load())
	}
	want := "POST " + srv.URL + "/a hi\nGET http://first.test/redirect\nGET http://elsewhere.test/landed"
	if got := ft.requests(); got != want {
		t.Errorf("the transport saw:\n%s\nwant:\n%s", got, want)
	}
}

// With a Transport, AllowURL still checks the first URL and every redirect: what it refuses
// never reaches the transport.
func TestHTTPTransportKeepsAllowURL(t *testing.T) {
	ft := &fakeTransport{}
	env := &Env{Transport: ft, AllowURL: func(u *url.URL) error {
		if u.Host != "first.test" {
			return fmt.Errorf("host %s refused", u.Host)
		}
		return nil
	}}
	expect(t, env, `local r, err = require("http").get("http://other.test/x") return r, err`, "nil|host other.test refused")
	expect(t, env, `local r, err = require("http").get("http://first.test/redirect") return r, err ~= nil and err:find("redirect refused: host elsewhere.test refused", 1, true) ~= nil`, "nil|true")
	if got := ft.requests(); got != "GET http://first.test/redirect" {
		t.Errorf("the transport saw:\n%s", got)
	}
}
