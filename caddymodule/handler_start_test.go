package caddymodule

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/nats-io/nats.go"
	"go.uber.org/zap"

	"github.com/msgscript/msgscript/internal/testnats"
)

// A request that reaches the handler before the msgscript app of its config has subscribed its
// scripts (Caddy starts its apps in no set order) is answered once the app has, not told 404; once
// the app serves, a subject without scripts is still 404.
func TestRequestBeforeTheAppStartedWaitsForIt(t *testing.T) {
	ns := testnats.Start(t)
	natsURL := ns.ClientURL()
	started := make(chan struct{})
	h := &Handler{Timeout: caddy.Duration(5 * time.Second), MaxBody: defaultMaxBody, logger: zap.NewNop(),
		waits: newWaits(5 * time.Second), started: started,
		conn: &connRef{key: "test " + natsURL, log: zap.NewNop(), dial: func(log *zap.Logger) (*natsConn, error) { return dialNATS(natsURL, log) }}}
	t.Cleanup(func() { _ = h.Cleanup() })
	post := func(subject string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		if err := h.ServeHTTP(w, httptest.NewRequest("POST", "/"+subject, strings.NewReader("John")), nil); err != nil {
			t.Fatal(err)
		}
		return w
	}

	nc := connectTo(t, natsURL)
	published := func() int64 {
		v, err := ns.Varz(nil)
		if err != nil {
			t.Error(err)
			return -1
		}
		return v.InMsgs
	}
	before := published()
	go func() {
		for published() == before {
			time.Sleep(time.Millisecond) // until the request is out, meeting no script
		}
		// What the app's Start does: subscribe the scripts, then say it serves.
		if _, err := nc.Subscribe("funcs.late", func(m *nats.Msg) { _ = m.Respond([]byte(`{"late":"here"}`)) }); err == nil && nc.Flush() == nil {
			close(started)
		}
	}()
	if w := post("funcs.late"); w.Code != http.StatusOK || w.Body.String() != "{\"late\":\"here\"}\n" {
		t.Fatalf("a request before the app started: %d %q, want 200 and the script's reply", w.Code, w.Body)
	}
	if w := post("funcs.none"); w.Code != http.StatusNotFound {
		t.Fatalf("no script, the app started: %d %q, want 404", w.Code, w.Body)
	}
}
