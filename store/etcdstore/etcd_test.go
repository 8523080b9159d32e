package etcdstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/msgscript/msgscript/internal/testetcd"
	"github.com/msgscript/msgscript/store"
	"github.com/msgscript/msgscript/store/storetest"
)

// The keys the original msgscript wrote are read as they are; other keys under the prefix are not
// mistaken for scripts.
func TestEtcdReadsTheOriginalKeyLayout(t *testing.T) {
	srv := testetcd.Start(t)
	cli := srv.Client()
	srv.Put("msgscript/scripts/funcs.hello/hello", "--* subject: funcs.hello\n--* name: hello\n")
	srv.Put("msgscript/scripts/funcs.*.wild/w", "--* subject: funcs.*.wild\n")
	srv.Put("msgscript/libs/web", "function page() end\n")
	srv.Put("msgscript/locks/funcs.hello", "lock")
	srv.Put("msgscript/scripts/noname", "not a script: no name part")
	srv.Put("other/scripts/a.b/c", "another prefix")

	e := New(cli, "", zaptest.NewLogger(t))
	ctx := context.Background()
	scripts, err := e.Scripts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := storetest.Describe(storetest.Puts(scripts)); got != "put script funcs.*.wild/w\nput script funcs.hello/hello" {
		t.Errorf("scripts:\n%s", got)
	}
	libs, err := e.Libraries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(libs) != 1 || libs[0].Name != "web" || string(libs[0].Source) != "function page() end\n" {
		t.Errorf("libraries: %+v", libs)
	}

	batch := storetest.Next(t, storetest.Watch(t, e))
	want := "put library web\nput script funcs.*.wild/w\nput script funcs.hello/hello"
	if got := storetest.Describe(batch); got != want {
		t.Errorf("first batch:\n%s\nwant:\n%s", got, want)
	}
}

func TestEtcdPutGetDelete(t *testing.T) {
	srv := testetcd.Start(t)
	cli := srv.Client()
	e := New(cli, "custom/", zaptest.NewLogger(t))
	ctx := context.Background()

	if err := e.PutScript(ctx, "funcs.a", "a", []byte("text a")); err != nil {
		t.Fatal(err)
	}
	resp, err := cli.Get(ctx, "custom/scripts/funcs.a/a")
	if err != nil || len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "text a" {
		t.Fatalf("stored under the wrong key or value: %v %v", resp, err)
	}
	it, err := e.Script(ctx, "funcs.a", "a")
	if err != nil || string(it.Source) != "text a" || it.Revision == 0 {
		t.Fatalf("Script: %+v %v", it, err)
	}
	if err := e.PutLibrary(ctx, "lib", []byte("lib text")); err != nil {
		t.Fatal(err)
	}
	if lib, err := e.Library(ctx, "lib"); err != nil || string(lib.Source) != "lib text" {
		t.Fatalf("Library: %+v %v", lib, err)
	}

	if err := e.PutScript(ctx, "funcs..bad", "a", nil); err == nil {
		t.Error("a bad subject was stored")
	}
	if err := e.PutLibrary(ctx, "a/b", nil); err == nil {
		t.Error("a library name with a slash was stored")
	}

	if err := e.DeleteScript(ctx, "funcs.a", "a"); err != nil {
		t.Fatal(err)
	}
	if err := e.DeleteScript(ctx, "funcs.a", "a"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleting twice: %v, want store.ErrNotFound", err)
	}
	if _, err := e.Script(ctx, "funcs.a", "a"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Script after delete: %v", err)
	}
	if err := e.DeleteLibrary(ctx, "lib"); err != nil {
		t.Fatal(err)
	}
	if err := e.DeleteLibrary(ctx, "lib"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleting a library twice: %v", err)
	}
}

func TestEtcdWatchFollowsChanges(t *testing.T) {
	srv := testetcd.Start(t)
	cli := srv.Client()
	e := New(cli, "", zaptest.NewLogger(t))
	ctx := context.Background()
	batches := storetest.Watch(t, e)
	if b := storetest.Next(t, batches); len(b) != 0 {
		t.Fatalf("first batch of an empty store: %s", storetest.Describe(b))
	}

	if err := e.PutScript(ctx, "funcs.a", "a", []byte("v1")); err != nil {
		t.Fatal(err)
	}
	if b := storetest.Next(t, batches); storetest.Describe(b) != "put script funcs.a/a" || string(b[0].Item.Source) != "v1" {
		t.Fatalf("after put: %s", storetest.Describe(b))
	}
	if err := e.PutScript(ctx, "funcs.a", "a", []byte("v2")); err != nil {
		t.Fatal(err)
	}
	if b := storetest.Next(t, batches); string(b[0].Item.Source) != "v2" {
		t.Fatalf("after update: %q", b[0].Item.Source)
	}
	srv.Put("msgscript/locks/x", "ignored")
	if err := e.PutLibrary(ctx, "lib", []byte("l")); err != nil {
		t.Fatal(err)
	}
	if b := storetest.Next(t, batches); storetest.Describe(b) != "put library lib" {
		t.Fatalf("after library put (a foreign key came first): %s", storetest.Describe(b))
	}
	if err := e.DeleteScript(ctx, "funcs.a", "a"); err != nil {
		t.Fatal(err)
	}
	if b := storetest.Next(t, batches); storetest.Describe(b) != "delete script funcs.a/a" {
		t.Fatalf("after delete: %s", storetest.Describe(b))
	}
}

