package dirstore

import (
	"io/fs"
	"path/filepath"
	"slices"
	"strings"

	"go.uber.org/zap"

	"github.com/msgscript/msgscript/store"
)

// walk visits the folder dir as the store reads it, in path order: onDir (when not nil) gets each
// folder before its entries are listed, so that a watch added there misses nothing; onFile gets
// each .lua file. Folders and files whose name starts with a dot are skipped (.git, editor state,
// our temporary files), and so are files that are not .lua.
func (d *Store) walk(dir string, onDir, onFile func(path string)) {
	_ = filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			d.log.Warn("cannot read", zap.String("path", path), zap.Error(err))
			return nil
		}
		if e.IsDir() {
			if path != d.root && hidden(e.Name()) {
				return filepath.SkipDir
			}
			if onDir != nil {
				onDir(path)
			}
			return nil
		}
		if isSource(e.Name()) {
			onFile(path)
		}
		return nil
	})
}

func hidden(name string) bool { return strings.HasPrefix(name, ".") }

// isSource reports whether a file of that name is read: a .lua file that is not hidden and not
// a test. A *_test.lua file holds tests for msgscriptcli test, which sit next to the scripts
// they test: never a script or a library, whatever its headers say.
func isSource(name string) bool {
	return strings.HasSuffix(name, ".lua") && !hidden(name) && !IsTestFile(name)
}

// IsTestFile reports whether a file of that name holds tests (msgscriptcli test), which the store
// never reads as a script or library: a name ending in _test.lua.
func IsTestFile(name string) bool { return strings.HasSuffix(name, "_test.lua") }

// under reports whether path lies inside the folder dir.
func under(path, dir string) bool { return strings.HasPrefix(path, dir+string(filepath.Separator)) }

// duplicate is a file defining a script or library that a file earlier in path order defines too.
type duplicate struct{ kept, ignored store.Item }

// snapshotOf turns what each file holds (by path) into what the store holds: when two files define
// the same script or library, the first in path order wins and the other is listed in dups. Only
// such files are ordered: with 10,000 files, sorting them all on every change was most of an
// edit's cost.
func snapshotOf(files map[string]store.Item) (snap store.Snapshot, dups []duplicate) {
	snap = make(store.Snapshot, len(files))
	var clashes map[store.Ref][]store.Item
	for _, it := range files {
		prev, dup := snap[it.Ref]
		if !dup {
			snap[it.Ref] = it
			continue
		}
		if clashes == nil {
			clashes = map[store.Ref][]store.Item{}
		}
		if clashes[it.Ref] == nil {
			clashes[it.Ref] = []store.Item{prev}
		}
		clashes[it.Ref] = append(clashes[it.Ref], it)
	}
	for ref, items := range clashes {
		slices.SortFunc(items, func(a, b store.Item) int { return walkOrder(a.Origin, b.Origin) })
		snap[ref] = items[0]
		for _, ignored := range items[1:] {
			dups = append(dups, duplicate{kept: items[0], ignored: ignored})
		}
	}
	slices.SortFunc(dups, func(a, b duplicate) int { return walkOrder(a.ignored.Origin, b.ignored.Origin) })
	return snap, dups
}

// walkOrder orders paths as walking the folder meets them, name by name: a/b.lua before a.lua.
func walkOrder(a, b string) int {
	for {
		an, arest, amore := strings.Cut(a, string(filepath.Separator))
		bn, brest, bmore := strings.Cut(b, string(filepath.Separator))
		if c := strings.Compare(an, bn); c != 0 {
			return c
		}
		switch {
		case !amore && !bmore:
			return 0
		case !amore:
			return -1 // a ends here: a is a prefix of b, as slices.Compare orders them
		case !bmore:
			return 1
		}
		a, b = arest, brest
	}
}

func (d *Store) reportDuplicate(dup duplicate) {
	d.log.Error("two files define the same "+dup.kept.Kind.String()+"; keeping the first",
		zap.String("kept", dup.kept.Origin), zap.String("ignored", dup.ignored.Origin), zap.Stringer("ref", dup.kept.Ref))
}
