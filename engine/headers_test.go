package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/msgscript/msgscript/store"
)

// A script of the original msgscript's newer versions (an --* executor: header) loads, with the
// header it ignores logged and in its status.
func TestUnknownHeaderLoadsWithAWarning(t *testing.T) {
	core, logs := observer.New(zapcore.WarnLevel)
	reg := NewRegistry(Options{Logger: zap.New(core)})
	t.Cleanup(reg.Close)
	reg.Replace([]store.Event{{Op: store.OpPut, Item: store.Item{
		Ref:    store.Ref{Kind: store.KindScript, Subject: "funcs.old", Name: "old"},
		Source: []byte("--* subject: funcs.old\n--* executor: lua\nfunction OnMessage() return 'ran' end\n"), Origin: "old.lua"}}})
	if got := string(reg.Answer(context.Background(), "funcs.old", &nats.Msg{Subject: "funcs.old"}).Data); got != `{"old":"ran"}` {
		t.Fatalf("got %s", got)
	}
	st, _, _ := reg.ScriptStatus("funcs.old", "old")
	want := `old.lua:2: unknown header "executor", ignored`
	if len(st.Warnings) != 1 || !strings.HasPrefix(st.Warnings[0], want) {
		t.Errorf("status warnings: %q", st.Warnings)
	}
	if l := logs.FilterMessage("script header ignored").All(); len(l) != 1 || !strings.HasPrefix(l[0].ContextMap()["warning"].(string), want) {
		t.Errorf("log: %v", logs.All())
	}
}

// A script stored under a subject its header does not name (an etcd key written by hand) is
// served on the key's subject, and says so.
func TestSubjectHeaderDifferingFromTheKeyWarns(t *testing.T) {
	reg := NewRegistry(Options{})
	t.Cleanup(reg.Close)
	reg.Replace([]store.Event{putScript("funcs.key", "s", "--* name: s\n--* subject: funcs.header\nfunction OnMessage() return 'ran' end\n")})
	if got := string(reg.Answer(context.Background(), "funcs.key", &nats.Msg{Subject: "funcs.key"}).Data); got != `{"s":"ran"}` {
		t.Fatalf("got %s", got)
	}
	st, _, _ := reg.ScriptStatus("funcs.key", "s")
	want := `s.lua:2: header subject "funcs.header" differs from the subject it is stored under; it is served on funcs.key`
	if len(st.Warnings) != 1 || st.Warnings[0] != want {
		t.Errorf("warnings %q, want %q", st.Warnings, want)
	}
}

// The attack: a script asks for a deadline of years and loops, holding a worker and a core for
// good. The server's MaxTimeout cuts its deadline, the call ends there, and the script's status
// says so; a script asking for less keeps its own, and with no header the default is cut too.
func TestMaxTimeoutCutsAScriptsDeadline(t *testing.T) {
	reg := NewRegistry(Options{MaxTimeout: 100 * time.Millisecond})
	t.Cleanup(reg.Close)
	reg.Replace([]store.Event{
		putScript("funcs.spin", "spin", "--* subject: funcs.spin\n--* timeout: 100000h\nfunction OnMessage() while true do end end\n"),
		putScript("funcs.short", "short", "--* subject: funcs.short\n--* timeout: 20ms\nfunction OnMessage() while true do end end\n"),
		putScript("funcs.plain", "plain", "--* subject: funcs.plain\nfunction OnMessage() while true do end end\n"),
	})
	for subject, want := range map[string]string{"funcs.spin": "timed out after 100ms", "funcs.short": "timed out after 20ms", "funcs.plain": "timed out after 100ms"} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second) // were the cut gone
		m := reg.Answer(ctx, subject, &nats.Msg{Subject: subject})
		cancel()
		if got := m.Header.Get(micro.ErrorHeader); !strings.Contains(got, want) {
			t.Errorf("%s: error %q, want %q", subject, got, want)
		}
	}
	st, _, _ := reg.ScriptStatus("funcs.spin", "spin")
	want := "spin.lua:2: header timeout 100000h0m0s is over the server's max_timeout; its calls end after 100ms"
	if len(st.Warnings) != 1 || st.Warnings[0] != want || st.Timeout != "100ms" {
		t.Errorf("status: timeout %s, warnings %q; want 100ms and %q", st.Timeout, st.Warnings, want)
	}
	if st, _, _ := reg.ScriptStatus("funcs.short", "short"); len(st.Warnings) != 0 {
		t.Errorf("a timeout under max_timeout warns: %q", st.Warnings)
	}
}
