package dirstore

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/msgscript/msgscript/store"
)

// Paths are ordered as a walk of the folder meets them, name by name.
func TestWalkOrder(t *testing.T) {
	j := filepath.Join
	ordered := []string{j("a", "b.lua"), j("a", "c", "d.lua"), "a.lua", j("a.lua", "x.lua"), "b.lua", j("b", "a.lua"), "ba.lua"}
	split := func(a, b string) int {
		sep := string(filepath.Separator)
		return slices.Compare(strings.Split(a, sep), strings.Split(b, sep))
	}
	for _, a := range ordered {
		for _, b := range ordered {
			if got, want := walkOrder(a, b), split(a, b); got != want {
				t.Errorf("walkOrder(%q, %q) = %d, want %d", a, b, got, want)
			}
		}
	}
}

// Of files defining the same script, the first in walk order is kept and the others listed, in
// walk order.
func TestSnapshotKeepsTheFirstOfDuplicates(t *testing.T) {
	ref := store.Ref{Kind: store.KindScript, Subject: "funcs.a", Name: "a"}
	item := func(path string) store.Item { return store.Item{Ref: ref, Origin: path} }
	other := store.Item{Ref: store.Ref{Kind: store.KindScript, Subject: "funcs.b", Name: "b"}, Origin: "b.lua"}
	files := map[string]store.Item{}
	for _, p := range []string{"z.lua", filepath.Join("sub", "a.lua"), "a.lua", filepath.Join("a", "deep.lua")} {
		files[p] = item(p)
	}
	files["b.lua"] = other
	snap, dups := snapshotOf(files)
	if snap[ref].Origin != filepath.Join("a", "deep.lua") || snap[other.Ref].Origin != "b.lua" || len(snap) != 2 {
		t.Fatalf("snapshot: %v", snap)
	}
	var ignored []string
	for _, d := range dups {
		if d.kept.Origin != filepath.Join("a", "deep.lua") {
			t.Errorf("kept %s", d.kept.Origin)
		}
		ignored = append(ignored, d.ignored.Origin)
	}
	if want := []string{"a.lua", filepath.Join("sub", "a.lua"), "z.lua"}; !slices.Equal(ignored, want) {
		t.Errorf("ignored %v, want %v", ignored, want)
	}
}

// BenchmarkSnapshotOf is what a change of one file costs a folder of 10,000 scripts.
func BenchmarkSnapshotOf(b *testing.B) {
	files := map[string]store.Item{}
	for i := range 10000 {
		path := filepath.Join("scripts", fmt.Sprintf("s%d.lua", i))
		files[path] = store.Item{Ref: store.Ref{Kind: store.KindScript, Subject: fmt.Sprintf("funcs.s%d", i), Name: "s"}, Origin: path}
	}
	for b.Loop() {
		snapshotOf(files)
	}
}
