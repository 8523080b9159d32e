package caddymodule

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/msgscript/msgscript/internal/testfiles"
	"github.com/msgscript/msgscript/internal/testhttp"
	"github.com/msgscript/msgscript/internal/testnats"
	"github.com/msgscript/msgscript/internal/testnet"
)

// NATS closes a connection for good over some errors (here a protocol line over its limit, the
// way one long subject did it). msgscript opens a new connection by itself and everything comes
// back on it: subscriptions, the HTTP handler and the scripts' nats module.
func TestConnectionClosedForGoodIsReplaced(t *testing.T) {
	for _, embedded := range []bool{false, true} {
		t.Run(fmt.Sprintf("embedded=%v", embedded), func(t *testing.T) {
			natsOption, natsURL := "", ""
			if embedded {
				addr := testnet.FreeAddr(t)
				natsOption, natsURL = "embedded_nats "+addr, "nats://"+addr
			} else {
				natsURL = testnats.Start(t).ClientURL()
				natsOption = "nats_url " + natsURL
			}
			dir := testfiles.Dir(t, map[string]string{
				"hello.lua": helloScript,
				"chain.lua": "--* subject: funcs.chain\nfunction OnMessage(s, p) return assert(require('nats').request('funcs.hello', p)) end\n",
			})
			site := testnet.FreeAddr(t)
			caddyfile := fmt.Sprintf("{\n\tadmin off\n\tmsgscript {\n\t\t%s\n\t\tstore dir %s\n\t}\n}\nhttp://%s {\n\tmsgscript\n}\n", natsOption, dir, site)
			loadCaddyfile(t, caddyfile)
			nc := connectTo(t, natsURL)
			askHello(t, nc)
			if r := testhttp.Do(t, "POST", "http://"+site+"/funcs.hello", strings.NewReader("John")); r.Status != 200 {
				t.Fatalf("HTTP before: %d %s", r.Status, r.Body)
			}

			app, err := caddy.ActiveContext().AppIfConfigured("msgscript")
			if err != nil {
				t.Fatal(err)
			}
			old := app.(*App).NATS()
			_ = old.Publish("x."+strings.Repeat("a", 5000), nil)
			deadline := time.Now().Add(5 * time.Second)
			for !old.IsClosed() {
				if time.Now().After(deadline) {
					t.Fatal("the server did not close the connection: the test reproduces nothing")
				}
				time.Sleep(10 * time.Millisecond)
			}

			askUntil(t, nc, "funcs.hello", "John", helloReply)
			askUntil(t, nc, "funcs.chain", "John", `{"chain":"{\"hello\":\"Processed subject: funcs.hello with payload: John\"}"}`)
			if r := testhttp.Do(t, "POST", "http://"+site+"/funcs.hello", strings.NewReader("John")); r.Status != 200 || r.Body != helloHTTP {
				t.Fatalf("HTTP after: %d %s", r.Status, r.Body)
			}
		})
	}
}

// A request still being served by the old config after a reload (here: its body still arriving)
// reaches NATS on the connection the new config holds; it does not get 503 because the old
// config's msgscript app stopped.
func TestReloadKeepsNATSForRequestsInFlight(t *testing.T) {
	addr, site := testnet.FreeAddr(t), testnet.FreeAddr(t)
	dir := scriptsDir(t)
	load := func(timeout string) {
		t.Helper()
		caddyfile := fmt.Sprintf("{\n\tadmin off\n\tmsgscript {\n\t\tembedded_nats %s\n\t\tstore dir %s\n\t\ttimeout %s\n\t}\n}\nhttp://%s {\n\tmsgscript\n}\n", addr, dir, timeout, site)
		loadCaddyfile(t, caddyfile)
	}
	load("10s")

	body, send := io.Pipe()
	type answered struct {
		status int
		body   string
		err    error
	}
	answer := make(chan answered, 1)
	go func() { // not testhttp.Do: its t.Fatal would end this goroutine and leave the test waiting
		// Expect: 100-continue holds the body back until the handler reads it: once the first
		// write below returns, the old config's handler is running (else the reload could close
		// a connection whose request it had not read yet, and the test would prove nothing).
		req, err := http.NewRequest("POST", "http://"+site+"/funcs.hello", body)
		if err != nil {
			answer <- answered{err: err}
			return
		}
		req.Header.Set("Expect", "100-continue")
		client := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: time.Minute}}
		defer client.CloseIdleConnections()
		resp, err := client.Do(req)
		if err != nil {
			answer <- answered{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		answer <- answered{resp.StatusCode, string(b), err}
	}()
	if _, err := send.Write([]byte("Jo")); err != nil { // the old config's handler is reading it
		t.Fatal(err)
	}
	load("11s") // a different config: Caddy really reloads, and stops the old one
	if _, err := send.Write([]byte("hn")); err != nil {
		t.Fatal(err)
	}
	send.Close()
	if r := <-answer; r.err != nil || r.status != 200 || r.body != helloHTTP {
		t.Fatalf("the request that straddled the reload: %d %q %v", r.status, r.body, r.err)
	}
}

// The embedded server's warnings, and the client's errors, reach the log five times a second at
// most each: a flood of slow consumers made 21,000 lines of one warning.
func TestNATSLogFloodIsSampled(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	l := natsLogger{sampled(zap.New(core)).Sugar()}
	for range 1000 {
		l.Warnf("Slow Consumer Detected: MaxPending of %d Exceeded", 67108864)
	}
	l.Noticef("Server is ready")
	if n := logs.FilterMessage("Slow Consumer Detected: MaxPending of 67108864 Exceeded").Len(); n != 5 {
		t.Errorf("%d warnings logged of 1000", n)
	}
	if logs.FilterMessage("Server is ready").Len() != 1 {
		t.Error("another message was lost")
	}
}
