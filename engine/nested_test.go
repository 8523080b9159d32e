package engine

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/msgscript/msgscript/callctx"
	"github.com/msgscript/msgscript/internal/testfiles"
)

// Four subjects at their share of the slots, each call waiting for funcs.b's reply, which waits
// for funcs.c's: they held every slot, funcs.b had none to run in, and every call waited out its
// request's timeout. The slots kept for nested calls let funcs.b and funcs.c answer them all,
// while clients call funcs.c too.
func TestNestedCallsKeepSlotsToRunIn(t *testing.T) {
	ns := startNATS(t)
	files := map[string]string{
		"b.lua": "--* subject: funcs.b\nlocal nats = require('nats')\nfunction OnMessage(s, p) return 'b ' .. assert(nats.request('funcs.c', p, 5)) end\n",
		"c.lua": "--* subject: funcs.c\nfunction OnMessage(s, p) sleep(20) return p end\n",
	}
	const subjects, each = 4, 8
	for i := range subjects {
		files[fmt.Sprintf("a%d.lua", i)] = fmt.Sprintf("--* subject: funcs.a%d\nlocal nats = require('nats')\n"+
			"function OnMessage(s, p) sleep(100) return assert(nats.request('funcs.b', p, 5)) end\n", i)
	}
	opts := withModules(t, ns, Options{MaxConcurrent: 16, MaxConcurrentPerSubject: 4, Preload: []Preloader{counter(nil)}})
	startEngine(t, ns, testfiles.Dir(t, files), opts)
	nc := connect(t, ns)
	var wg sync.WaitGroup
	for i := range subjects {
		for j := range each {
			wg.Go(func() {
				subject, payload := fmt.Sprintf("funcs.a%d", i), fmt.Sprintf("%d.%d", i, j)
				m, err := nc.Request(subject, []byte(payload), 10*time.Second)
				if err != nil {
					t.Errorf("%s: %v", subject, err)
					return
				}
				if want := fmt.Sprintf(`{"a%d":"{\"b\":\"b {\\\"c\\\":\\\"%s\\\"}\"}"}`, i, payload); string(m.Data) != want {
					t.Errorf("%s answered %s %v, want %s", subject, m.Data, m.Header, want)
				}
			})
		}
	}
	// Clients' messages to funcs.c, waiting there before the nested ones, do not hold them up.
	for j := range each {
		wg.Go(func() {
			if m, err := nc.Request("funcs.c", fmt.Append(nil, j), 10*time.Second); err != nil || string(m.Data) != fmt.Sprintf(`{"c":"%d"}`, j) {
				t.Errorf("funcs.c: %v %v", m, err)
			}
		})
	}
	wg.Wait()
}

// A client's message leaves an eighth of the slots to nested calls, each depth half as many as
// the one before.
func TestReservesByDepth(t *testing.T) {
	got := reservesOf(&Options{MaxConcurrent: 1024, MaxDepth: 8})
	want := []int{128, 64, 32, 16, 8, 4, 2, 1, 0}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("reserves %v, want %v", got, want)
	}
	if got := reservesOf(&Options{MaxConcurrent: 4, MaxDepth: 8}); fmt.Sprint(got) != fmt.Sprint(make([]int, 9)) {
		t.Errorf("with 4 slots, reserves %v: none can be spared", got)
	}
}

// Only a message someone waits for takes the slots kept for nested calls: one a script published
// counts as a client's (a script publishing to others in a loop took them all).
func TestPublishedMessagesAreClients(t *testing.T) {
	published := &nats.Msg{Subject: "s", Header: nats.Header{callctx.HeaderDepth: []string{"3"}}}
	requested := &nats.Msg{Subject: "s", Reply: "_INBOX.x", Header: published.Header}
	if d := waitedDepth(published); d != 0 {
		t.Errorf("a published message of depth 3 takes the slots of depth %d", d)
	}
	if d := waitedDepth(requested); d != 3 {
		t.Errorf("a requested message of depth 3 takes the slots of depth %d", d)
	}
}
