package engine

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/msgscript/msgscript/internal/testfiles"
)

// Each engine answers NATS's service discovery as an instance of the msgscript service, with an
// endpoint per subject pattern and the counts of its calls, in nats.go's micro types.
func TestServiceDiscovery(t *testing.T) {
	ns := startNATS(t)
	dir := testfiles.Dir(t, map[string]string{
		"hello.lua": hello,
		"fail.lua":  "--* subject: funcs.fail\nfunction OnMessage(s, p) if p == 'boom' then error('boom') end return 'ok' end",
		"two.lua":   "--* subject: funcs.fail\n--* name: second\nfunction OnMessage() return 'second' end",
	})
	a := startEngine(t, ns, dir, Options{ServiceVersion: "1.2.3"})
	b := startEngine(t, ns, dir, Options{})
	nc := connect(t, ns)
	for range 3 {
		request(t, nc, "funcs.hello", "x")
	}
	request(t, nc, "funcs.fail", "fine")
	request(t, nc, "funcs.fail", "boom")

	// PING: every instance answers, under its own id.
	inbox := nats.NewInbox()
	pings, err := nc.SubscribeSync(inbox)
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.PublishRequest("$SRV.PING", inbox, nil); err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for range 2 {
		m, err := pings.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var ping micro.Ping
		if err := json.Unmarshal(m.Data, &ping); err != nil || ping.Type != micro.PingResponseType || ping.Name != "msgscript" {
			t.Fatalf("ping %s: %v", m.Data, err)
		}
		ids[ping.ID] = true
	}
	if !ids[a.ServiceID()] || !ids[b.ServiceID()] {
		t.Fatalf("pings from %v, want %s and %s", ids, a.ServiceID(), b.ServiceID())
	}

	var info micro.Info
	m := request(t, nc, "$SRV.INFO.msgscript."+a.ServiceID(), "")
	if err := json.Unmarshal(m.Data, &info); err != nil || info.Type != micro.InfoResponseType || info.Version != "1.2.3" {
		t.Fatalf("info %s: %v", m.Data, err)
	}
	if len(info.Endpoints) != 2 || info.Endpoints[0].Subject != "funcs.fail" || info.Endpoints[0].Name != "funcs_fail" || info.Endpoints[0].QueueGroup != "msgscript" ||
		info.Endpoints[0].Metadata["scripts"] != "fail,second" {
		t.Fatalf("endpoints %+v", info.Endpoints)
	}

	// STATS: the two instances share the calls (queue group); together they saw all of them.
	var total, failed int
	var lastError string
	for _, id := range []string{a.ServiceID(), b.ServiceID()} {
		var stats micro.Stats
		m := request(t, nc, "$SRV.STATS.msgscript."+id, "")
		if err := json.Unmarshal(m.Data, &stats); err != nil || stats.Type != micro.StatsResponseType || stats.ID != id {
			t.Fatalf("stats %s: %v", m.Data, err)
		}
		for _, ep := range stats.Endpoints {
			total += ep.NumRequests
			failed += ep.NumErrors
			if ep.LastError != "" {
				lastError = ep.LastError
				if !strings.Contains(string(ep.Data), `"name":"fail"`) || !strings.Contains(string(ep.Data), "s.lua") && !strings.Contains(string(ep.Data), "boom") {
					t.Errorf("endpoint data %s", ep.Data)
				}
				if ep.ProcessingTime <= 0 || ep.AverageProcessingTime <= 0 {
					t.Errorf("processing time %+v", ep)
				}
			}
		}
	}
	if total != 5 || failed != 1 || !strings.Contains(lastError, "fail: ") || !strings.Contains(lastError, "boom") {
		t.Fatalf("%d requests, %d errors, last error %q; want 5, 1 and the boom", total, failed, lastError)
	}
}

// Discovery's clients (the nats CLI) refuse names other than letters, digits, - and _.
func TestEndpointName(t *testing.T) {
	valid := regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)
	for pattern, want := range map[string]string{"funcs.hello": "funcs_hello", "funcs.*": "funcs_any", "web.>": "web_all", "a-b.c_d.#x": "a-b_c_d_-x"} {
		if got := endpointName(pattern); got != want || !valid.MatchString(got) {
			t.Errorf("%s: %q, want %q", pattern, got, want)
		}
	}
}
