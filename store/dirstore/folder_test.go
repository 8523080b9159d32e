package dirstore

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/msgscript/msgscript/internal/testfiles"
	"github.com/msgscript/msgscript/store/storetest"
)

// Folders come and go as a whole: renaming one moves the watch with it (its scripts named by their
// header stay, nothing is missed in its new place), and removing one removes its scripts.
func TestDirWatchFolderRenamedAndRemoved(t *testing.T) {
	root := testfiles.Dir(t, map[string]string{
		"team/a.lua": "--* subject: funcs.a\n--* name: a\n",
		"team/b.lua": "--* subject: funcs.b\n",
	})
	batches := storetest.Watch(t, New(root, nil))
	storetest.Next(t, batches)

	// b is named by its file, so it is the same script; the folder's name is not part of it.
	if err := os.Rename(filepath.Join(root, "team"), filepath.Join(root, "crew")); err != nil {
		t.Fatal(err)
	}
	testfiles.Write(t, root, map[string]string{"crew/c.lua": "--* subject: funcs.c\n"})
	if got := storetest.Describe(storetest.Next(t, batches)); got != "put script funcs.c/c" {
		t.Fatalf("after renaming the folder: got\n%s", got)
	}
	testfiles.Write(t, root, map[string]string{"crew/a.lua": "--* subject: funcs.a\n--* name: a\n-- v2\n"})
	if got := storetest.Describe(storetest.Next(t, batches)); got != "put script funcs.a/a" {
		t.Fatalf("editing in the renamed folder: got\n%s", got)
	}

	if err := os.RemoveAll(filepath.Join(root, "crew")); err != nil {
		t.Fatal(err)
	}
	want := "delete script funcs.a/a\ndelete script funcs.b/b\ndelete script funcs.c/c"
	if got := storetest.Describe(storetest.Next(t, batches)); got != want {
		t.Fatalf("after removing the folder: got\n%s\nwant\n%s", got, want)
	}
}
