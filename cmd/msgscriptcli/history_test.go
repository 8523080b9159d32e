package main

import (
	"context"
	"strconv"
	"strings"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/msgscript/msgscript/engine"
	"github.com/msgscript/msgscript/internal/testetcd"
	"github.com/msgscript/msgscript/internal/testfiles"
	"github.com/msgscript/msgscript/store"
)

// End-to-end tests of history and rollback: the built msgscriptcli against a real etcd.

const versionKey = "msgscript/scripts/funcs.v/v"

// scriptVersion is the n-th text of the script funcs.v/v.
func scriptVersion(n int) string {
	return "--* subject: funcs.v\n--* name: v\nfunction OnMessage(s, p) return 'v" + strconv.Itoa(n) + "' end\n"
}

// current reads key from etcd: its text and the revision that wrote it (0 when absent).
func current(t *testing.T, cli *clientv3.Client, key string) (string, int64) {
	t.Helper()
	resp, err := cli.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) == 0 {
		return "", 0
	}
	return string(resp.Kvs[0].Value), resp.Kvs[0].ModRevision
}

// historyRow is one line of history's table.
type historyRow struct {
	revision, version string
	current           bool
}

// historyRows reads history's output, checking its header and the TIME and SIZE columns.
func historyRows(t *testing.T, out string, texts map[string]string) []historyRow {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) == 0 || strings.Join(strings.Fields(lines[0]), " ") != "REVISION TIME SIZE VERSION" {
		t.Fatalf("history header:\n%s", out)
	}
	var rows []historyRow
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) < 4 || f[1] != "-" || f[2] == "-" {
			continue // not a version: the delete or the compaction line
		}
		if text, ok := texts[f[3]]; ok && f[2] != strconv.Itoa(len(text)) {
			t.Errorf("history: size %s for %d bytes:\n%s", f[2], len(text), out)
		}
		rows = append(rows, historyRow{revision: f[0], version: f[3], current: len(f) == 5 && f[4] == "current"})
	}
	return rows
}

// byVersion maps the versions of texts to the texts.
func byVersion(texts ...string) map[string]string {
	m := map[string]string{}
	for _, text := range texts {
		m[store.Version([]byte(text))] = text
	}
	return m
}

// wantHistory checks the versions history lists, newest first: their texts and that only the
// first is current (none when deleted).
func wantHistory(t *testing.T, rows []historyRow, texts map[string]string, want []string, deleted bool) {
	t.Helper()
	var got []string
	for i, r := range rows {
		got = append(got, texts[r.version])
		if r.current != (i == 0 && !deleted) {
			t.Errorf("row %d (%+v): current mark wrong", i, r)
		}
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("history lists:\n%q\nwant:\n%q", got, want)
	}
}

