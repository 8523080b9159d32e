package engine

import (
	"context"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
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
