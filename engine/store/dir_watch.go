package store

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"
)

// settle is how long the folder must stay quiet before it is read again: editors save in several
// steps (write a temporary file, rename, chmod), and one reading should see the end result.
const settle = 50 * time.Millisecond

// Watch reads the folder, hands over everything, then reads it again after every burst of
// filesystem events and hands over the difference. Reading the whole folder instead of following
// single events keeps renames, editors' save dances and new sub-folders simple and exact.
func (d *Dir) Watch(ctx context.Context, apply func([]Event)) error {
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
	apply(diff(snapshot{}, current))

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
			if batch := diff(current, next); len(batch) > 0 {
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
func (d *Dir) watchFolders(w *fsnotify.Watcher, watched map[string]bool, dirs []string) bool {
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

// diff lists the events that turn before into after, libraries first.
func diff(before, after snapshot) []Event {
	var batch []Event
	for ref, it := range after.items {
		if old, ok := before.items[ref]; !ok || !bytes.Equal(old.Source, it.Source) {
			batch = append(batch, Event{Op: OpPut, Item: it})
		}
	}
	for ref, it := range before.items {
		if _, ok := after.items[ref]; !ok {
			batch = append(batch, Event{Op: OpDelete, Item: Item{Ref: ref, Origin: it.Origin}})
		}
	}
	sort.Slice(batch, func(i, j int) bool { return refLess(batch[i].Item.Ref, batch[j].Item.Ref) })
	return batch
}