func TestScriptHistoryAndRollback(t *testing.T) {
	etcd := testetcd.Start(t)
	e := "--etcdurls=" + etcd.Endpoint()
	v1, v2, v3 := scriptVersion(1), scriptVersion(2), scriptVersion(3)
	dir := testfiles.Dir(t, map[string]string{"v1.lua": v1, "v2.lua": v2, "v3.lua": v3})
	texts := byVersion(v1, v2, v3)

	_, before := current(t, etcd.Client(), "msgscript") // a revision before the script existed
	before = max(before, 1)
	ok(t, dir, e, "add", "v1.lua")
	_, r1 := current(t, etcd.Client(), versionKey)
	ok(t, dir, e, "add", "v2.lua")
	_, r2 := current(t, etcd.Client(), versionKey)
	ok(t, dir, e, "add", "v3.lua")
	_, r3 := current(t, etcd.Client(), versionKey)

	rows := historyRows(t, ok(t, dir, e, "history", "funcs.v", "v"), texts)
	wantHistory(t, rows, texts, []string{v3, v2, v1}, false)
	if len(rows) == 3 && (rows[0].revision != strconv.FormatInt(r3, 10) || rows[2].revision != strconv.FormatInt(r1, 10)) {
		t.Errorf("revisions %+v, want %d %d %d", rows, r3, r2, r1)
	}

	// Without a revision: the previous text, stored as a new version.
	out := ok(t, dir, e, "rollback", "funcs.v", "v")
	text, r4 := current(t, etcd.Client(), versionKey)
	if text != v2 {
		t.Fatalf("after rollback etcd holds %q", text)
	}
	want := "rolled back script funcs.v/v to the text of revision " + strconv.FormatInt(r2, 10) + ": revision " +
		strconv.FormatInt(r3, 10) + " → " + strconv.FormatInt(r4, 10) + ", version " + store.Version([]byte(v3)) + " → " + store.Version([]byte(v2))
	if strings.TrimSpace(out) != want {
		t.Errorf("rollback said %q\nwant %q", out, want)
	}
	wantHistory(t, historyRows(t, ok(t, dir, e, "history", "funcs.v", "v"), texts), texts, []string{v2, v3, v2, v1}, false)

	// To a given revision: the text the script had then.
	ok(t, dir, e, "rollback", "funcs.v", "v", strconv.FormatInt(r1, 10))
	if text, _ := current(t, etcd.Client(), versionKey); text != v1 {
		t.Fatalf("after rollback to %d etcd holds %q", r1, text)
	}

	// The rollback made a version with v1's text, which the history has further back too: the
	// default rollback goes past every version with the current text.
	ok(t, dir, e, "rollback", "funcs.v", "v")
	if text, _ := current(t, etcd.Client(), versionKey); text != v2 {
		t.Fatalf("rollback past two identical versions: etcd holds %q", text)
	}

	// Refused, with nothing stored: a revision before the script existed, the current text, a
	// revision to come, a wrong argument.
	_, r5 := current(t, etcd.Client(), versionKey)
	fails(t, dir, 1, "did not exist at revision "+strconv.FormatInt(before, 10), e, "rollback", "funcs.v", "v", strconv.FormatInt(before, 10))
	fails(t, dir, 1, "already the current version", e, "rollback", "funcs.v", "v", strconv.FormatInt(r2, 10))
	fails(t, dir, 1, "does not exist yet", e, "rollback", "funcs.v", "v", strconv.FormatInt(r5+100, 10))
	fails(t, dir, 2, "REVISION", e, "rollback", "funcs.v", "v", "yesterday")
	fails(t, dir, 1, "no such script funcs.v/nope", e, "history", "funcs.v", "nope")
	fails(t, dir, 1, "no such script funcs.v/nope", e, "rollback", "funcs.v", "nope")
	fails(t, dir, 2, "--backend etcd", "-b", "dir", "--dir", dir, "history", "funcs.v", "v")
	if _, rev := current(t, etcd.Client(), versionKey); rev != r5 {
		t.Errorf("a refused rollback stored revision %d", rev)
	}
}

// A version that no longer compiles, because a library it requires is gone, is refused with add's
// error and nothing is stored.
func TestRollbackRefusesWhatNoLongerCompiles(t *testing.T) {
	etcd := testetcd.Start(t)
	e := "--etcdurls=" + etcd.Endpoint()
	needsLib := "--* subject: funcs.v\n--* name: v\n--* require: greeting\nfunction OnMessage(s, p) return greet(p) end\n"
	dir := testfiles.Dir(t, map[string]string{
		"greeting.lua": "function greet(who) return 'Hello, ' .. who end\n",
		"needs.lua":    needsLib,
		"plain.lua":    scriptVersion(2),
	})
	ok(t, dir, e, "lib", "add", "greeting.lua")
	ok(t, dir, e, "add", "needs.lua")
	_, withLib := current(t, etcd.Client(), versionKey)
	ok(t, dir, e, "add", "plain.lua")
	ok(t, dir, e, "lib", "rm", "greeting")
	_, rev := current(t, etcd.Client(), versionKey)

	fails(t, dir, 1, `requires library "greeting", which does not exist`, e, "rollback", "funcs.v", "v")
	fails(t, dir, 1, "nothing stored", e, "rollback", "funcs.v", "v", strconv.FormatInt(withLib, 10))
	if text, now := current(t, etcd.Client(), versionKey); now != rev || text != scriptVersion(2) {
		t.Errorf("a refused rollback stored revision %d: %q", now, text)
	}
}

