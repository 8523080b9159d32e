package store

import (
	"context"
	"errors"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap/zaptest"

	"github.com/msgscript/msgscript/internal/testetcd"
)

func put(t *testing.T, cli *clientv3.Client, key, value string) {
	t.Helper()
	if _, err := cli.Put(context.Background(), key, value); err != nil {
		t.Fatal(err)
	}
}

// The keys the original msgscript wrote are read as they are; other keys under the prefix are not
// mistaken for scripts.
func TestEtcdReadsTheOriginalKeyLayout(t *testing.T) {
	srv := testetcd.Start(t)
	cli := srv.Client()
	put(t, cli, "msgscript/scripts/funcs.hello/hello", "--* subject: funcs.hello\n--* name: hello\n")
	put(t, cli, "msgscript/scripts/funcs.*.wild/w", "--* subject: funcs.*.wild\n")
	put(t, cli, "msgscript/libs/web", "function page() end\n")
	put(t, cli, "msgscript/locks/funcs.hello", "lock")
	put(t, cli, "msgscript/scripts/noname", "not a script: no name part")
	put(t, cli, "other/scripts/a.b/c", "another prefix")

	e := NewEtcd(cli, "", zaptest.NewLogger(t))
	ctx := context.Background()
	scripts, err := e.Scripts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := describe(asPuts(scripts)); got != "put script funcs.*.wild/w\nput script funcs.hello/hello" {
		t.Errorf("scripts:\n%s", got)
	}
	libs, err := e.Libraries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(libs) != 1 || libs[0].Name != "web" || string(libs[0].Source) != "function page() end\n" {
		t.Errorf("libraries: %+v", libs)
	}

	batch := nextBatch(t, watchStore(t, e))
	want := "put library web\nput script funcs.*.wild/w\nput script funcs.hello/hello"
	if got := describe(batch); got != want {
		t.Errorf("first batch:\n%s\nwant:\n%s", got, want)
	}
}

func asPuts(items []Item) []Event {
	var batch []Event
	for _, it := range items {
		batch = append(batch, Event{Op: OpPut, Item: it})
	}
	return batch
}

func TestEtcdPutGetDelete(t *testing.T) {
	srv := testetcd.Start(t)
	cli := srv.Client()
	e := NewEtcd(cli, "custom/", zaptest.NewLogger(t))
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
	if err := e.DeleteScript(ctx, "funcs.a", "a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleting twice: %v, want ErrNotFound", err)
	}
	if _, err := e.Script(ctx, "funcs.a", "a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Script after delete: %v", err)
	}
	if err := e.DeleteLibrary(ctx, "lib"); err != nil {
		t.Fatal(err)
	}
	if err := e.DeleteLibrary(ctx, "lib"); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleting a library twice: %v", err)
	}
}

func TestEtcdWatchFollowsChanges(t *testing.T) {
	srv := testetcd.Start(t)
	cli := srv.Client()
	e := NewEtcd(cli, "", zaptest.NewLogger(t))
	ctx := context.Background()
	batches := watchStore(t, e)
	if b := nextBatch(t, batches); len(b) != 0 {
		t.Fatalf("first batch of an empty store: %s", describe(b))
	}

	if err := e.PutScript(ctx, "funcs.a", "a", []byte("v1")); err != nil {
		t.Fatal(err)
	}
	if b := nextBatch(t, batches); describe(b) != "put script funcs.a/a" || string(b[0].Item.Source) != "v1" {
		t.Fatalf("after put: %s", describe(b))
	}
	if err := e.PutScript(ctx, "funcs.a", "a", []byte("v2")); err != nil {
		t.Fatal(err)
	}
	if b := nextBatch(t, batches); string(b[0].Item.Source) != "v2" {
		t.Fatalf("after update: %q", b[0].Item.Source)
	}
	put(t, cli, "msgscript/locks/x", "ignored")
	if err := e.PutLibrary(ctx, "lib", []byte("l")); err != nil {
		t.Fatal(err)
	}
	if b := nextBatch(t, batches); describe(b) != "put library lib" {
		t.Fatalf("after library put (a foreign key came first): %s", describe(b))
	}
	if err := e.DeleteScript(ctx, "funcs.a", "a"); err != nil {
		t.Fatal(err)
	}
	if b := nextBatch(t, batches); describe(b) != "delete script funcs.a/a" {
		t.Fatalf("after delete: %s", describe(b))
	}
}

// An etcd outage: the watch waits, and a change made after etcd is back arrives.
func TestEtcdWatchSurvivesRestart(t *testing.T) {
	srv := testetcd.Start(t)
	cli := srv.Client()
	e := NewEtcd(cli, "", zaptest.NewLogger(t))
	batches := watchStore(t, e)
	nextBatch(t, batches)

	srv.Stop()
	srv.Restart()
	if err := e.PutScript(context.Background(), "funcs.after", "x", []byte("back")); err != nil {
		t.Fatal(err)
	}
	if b := nextBatch(t, batches); describe(b) != "put script funcs.after/x" {
		t.Fatalf("after the restart: %s", describe(b))
	}
}

// Changes made while the watch was not running, and then compacted away, still arrive: the store
// reads everything again and hands over the difference.
func TestEtcdWatchSurvivesCompaction(t *testing.T) {
	srv := testetcd.Start(t)
	cli := srv.Client()
	ctx := context.Background()
	put(t, cli, "msgscript/scripts/funcs.keep/k", "keep")
	put(t, cli, "msgscript/scripts/funcs.gone/g", "gone")
	put(t, cli, "msgscript/scripts/funcs.edit/e", "old")

	e := NewEtcd(cli, "", zaptest.NewLogger(t))
	compacted := false
	e.afterLoad = func() {
		if compacted {
			return
		}
		compacted = true
		put(t, cli, "msgscript/scripts/funcs.new/n", "new")
		put(t, cli, "msgscript/scripts/funcs.edit/e", "new")
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
	batches := watchStore(t, e)
	if b := nextBatch(t, batches); len(b) != 3 {
		t.Fatalf("first batch: %s", describe(b))
	}
	b := nextBatch(t, batches)
	want := "put script funcs.edit/e\ndelete script funcs.gone/g\nput script funcs.new/n"
	if describe(b) != want {
		t.Fatalf("after compaction:\n%s\nwant:\n%s", describe(b), want)
	}
	if string(b[0].Item.Source) != "new" {
		t.Errorf("edited script: %q", b[0].Item.Source)
	}

	// And the watch goes on from the new revision.
	put(t, cli, "msgscript/scripts/funcs.later/l", "later")
	if b := nextBatch(t, batches); describe(b) != "put script funcs.later/l" {
		t.Fatalf("after resuming: %s", describe(b))
	}
}

func TestEtcdWatchFailsWhenEtcdIsUnreachableAtStart(t *testing.T) {
	srv := testetcd.Start(t)
	cli := srv.Client()
	srv.Stop()
	e := NewEtcd(cli, "", zaptest.NewLogger(t))
	e.SetLoadTimeout(300 * time.Millisecond)
	if err := e.Watch(context.Background(), func([]Event) {}); err == nil {
		t.Fatal("Watch started without reading etcd")
	}
}
