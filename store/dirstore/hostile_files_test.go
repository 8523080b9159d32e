//go:build unix

package dirstore

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/msgscript/msgscript/internal/testfiles"
	"github.com/msgscript/msgscript/script"
	"github.com/msgscript/msgscript/store/storetest"
)

// The attack: files in the scripts' folder that are not scripts' text. A FIFO named x.lua blocked
// the store's first reading for good (the app never started, and SIGTERM did not stop it), a
// symlink to /dev/zero or a 1.5 GB file ended the process out of memory. Each is refused with a
// warning that says why, the other scripts load, and a script made too large keeps its previous
// version serving.
func TestDirRefusesFilesThatAreNotScripts(t *testing.T) {
	big := "--* subject: funcs.big\n" + strings.Repeat("-- padding\n", script.MaxSourceSize/10)
	root := testfiles.Dir(t, map[string]string{"hello.lua": "--* subject: funcs.hello\n", "big.lua": big})
	if err := syscall.Mkfifo(filepath.Join(root, "fifo.lua"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/zero", filepath.Join(root, "zero.lua")); err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zap.WarnLevel)
	batches := storetest.Watch(t, New(root, zap.New(core)))
	if got := storetest.Describe(storetest.Next(t, batches)); got != "put script funcs.hello/hello" {
		t.Fatalf("first batch: %q", got)
	}
	said := map[string]string{}
	for _, e := range logs.FilterMessage("cannot read").All() {
		said[filepath.Base(e.ContextMap()["path"].(string))] = e.ContextMap()["error"].(string)
	}
	for file, want := range map[string]string{
		"fifo.lua": "a FIFO, not a regular file", "zero.lua": "a device, not a regular file",
		"big.lua": "over 1048576 bytes, the largest script or library msgscript compiles",
	} {
		if !strings.Contains(said[file], want) {
			t.Errorf("%s: the log said %q, want %q", file, said[file], want)
		}
	}

	// While it runs: hello.lua made too large, and a new FIFO, change nothing; the next script
	// still comes.
	testfiles.Write(t, root, map[string]string{"hello.lua": big})
	if err := syscall.Mkfifo(filepath.Join(root, "fifo2.lua"), 0o644); err != nil {
		t.Fatal(err)
	}
	testfiles.Write(t, root, map[string]string{"next.lua": "--* subject: funcs.next\n"})
	if got := storetest.Describe(storetest.Next(t, batches)); got != "put script funcs.next/next" {
		t.Fatalf("after the hostile changes: %q, want only funcs.next (funcs.hello kept as it was)", got)
	}
}

// The attack: many files, each under the 1 MiB a script may be. 3,000 of just under 1 MiB ended the
// process out of memory. The folder's files hold at most maxHeld bytes of text together; past it
// a file is refused with a warning, and what the store holds already keeps serving.
func TestDirHoldsABoundedTotal(t *testing.T) {
	root := testfiles.Dir(t, map[string]string{"0hello.lua": "--* subject: funcs.hello\n"})
	const size = 1_000_000
	n := maxHeld/size + 3
	for i := range n {
		path := filepath.Join(root, fmt.Sprintf("big%03d.lua", i))
		testfiles.Write(t, root, map[string]string{filepath.Base(path): fmt.Sprintf("--* subject: funcs.big%d\n--[[", i)})
		if err := os.Truncate(path, size); err != nil { // a long comment of NUL bytes, never closed: a header is all the store reads
			t.Fatal(err)
		}
	}
	core, logs := observer.New(zap.WarnLevel)
	batches := storetest.Watch(t, New(root, zap.New(core)))
	first := storetest.Next(t, batches)
	if len(first) != maxHeld/size+1 || !strings.Contains(storetest.Describe(first), "put script funcs.hello/0hello") {
		t.Fatalf("first batch of %d events, want funcs.hello and %d of the %d large scripts:\n%.300s", len(first), maxHeld/size, n, storetest.Describe(first))
	}
	refused := logs.FilterMessage("cannot read").All()
	if len(refused) != n-maxHeld/size || !strings.Contains(refused[0].ContextMap()["error"].(string), "would hold over 67108864 bytes of text together") {
		t.Fatalf("%d refused, want %d, saying why: %v", len(refused), n-maxHeld/size, refused)
	}
}
