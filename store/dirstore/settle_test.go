package dirstore

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/msgscript/msgscript/internal/testfiles"
	"github.com/msgscript/msgscript/store"
	"github.com/msgscript/msgscript/store/storetest"
)

// A script rewritten in place in two steps, in a loop, never leaves the store and never puts a
// phantom subject or name, even when the writer stays longer than settle between its two steps
// (as a loaded machine makes it): the file reads empty or as another script at that moment. A
// change to another file still arrives meanwhile, and the last version arrives once the writer
// stops. The script lives in a sub-folder.
func TestDirHalfWrittenFileKeepsServing(t *testing.T) {
	root := testfiles.Dir(t, map[string]string{"team/echo.lua": echoVersion(0)})
	other := store.Ref{Kind: store.KindScript, Subject: "funcs.other", Name: "other"}
	rec := record(t, New(root, zaptest.NewLogger(t, zaptest.Level(zapcore.WarnLevel))), onlyWholeEchoVersions(other))
	rec.waitFor(t, "the first batch", isPut(echoRef, echoVersion(0)))

	// Every fifth rewrite stays cut short for 70ms, longer than settle and shorter than moveSettle:
	// in 30 rewrites, each cut (echoCuts) with each way of writing.
	w := rewrite(t, filepath.Join(root, "team", "echo.lua"), func(i int) time.Duration {
		if i%5 == 0 {
			return settle + 20*time.Millisecond
		}
		return 0
	})
	w.waitRewrites(30)
	testfiles.Write(t, root, map[string]string{"other.lua": "--* subject: funcs.other\n"})
	rec.waitFor(t, "a new file while the script is rewritten", isPut(other, ""))
	last := w.stop()
	rec.waitFor(t, "the last version", isPut(echoRef, last))
}

// A file that never settles (rewritten in two steps, without a pause, until the test stops it)
// is applied anyway, whole, while it is still being rewritten.
func TestDirFileThatNeverSettlesIsApplied(t *testing.T) {
	root := testfiles.Dir(t, map[string]string{"echo.lua": echoVersion(0)})
	rec := record(t, New(root, zaptest.NewLogger(t, zaptest.Level(zapcore.WarnLevel))), onlyWholeEchoVersions())
	rec.waitFor(t, "the first batch", isPut(echoRef, echoVersion(0)))

	w := rewrite(t, filepath.Join(root, "echo.lua"), func(int) time.Duration { return 0 })
	rec.waitFor(t, "a new version while the file keeps changing", func(ev store.Event) bool {
		return isPut(echoRef, "")(ev) && string(ev.Item.Source) != echoVersion(0)
	})
	if n := w.rewrites.Load(); n < 2 {
		t.Fatalf("only %d rewrites", n)
	}
	last := w.stop()
	rec.waitFor(t, "the last version", isPut(echoRef, last))
}

// A file edited into something that is not a script (a bad subject header, no subject header,
// nothing at all) keeps serving its version and says why; the next good version replaces it.
func TestDirBadOrEmptyFileKeepsServing(t *testing.T) {
	root := testfiles.Dir(t, map[string]string{"hello.lua": "--* subject: funcs.hello\n-- v1\n"})
	path := filepath.Join(root, "hello.lua")
	core, logs := observer.New(zap.InfoLevel)
	batches := storetest.Watch(t, New(root, zap.New(core)))
	storetest.Next(t, batches)

	steps := []struct {
		name, text, log string
		level           zapcore.Level
		errorHas        string
	}{
		{"bad subject", "-- a comment\n--* subject: funcs..hello\n", "not loaded: bad header", zapcore.ErrorLevel,
			`line 2: subject "funcs..hello" has an empty token`},
		{"no subject", "-- v2, the header forgotten\n", "not loaded: no subject header", zapcore.ErrorLevel, "subject"},
		{"empty", "", "not loaded: empty file", zapcore.InfoLevel, "empty"},
	}
	for i, s := range steps {
		testfiles.Write(t, root, map[string]string{"hello.lua": s.text})
		entry := waitLog(t, logs, s.log) // the file was read
		// A new file now: the next batch holds it and nothing about hello.
		name := "s" + string(rune('1'+i))
		testfiles.Write(t, root, map[string]string{name + ".lua": "--* subject: funcs." + name + "\n"})
		if got := storetest.Describe(storetest.Next(t, batches)); got != "put script funcs."+name+"/"+name {
			t.Fatalf("%s: got\n%s", s.name, got)
		}
		fields := entry.ContextMap()
		if entry.Level != s.level || fields["file"] != path || !strings.Contains(fields["error"].(string), s.errorHas) ||
			fields["still_serving"] != "script funcs.hello/hello" {
			t.Fatalf("%s: logged %s %v", s.name, entry.Level, fields)
		}
	}

	testfiles.Write(t, root, map[string]string{"hello.lua": "--* subject: funcs.hello\n-- v3\n"})
	b := storetest.Next(t, batches)
	if storetest.Describe(b) != "put script funcs.hello/hello" || !strings.Contains(string(b[0].Item.Source), "v3") {
		t.Fatalf("fixed: got %s %q", storetest.Describe(b), b[0].Item.Source)
	}
}

// waitLog waits up to 5s for a log entry with that message and returns it.
func waitLog(t *testing.T, logs *observer.ObservedLogs, message string) observer.LoggedEntry {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if found := logs.FilterMessage(message).TakeAll(); len(found) > 0 {
			return found[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log %q within 5s; logged %v", message, logs.All())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