// An etcd outage: the watch waits, the outage is logged once when etcd goes (Warn) and once when
// it is back (Info), naming the endpoint, and a change made after etcd is back arrives.
func TestEtcdWatchSurvivesRestart(t *testing.T) {
	srv := testetcd.Start(t)
	cli := srv.Client()
	core, logs := observer.New(zap.InfoLevel)
	e := New(cli, "", zap.New(zapcore.NewTee(core, zaptest.NewLogger(t).Core())))
	batches := storetest.Watch(t, e)
	storetest.Next(t, batches)

	srv.Stop() // takes a few seconds: etcd waits for the open watch streams
	waitLog(t, logs, unreachable)
	srv.Restart()
	if err := e.PutScript(context.Background(), "funcs.after", "x", []byte("back")); err != nil {
		t.Fatal(err)
	}
	if b := storetest.Next(t, batches); storetest.Describe(b) != "put script funcs.after/x" {
		t.Fatalf("after the restart: %s", storetest.Describe(b))
	}
	waitLog(t, logs, reachable)

	// Once each, however many times the client tried to reconnect meanwhile.
	var got []string
	for _, entry := range logs.All() {
		if entry.Message == unreachable || entry.Message == reachable {
			got = append(got, entry.Level.String()+" "+entry.Message+" "+fmt.Sprint(entry.ContextMap()["endpoints"]))
		}
	}
	want := []string{
		"warn " + unreachable + " [" + srv.Endpoint() + "]",
		"info " + reachable + " [" + srv.Endpoint() + "]",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("logged:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

const (
	unreachable = "etcd unreachable; the scripts loaded keep serving"
	reachable   = "etcd reachable again; the watch resumes"
)

// waitLog waits up to 5s for a log entry with that message.
func waitLog(t *testing.T, logs *observer.ObservedLogs, message string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for logs.FilterMessage(message).Len() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no log %q within 5s; logged %v", message, logs.All())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Changes made while the watch was not running, and then compacted away, still arrive: the store
// reads everything again and hands over the difference.
func TestEtcdWatchSurvivesCompaction(t *testing.T) {
	srv := testetcd.Start(t)
	cli := srv.Client()
	ctx := context.Background()
	srv.Put("msgscript/scripts/funcs.keep/k", "keep")
	srv.Put("msgscript/scripts/funcs.gone/g", "gone")
	srv.Put("msgscript/scripts/funcs.edit/e", "old")

	e := New(cli, "", zaptest.NewLogger(t))
	compacted := false
	e.afterLoad = func() {
		if compacted {
			return
		}
		compacted = true
		srv.Put("msgscript/scripts/funcs.new/n", "new")
		srv.Put("msgscript/scripts/funcs.edit/e", "new")
		if _, err := cli.Delete(ctx, "msgscript/scripts/funcs.gone/g"); err != nil {
			t.Error(err)
		}
		resp, err := cli.Put(ctx, "unrelated", "x")
		if err != nil {
			t.Error(err)
			return
		}
		if _, err := cli.Compact(ctx, resp.Header.Revision); err != nil {
			t.Error(err)
		}
	}
	batches := storetest.Watch(t, e)
	if b := storetest.Next(t, batches); len(b) != 3 {
		t.Fatalf("first batch: %s", storetest.Describe(b))
	}
	b := storetest.Next(t, batches)
	want := "put script funcs.edit/e\ndelete script funcs.gone/g\nput script funcs.new/n"
	if storetest.Describe(b) != want {
		t.Fatalf("after compaction:\n%s\nwant:\n%s", storetest.Describe(b), want)
	}
	if string(b[0].Item.Source) != "new" {
		t.Errorf("edited script: %q", b[0].Item.Source)
	}

	// And the watch goes on from the new revision.
	srv.Put("msgscript/scripts/funcs.later/l", "later")
	if b := storetest.Next(t, batches); storetest.Describe(b) != "put script funcs.later/l" {
		t.Fatalf("after resuming: %s", storetest.Describe(b))
	}
}

func TestEtcdWatchFailsWhenEtcdIsUnreachableAtStart(t *testing.T) {
	srv := testetcd.Start(t)
	cli := srv.Client()
	srv.Stop()
	e := New(cli, "", zaptest.NewLogger(t))
	e.SetLoadTimeout(300 * time.Millisecond)
	if err := e.Watch(context.Background(), func([]store.Event) {}); err == nil {
		t.Fatal("Watch started without reading etcd")
	}
}
