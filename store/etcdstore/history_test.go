package etcdstore

import (
	"context"
	"errors"
	"strings"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap/zaptest"

	"github.com/msgscript/msgscript/internal/testetcd"
	"github.com/msgscript/msgscript/store"
)

var helloRef = store.Ref{Kind: store.KindScript, Subject: "funcs.hello", Name: "hello"}

// put writes key and returns the revision of the put.
func put(t *testing.T, cli *clientv3.Client, key, value string) int64 {
	t.Helper()
	resp, err := cli.Put(context.Background(), key, value)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Header.Revision
}

// describe writes a history as "rev=text ..." lines, for comparing.
func describe(h History) string {
	var b strings.Builder
	if h.Deleted != 0 {
		b.WriteString("deleted ")
	}
	for _, v := range h.Versions {
		b.WriteString(string(v.Source) + " ")
	}
	if h.Compacted {
		b.WriteString("compacted")
	}
	return strings.TrimSpace(b.String())
}

func TestHistoryWalksBackToTheCreation(t *testing.T) {
	srv := testetcd.Start(t)
	cli := srv.Client()
	e := New(cli, "", zaptest.NewLogger(t))
	ctx := context.Background()
	key := e.Key(helloRef)
	if key != "msgscript/scripts/funcs.hello/hello" {
		t.Fatalf("key %q", key)
	}

	// A version from before a delete is not part of the key's current life.
	put(t, cli, key, "v0")
	if _, err := cli.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	r1 := put(t, cli, key, "v1")
	put(t, cli, "msgscript/scripts/funcs.other/other", "other") // revisions are global
	r2 := put(t, cli, key, "v2")
	r3 := put(t, cli, key, "v3")

	h, err := e.History(ctx, helloRef)
	if err != nil {
		t.Fatal(err)
	}
	if got := describe(h); got != "v3 v2 v1" {
		t.Fatalf("history %q", got)
	}
	if h.Versions[0].Revision != r3 || h.Versions[1].Revision != r2 || h.Versions[2].Revision != r1 {
		t.Errorf("revisions %+v, want %d %d %d", h.Versions, r3, r2, r1)
	}

	// At a revision between two puts the key held the earlier one.
	if v, err := e.At(ctx, helloRef, r1+1); err != nil || string(v.Source) != "v1" || v.Revision != r1 {
		t.Errorf("At(%d) = %+v, %v", r1+1, v, err)
	}
	if _, err := e.At(ctx, helloRef, r1-1); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("At before the creation: %v", err)
	}
	if _, err := e.At(ctx, helloRef, r3+100); err == nil || !strings.Contains(err.Error(), "does not exist yet") {
		t.Errorf("At a future revision: %v", err)
	}
	if h, err := e.History(ctx, store.Ref{Kind: store.KindLibrary, Name: "never"}); err != nil || describe(h) != "" {
		t.Errorf("history of a key that never existed: %q, %v", describe(h), err)
	}
}

// Once deleted, a key's versions before the delete are still listed, found through the delete's
// revision.
func TestHistoryOfADeletedKey(t *testing.T) {
	srv := testetcd.Start(t)
	cli := srv.Client()
	e := New(cli, "", zaptest.NewLogger(t))
	ctx := context.Background()
	key := e.Key(helloRef)
	put(t, cli, key, "v1")
	put(t, cli, key, "v2")
	del, err := cli.Delete(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	put(t, cli, "msgscript/libs/web", "later changes elsewhere")

	h, err := e.History(ctx, helloRef)
	if err != nil {
		t.Fatal(err)
	}
	if got := describe(h); got != "deleted v2 v1" || h.Deleted != del.Header.Revision {
		t.Fatalf("history %q, deleted at %d; want deleted at %d", got, h.Deleted, del.Header.Revision)
	}

	// Compacted at the delete: the delete is still found, the versions before it are gone.
	if _, err := cli.Compact(ctx, del.Header.Revision); err != nil {
		t.Fatal(err)
	}
	if h, err = e.History(ctx, helloRef); err != nil || describe(h) != "deleted compacted" {
		t.Errorf("after compaction: %q, %v", describe(h), err)
	}
	// Compacted past the delete: nothing says the key ever existed.
	if _, err := cli.Compact(ctx, put(t, cli, "msgscript/libs/web", "again")); err != nil {
		t.Fatal(err)
	}
	if h, err = e.History(ctx, helloRef); err != nil || describe(h) != "compacted" {
		t.Errorf("after compaction past the delete: %q, %v", describe(h), err)
	}
}

func TestHistoryStopsAtCompaction(t *testing.T) {
	srv := testetcd.Start(t)
	cli := srv.Client()
	e := New(cli, "", zaptest.NewLogger(t))
	ctx := context.Background()
	key := e.Key(helloRef)
	r1 := put(t, cli, key, "v1")
	put(t, cli, key, "v2")
	r3 := put(t, cli, key, "v3")
	if _, err := cli.Compact(ctx, r3); err != nil {
		t.Fatal(err)
	}
	h, err := e.History(ctx, helloRef)
	if err != nil || describe(h) != "v3 compacted" {
		t.Errorf("history %q, %v", describe(h), err)
	}
	if _, err := e.At(ctx, helloRef, r1); !errors.Is(err, ErrCompacted) {
		t.Errorf("At a compacted revision: %v", err)
	}
}

// Restore writes only over the revision it was told of, so a rollback cannot undo a change made
// meanwhile.
func TestRestoreChecksTheCurrentRevision(t *testing.T) {
	srv := testetcd.Start(t)
	cli := srv.Client()
	e := New(cli, "", zaptest.NewLogger(t))
	ctx := context.Background()
	key := e.Key(helloRef)
	r1 := put(t, cli, key, "v1")
	r2 := put(t, cli, key, "v2")

	if _, err := e.Restore(ctx, helloRef, []byte("v1"), r1); !errors.Is(err, ErrChanged) {
		t.Errorf("restore over a stale revision: %v", err)
	}
	rev, err := e.Restore(ctx, helloRef, []byte("v1"), r2)
	if err != nil || rev <= r2 {
		t.Fatalf("restore: %d, %v", rev, err)
	}
	if it, err := e.Script(ctx, "funcs.hello", "hello"); err != nil || string(it.Source) != "v1" || it.Revision != rev {
		t.Errorf("after restore: %+v, %v", it, err)
	}

	// A deleted key is restored over revision 0, and not if it came back meanwhile.
	if err := e.DeleteScript(ctx, "funcs.hello", "hello"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Restore(ctx, helloRef, []byte("v2"), 0); err != nil {
		t.Errorf("restore a deleted key: %v", err)
	}
	if _, err := e.Restore(ctx, helloRef, []byte("v2"), 0); !errors.Is(err, ErrChanged) {
		t.Errorf("restore over a key that exists again: %v", err)
	}
	if _, err := e.Restore(ctx, store.Ref{Kind: store.KindScript, Subject: "bad..subject", Name: "x"}, []byte("x"), 0); err == nil {
		t.Error("restore under an invalid subject")
	}
}
