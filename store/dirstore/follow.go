package dirstore

import (
	"errors"
	"io/fs"
	"os"
	"time"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"

	"github.com/msgscript/msgscript/store"
)

// follower is the state of one Watch: the folders watched, what each file serves, and the paths
// that changed since they were last read.
type follower struct {
	d       *Store
	w       *fsnotify.Watcher
	watched map[string]bool
	// files holds, by path, the last reading of each file that was applied: what it serves, unless
	// another file defines the same script first. A file leaves it only when it is gone.
	files      *held
	pending    changes
	lastChange time.Time           // of any path, to hand over a burst of changes in one batch
	served     store.Snapshot      // what apply was handed so far
	dups       map[string]struct{} // duplicates already reported, by the ignored file
}

func (d *Store) newFollower(w *fsnotify.Watcher) *follower {
	return &follower{
		d: d, w: w, watched: map[string]bool{}, files: newHeld(), pending: changes{},
		served: store.Snapshot{}, dups: map[string]struct{}{},
	}
}

// start watches every folder and reads every file, and returns the first batch.
func (f *follower) start() []store.Event {
	f.d.walk(f.d.root, f.watch, func(path string) {
		if item, ok := f.d.load(path); ok {
			f.d.keep(f.files, path, item)
		}
	})
	return f.publish()
}

// watch adds a watch on a folder (fsnotify is not recursive). It adds it again when it is already
// there: the folder may have been removed and made again under the same name, and adding is
// harmless otherwise.
func (f *follower) watch(dir string) {
	if err := f.w.Add(dir); err != nil {
		f.d.log.Warn("cannot watch folder", zap.String("dir", dir), zap.Error(err))
		return
	}
	f.watched[dir] = true
}

// touch records a change of path (a file or a folder) at now.
func (f *follower) touch(path string, now time.Time) {
	f.pending.touch(path, now)
	f.lastChange = now
}

// addTree watches the folder dir and everything under it, and marks its files to be read: the
// ones there now, and the ones read before (gone, if they are not there any more). It is also how
// the whole folder is read again when fsnotify lost events. It returns the files marked.
func (f *follower) addTree(dir string, now time.Time) []string {
	var marked []string
	seen := map[string]bool{}
	mark := func(path string) {
		if !seen[path] {
			seen[path] = true
			f.touch(path, now)
			marked = append(marked, path)
		}
	}
	f.d.walk(dir, f.watch, mark)
	for path := range f.files.items {
		if under(path, dir) {
			mark(path)
		}
	}
	return marked
}

// gone forgets a path that no longer exists, and everything under it when it was a folder: its
// scripts and libraries leave the store.
func (f *follower) gone(path string) {
	if path == f.d.root {
		f.d.log.Error("the folder is gone; keeping what was loaded", zap.String("dir", path))
		return
	}
	for p := range f.files.items {
		if p == path || under(p, path) {
			f.files.delete(p)
		}
	}
	for dir := range f.watched {
		if dir == path || under(dir, path) {
			_ = f.w.Remove(dir) // already gone with the folder, most of the time
			delete(f.watched, dir)
		}
	}
}

// round reads every path that is due and returns what changed for apply. Paths that are gone go
// first: the watch of a folder renamed away must be removed before its new name is watched, since
// fsnotify keeps one watch per folder, under the name it was added with.
func (f *follower) round(now time.Time) []store.Event {
	var present []string
	for path, c := range f.pending {
		if !c.due(now) {
			continue
		}
		if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
			f.gone(path)
			delete(f.pending, path)
			continue
		}
		present = append(present, path)
	}
	for _, path := range present {
		c := f.pending[path]
		if c == nil {
			continue // read with its new folder, earlier in this round
		}
		if f.resolve(path, c, now) {
			delete(f.pending, path)
		}
	}
	return f.publish()
}

// publish turns what the files hold into the store's content and returns the difference with
// what was handed over before. A duplicate is reported once, not on every round.
func (f *follower) publish() []store.Event {
	next, dups := snapshotOf(f.files.items)
	seen := map[string]struct{}{}
	for _, dup := range dups {
		seen[dup.ignored.Origin] = struct{}{}
		if _, reported := f.dups[dup.ignored.Origin]; !reported {
			f.d.reportDuplicate(dup)
		}
	}
	f.dups = seen
	batch := f.served.Diff(next)
	f.served = next
	return batch
}