// Once etcd has compacted its history, history says so and rollback cannot reach past it.
func TestHistoryAfterCompaction(t *testing.T) {
	etcd := testetcd.Start(t)
	e := "--etcdurls=" + etcd.Endpoint()
	v1, v2, v3 := scriptVersion(1), scriptVersion(2), scriptVersion(3)
	dir := testfiles.Dir(t, map[string]string{"v1.lua": v1, "v2.lua": v2, "v3.lua": v3})
	texts := byVersion(v1, v2, v3)
	ok(t, dir, e, "add", "v1.lua")
	_, r1 := current(t, etcd.Client(), versionKey)
	ok(t, dir, e, "add", "v2.lua")
	ok(t, dir, e, "add", "v3.lua")
	_, r3 := current(t, etcd.Client(), versionKey)
	if _, err := etcd.Client().Compact(context.Background(), r3); err != nil {
		t.Fatal(err)
	}

	out := ok(t, dir, e, "history", "funcs.v", "v")
	wantHistory(t, historyRows(t, out, texts), texts, []string{v3}, false)
	if !strings.HasSuffix(out, "\nolder versions were compacted\n") {
		t.Errorf("history does not end on the compaction:\n%s", out)
	}
	fails(t, dir, 1, "older versions were compacted", e, "rollback", "funcs.v", "v")
	fails(t, dir, 1, "revision "+strconv.FormatInt(r1, 10)+" was compacted", e, "rollback", "funcs.v", "v", strconv.FormatInt(r1, 10))
	if _, rev := current(t, etcd.Client(), versionKey); rev != r3 {
		t.Errorf("a refused rollback stored revision %d", rev)
	}
}

// A deleted script still has its history, and rollback brings its last version back.
func TestHistoryOfADeletedScript(t *testing.T) {
	etcd := testetcd.Start(t)
	e := "--etcdurls=" + etcd.Endpoint()
	v1, v2 := scriptVersion(1), scriptVersion(2)
	dir := testfiles.Dir(t, map[string]string{"v1.lua": v1, "v2.lua": v2})
	texts := byVersion(v1, v2)
	ok(t, dir, e, "add", "v1.lua")
	ok(t, dir, e, "add", "v2.lua")
	ok(t, dir, e, "rm", "-s", "funcs.v", "-n", "v")

	out := ok(t, dir, e, "history", "funcs.v", "v")
	if f := strings.Fields(strings.Split(out, "\n")[1]); len(f) != 4 || f[3] != "deleted" {
		t.Errorf("history does not start with the delete:\n%s", out)
	}
	wantHistory(t, historyRows(t, out, texts), texts, []string{v2, v1}, true)

	if out := ok(t, dir, e, "rollback", "funcs.v", "v"); !strings.HasPrefix(out, "restored deleted script funcs.v/v") {
		t.Errorf("rollback said %q", out)
	}
	if text, _ := current(t, etcd.Client(), versionKey); text != v2 {
		t.Errorf("after rollback etcd holds %q", text)
	}
}

