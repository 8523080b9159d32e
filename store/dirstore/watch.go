package dirstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"

	"github.com/msgscript/msgscript/store"
)

// settle is how long the folder must stay quiet before it is read again: editors save in several
// steps (write a temporary file, rename, chmod), and one reading should see the end result.
const settle = 50 * time.Millisecond

// Watch reads the folder, hands over everything, then reads it again after every burst of
// filesystem events and hands over the difference. Reading the whole folder instead of following
// single events keeps renames, editors' save dances and new sub-folders simple and exact.
func (d *Store) Watch(ctx context.Context, apply func([]store.Event)) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("store dir: %w", err)
	}
	defer w.Close()

	watched := map[string]bool{}
	// Watch before reading, so that a change made while reading is not missed.
	if err := w.Add(d.root); err != nil {
		return fmt.Errorf("store dir: watch %s: %w", d.root, err)
	}
	watched[d.root] = true
	current, err := d.scan()
	if err != nil {
		return err
	}
	timer := time.NewTimer(settle)
	if !d.watchFolders(w, watched, current.dirs) {
		timer.Stop() // no folder was added after the reading: nothing can have been missed
	}
	apply(store.Snapshot{}.Diff(current.items))

	for {
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			if relevant(ev) {
				timer.Reset(settle)
			}
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			// Usually a queue overflow: events were lost, so read everything again.
			d.log.Warn("watching the folder", zap.String("dir", d.root), zap.Error(err))
			timer.Reset(settle)
		case <-timer.C:
			next, err := d.scan()
			if err != nil {
				d.log.Error("reading the folder; keeping what was loaded", zap.Error(err))
				continue
			}
			if d.watchFolders(w, watched, next.dirs) {
				timer.Reset(settle) // files may have landed in a new folder before it was watched
			}
			if batch := current.items.Diff(next.items); len(batch) > 0 {
				apply(batch)
			}
			current = next
		}
	}
}

// relevant drops events that cannot change what the folder holds: chmod, and our own temporary
// files.
func relevant(ev fsnotify.Event) bool {
	if ev.Op == fsnotify.Chmod {
		return false
	}
	return !strings.HasSuffix(ev.Name, ".tmp")
}

// watchFolders adds a watch on every folder not yet watched (fsnotify is not recursive) and forgets
// the ones that disappeared. It reports whether a watch was added.
func (d *Store) watchFolders(w *fsnotify.Watcher, watched map[string]bool, dirs []string) bool {
	added := false
	seen := map[string]bool{}
	for _, dir := range dirs {
		seen[dir] = true
		if watched[dir] {
			continue
		}
		if err := w.Add(dir); err != nil {
			d.log.Warn("cannot watch folder", zap.String("dir", dir), zap.Error(err))
			continue
		}
		watched[dir] = true
		added = true
	}
	for dir := range watched {
		if !seen[dir] {
			_ = w.Remove(dir) // already gone with the folder, most of the time
			delete(watched, dir)
		}
	}
	return added
}
