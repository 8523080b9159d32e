package dirstore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/msgscript/msgscript/internal/testfiles"
	"github.com/msgscript/msgscript/store"
	"github.com/msgscript/msgscript/store/storetest"
)

func TestDirReadsScriptsAndLibraries(t *testing.T) {
	root := testfiles.Dir(t, map[string]string{
		"hello.lua":          "--* subject: funcs.hello\n--* name: hello\n",
		"nested/unnamed.lua": "--* subject: funcs.other\n",
		"helper.lua":         "-- no subject: not a script\n",
		"notes.txt":          "--* subject: funcs.txt\n",
		".git/x.lua":         "--* subject: funcs.hidden\n",
		"libs/web.lua":       "function page() end\n",
		"dup.lua":            "--* subject: funcs.hello\n--* name: hello\n",
		"broken.lua":         "-- a comment\n--* subject: funcs..broken\n",
	})

	core, logs := observer.New(zap.InfoLevel)
	d := New(root, zap.New(core))
	scripts, err := d.Scripts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range scripts {
		got = append(got, s.Subject+"/"+s.Name+" "+filepath.Base(s.Origin))
	}
	// dup.lua sorts before hello.lua, so it is the one kept for funcs.hello/hello.
	want := []string{"funcs.hello/hello dup.lua", "funcs.other/unnamed unnamed.lua"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("scripts: got %v, want %v", got, want)
	}
	// A script whose subject header is wrong is not served, and says why with its file and line.
	if bad := logs.FilterMessage("not loaded: bad header").All(); len(bad) != 1 ||
		!strings.Contains(bad[0].ContextMap()["error"].(string), "line 2: subject \"funcs..broken\" has an empty token") {
		t.Fatalf("logged %v", logs.All())
	}
	lib, err := d.Library(context.Background(), "web")
	if err != nil || string(lib.Source) != "function page() end\n" {
		t.Fatalf("library web: %q, %v", lib.Source, err)
	}
	if _, err := d.Script(context.Background(), "funcs.nope", "x"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing script: got %v, want store.ErrNotFound", err)
	}
}

func TestDirMissingFolder(t *testing.T) {
	d := New(filepath.Join(t.TempDir(), "nope"), nil)
	err := d.Watch(context.Background(), func([]store.Event) { t.Error("apply called") })
	if err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("got %v, want an error naming the folder", err)
	}
}

func TestDirWatch(t *testing.T) {
	root := testfiles.Dir(t, map[string]string{"hello.lua": "--* subject: funcs.hello\n", "libs/web.lua": "x = 1\n"})
	write := func(name, text string) { testfiles.Write(t, root, map[string]string{name: text}) }
	batches := storetest.Watch(t, New(root, nil))

	if got, want := storetest.Describe(storetest.Next(t, batches)), "put library web\nput script funcs.hello/hello"; got != want {
		t.Fatalf("first batch:\n%s\nwant:\n%s", got, want)
	}

	steps := []struct {
		name   string
		change func()
		want   string
	}{
		{"add", func() { write("bye.lua", "--* subject: funcs.bye\n") }, "put script funcs.bye/bye"},
		{"edit", func() { write("bye.lua", "--* subject: funcs.bye\n-- v2\n") }, "put script funcs.bye/bye"},
		{"move to another subject", func() { write("bye.lua", "--* subject: funcs.ciao\n") },
			"put script funcs.ciao/bye\ndelete script funcs.bye/bye"},
		{"new sub-folder", func() { write("a/b/deep.lua", "--* subject: funcs.deep\n") }, "put script funcs.deep/deep"},
		{"library", func() { write("libs/web.lua", "x = 2\n") }, "put library web"},
		{"delete", func() { os.Remove(filepath.Join(root, "hello.lua")) }, "delete script funcs.hello/hello"},
		{"rename renames a script named by its file", func() {
			os.Rename(filepath.Join(root, "bye.lua"), filepath.Join(root, "renamed.lua"))
		}, "delete script funcs.ciao/bye\nput script funcs.ciao/renamed"},
		{"named script", func() { write("n1.lua", "--* subject: funcs.n\n--* name: keep\n") }, "put script funcs.n/keep"},
		{"rename keeps a script named by its header", func() {
			os.Rename(filepath.Join(root, "n1.lua"), filepath.Join(root, "n2.lua"))
			write("x.lua", "--* subject: funcs.x\n")
		}, "put script funcs.x/x"},
	}
	for _, s := range steps {
		s.change()
		batch := storetest.Next(t, batches)
		got := strings.Split(storetest.Describe(batch), "\n")
		want := strings.Split(s.want, "\n")
		sort.Strings(got)
		sort.Strings(want)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("%s: got\n%s\nwant\n%s", s.name, storetest.Describe(batch), s.want)
		}
	}
}

func TestDirPutAndDelete(t *testing.T) {
	root := t.TempDir()
	ctx := context.Background()
	d := New(root, nil)

	// The text says nothing of its subject: the store writes the headers so it reads back.
	if err := d.PutScript(ctx, "funcs.a", "a", []byte("function OnMessage() return 'a' end\n")); err != nil {
		t.Fatal(err)
	}
	it, err := d.Script(ctx, "funcs.a", "a")
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(it.Origin) != "a.lua" || !strings.Contains(string(it.Source), "return 'a'") {
		t.Fatalf("got %s: %q", it.Origin, it.Source)
	}
	// Same name on another subject: a second file, the first is untouched.
	if err := d.PutScript(ctx, "funcs.b", "a", []byte("--* subject: wrong\nreturn 1\n")); err != nil {
		t.Fatal(err)
	}
	scripts, _ := d.Scripts(ctx)
	if len(scripts) != 2 {
		t.Fatalf("want 2 scripts, got %+v", scripts)
	}
	// Updating rewrites the same file.
	if err := d.PutScript(ctx, "funcs.a", "a", []byte("-- v2\n")); err != nil {
		t.Fatal(err)
	}
	if it2, _ := d.Script(ctx, "funcs.a", "a"); it2.Origin != it.Origin || !strings.Contains(string(it2.Source), "v2") {
		t.Fatalf("update went to %s: %q", it2.Origin, it2.Source)
	}
	if err := d.PutLibrary(ctx, "web", []byte("x = 1\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "libs", "web.lua")); err != nil {
		t.Fatal(err)
	}
	if err := d.DeleteScript(ctx, "funcs.a", "a"); err != nil {
		t.Fatal(err)
	}
	if err := d.DeleteScript(ctx, "funcs.a", "a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete: got %v, want store.ErrNotFound", err)
	}
	if err := d.DeleteLibrary(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	if libs, _ := d.Libraries(ctx); len(libs) != 0 {
		t.Fatalf("libraries left: %+v", libs)
	}
	if err := d.PutScript(ctx, ">", "a", nil); err == nil {
		t.Fatal("a '>' subject was accepted")
	}
}
