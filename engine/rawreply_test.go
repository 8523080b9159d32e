package engine

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/msgscript/msgscript/store"
)

func putScript(subject, name, src string) store.Event {
	return store.Event{Op: store.OpPut, Item: store.Item{
		Ref: store.Ref{Kind: store.KindScript, Subject: subject, Name: name}, Source: []byte(src), Origin: name + ".lua"}}
}

// manyScripts are n scripts named s on the subjects funcs.s0, funcs.s1, ..., each the given
// text under its subject header.
func manyScripts(n int, text string) []store.Event {
	batch := make([]store.Event, n)
	for i := range n {
		subject := fmt.Sprintf("funcs.s%d", i)
		batch[i] = putScript(subject, "s", "--* subject: "+subject+"\n"+text)
	}
	return batch
}

// A `--* reply: raw` script's return value is the whole reply, typed for the HTTP handler.
func TestRawReplyIsTheWholeAnswer(t *testing.T) {
	reg := NewRegistry(Options{})
	t.Cleanup(reg.Close)
	reg.Replace([]store.Event{
		putScript("funcs.json", "greet", "--* subject: funcs.json\n--* reply: raw\nfunction OnMessage(s, p) return '{\"greeting\":\"hi '..p..'\"}' end\n"),
		putScript("funcs.text", "echo", "--* subject: funcs.text\n--* reply: raw\nfunction OnMessage(s, p) return p end\n"),
		putScript("funcs.fail", "fail", "--* subject: funcs.fail\n--* reply: raw\nfunction OnMessage(s, p) error('down') end\n"),
	})
	cases := []struct{ subject, payload, body, ctype string }{
		{"funcs.json", "Ann", `{"greeting":"hi Ann"}`, "application/json"},
		{"funcs.text", "<script>x</script>", "<script>x</script>", "text/plain; charset=utf-8"},
		{"funcs.text", "\xff\xfe", "\xff\xfe", "application/octet-stream"},
	}
	for _, c := range cases {
		m := reg.Answer(context.Background(), c.subject, &nats.Msg{Subject: c.subject, Data: []byte(c.payload)})
		if string(m.Data) != c.body || m.Header.Get("Content-Type") != c.ctype {
			t.Errorf("%s %q: got %q (%q), want %q (%q)", c.subject, c.payload, m.Data, m.Header.Get("Content-Type"), c.body, c.ctype)
		}
	}
	// Over HTTP: the body as returned, typed, never sniffed.
	w := serve(t, reg, httptest.NewRequest("POST", "/funcs.text", strings.NewReader("<b>hi</b>")))
	if w.Code != 200 || w.Body.String() != "<b>hi</b>" || w.Header().Get("Content-Type") != "text/plain; charset=utf-8" || w.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("HTTP: %d %q %v", w.Code, w.Body, w.Header())
	}
	m := reg.Answer(context.Background(), "funcs.fail", &nats.Msg{Subject: "funcs.fail"})
	if m.Header.Get(micro.ErrorCodeHeader) != "500" || !strings.Contains(m.Header.Get(micro.ErrorHeader), "down") || m.Header.Get("Content-Type") != "" {
		t.Errorf("a failing raw script: %q %v", m.Data, m.Header)
	}
}

// Two scripts cannot both be the whole reply: a raw script that shares its subject is not served,
// says why, and is served again once alone.
func TestRawReplyMustBeAlone(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	reg := NewRegistry(Options{Logger: zap.New(core)})
	t.Cleanup(reg.Close)
	reg.Replace([]store.Event{
		putScript("funcs.x", "raw", "--* subject: funcs.x\n--* reply: raw\nfunction OnMessage() return 'raw' end\n"),
		putScript("funcs.x", "other", "--* subject: funcs.x\nfunction OnMessage() return 'other' end\n"),
	})
	answer := func() string {
		return string(reg.Answer(context.Background(), "funcs.x", &nats.Msg{Subject: "funcs.x"}).Data)
	}
	if got := answer(); got != `{"other":"other"}` {
		t.Fatalf("with another script: got %s", got)
	}
	st, _, _ := reg.ScriptStatus("funcs.x", "raw")
	if !strings.Contains(st.NotServed, "must be alone on funcs.x; also there: other") || st.Version != "" || st.Stored == "" || st.Error != "" {
		t.Errorf("status: %+v", st)
	}
	if l := logs.FilterMessage("script not served").All(); len(l) != 1 {
		t.Errorf("logged %d times, want once", len(l))
	}
	reg.Apply([]store.Event{{Op: store.OpDelete, Item: store.Item{Ref: store.Ref{Kind: store.KindScript, Subject: "funcs.x", Name: "other"}}}})
	if got := answer(); got != "raw" {
		t.Fatalf("alone again: got %s", got)
	}
	if st, _, _ := reg.ScriptStatus("funcs.x", "raw"); st.NotServed != "" || st.Version == "" || st.Stored != "" {
		t.Errorf("status once alone: %+v", st)
	}
}