func TestLibraryHistoryAndRollback(t *testing.T) {
	etcd := testetcd.Start(t)
	e := "--etcdurls=" + etcd.Endpoint()
	const key = "msgscript/libs/greeting"
	lib := func(n int) string { return "function greet(who) return 'Hello " + strconv.Itoa(n) + ", ' .. who end\n" }
	needsPunct := "--* require: punct\nfunction greet(who) return 'Hi, ' .. who .. bang() end\n"
	dir := testfiles.Dir(t, map[string]string{
		"1/greeting.lua": lib(1), "2/greeting.lua": lib(2), "3/greeting.lua": lib(3),
		"4/greeting.lua": needsPunct, "punct.lua": "function bang() return '!' end\n",
	})
	texts := byVersion(lib(1), lib(2), lib(3), needsPunct)
	_, before := current(t, etcd.Client(), "msgscript")
	before = max(before, 1)
	ok(t, dir, e, "lib", "add", "1/greeting.lua")
	_, r1 := current(t, etcd.Client(), key)
	ok(t, dir, e, "lib", "add", "2/greeting.lua")
	ok(t, dir, e, "lib", "add", "3/greeting.lua")

	wantHistory(t, historyRows(t, ok(t, dir, e, "lib", "history", "greeting"), texts), texts, []string{lib(3), lib(2), lib(1)}, false)
	if out := ok(t, dir, e, "lib", "rollback", "greeting"); !strings.Contains(out, "rolled back library greeting") {
		t.Errorf("lib rollback said %q", out)
	}
	if text, _ := current(t, etcd.Client(), key); text != lib(2) {
		t.Fatalf("after lib rollback etcd holds %q", text)
	}
	wantHistory(t, historyRows(t, ok(t, dir, e, "lib", "history", "greeting"), texts), texts, []string{lib(2), lib(3), lib(2), lib(1)}, false)
	ok(t, dir, e, "lib", "rollback", "greeting", strconv.FormatInt(r1, 10))
	if text, _ := current(t, etcd.Client(), key); text != lib(1) {
		t.Fatalf("after lib rollback to %d etcd holds %q", r1, text)
	}

	// A version requiring a library that is gone no longer compiles.
	ok(t, dir, e, "lib", "add", "punct.lua")
	ok(t, dir, e, "lib", "add", "4/greeting.lua")
	_, withPunct := current(t, etcd.Client(), key)
	ok(t, dir, e, "lib", "rollback", "greeting")
	ok(t, dir, e, "lib", "rm", "punct")
	_, rev := current(t, etcd.Client(), key)
	fails(t, dir, 1, `requires library "punct", which does not exist`, e, "lib", "rollback", "greeting", strconv.FormatInt(withPunct, 10))
	fails(t, dir, 1, "did not exist at revision", e, "lib", "rollback", "greeting", strconv.FormatInt(before, 10))
	fails(t, dir, 1, "already the current version", e, "lib", "rollback", "greeting", strconv.FormatInt(rev, 10))
	fails(t, dir, 1, "no such library nope", e, "lib", "history", "nope")
	if _, now := current(t, etcd.Client(), key); now != rev {
		t.Errorf("a refused lib rollback stored revision %d", now)
	}

	if _, err := etcd.Client().Compact(context.Background(), rev); err != nil {
		t.Fatal(err)
	}
	if out := ok(t, dir, e, "lib", "history", "greeting"); !strings.HasSuffix(out, "\nolder versions were compacted\n") {
		t.Errorf("lib history after compaction:\n%s", out)
	}
	fails(t, dir, 1, "was compacted", e, "lib", "rollback", "greeting", strconv.FormatInt(r1, 10))
}

// history names a version as the engine does, so that status and history show the same id.
func TestHistoryVersionIsTheEngines(t *testing.T) {
	reg := engine.NewRegistry(engine.Options{})
	defer reg.Close()
	text := []byte(scriptVersion(1))
	reg.Apply([]store.Event{{Op: store.OpPut, Item: store.Item{Ref: scriptRef("funcs.v", "v"), Source: text, Origin: versionKey}}})
	p, err := reg.Script("funcs.v", "v")
	if err != nil || p == nil {
		t.Fatalf("the engine did not compile the script: %v", err)
	}
	if got := store.Version(text); got != p.Version || len(got) != 12 {
		t.Errorf("history names the version %q, the engine %q", got, p.Version)
	}
}

// A subject or name that no script can have is a usage error, before etcd is asked.
func TestHistoryRefusesBadNames(t *testing.T) {
	dir := t.TempDir()
	e := "--etcdurls=127.0.0.1:1" // never reached
	fails(t, dir, 2, "subject", e, "history", "", "hello")
	fails(t, dir, 2, "name", e, "rollback", "funcs.hello", "a/b")
	fails(t, dir, 2, "name", e, "lib", "history", "")
}
