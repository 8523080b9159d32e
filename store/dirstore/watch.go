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

// Watch reads the folder, hands over everything, then follows fsnotify's events: each changed
// path is read again once it has settled (see settle.go and resolve.go), and the difference with
// what was handed over is applied, one batch per burst of changes. A file caught while it is
// written keeps serving its previous version.
func (d *Store) Watch(ctx context.Context, apply func([]store.Event)) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("store dir: %w", err)
	}
	defer w.Close()

	if err := d.checkRoot(); err != nil {
		return err
	}
	// Watch before reading, so that a change made while reading is not missed.
	if err := w.Add(d.root); err != nil {
		return fmt.Errorf("store dir: watch %s: %w", d.root, err)
	}
	f := d.newFollower(w)
	apply(f.start())

	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		if at, ok := f.pending.next(f.lastChange); ok {
			timer.Reset(time.Until(at))
		} else {
			timer.Stop()
		}
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			if relevant(ev) {
				f.touch(ev.Name, time.Now())
			}
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			// Usually a queue overflow: events were lost, so read everything again.
			d.log.Warn("watching the folder", zap.String("dir", d.root), zap.Error(err))
			f.addTree(d.root, time.Now())
		case <-timer.C:
			if batch := f.round(time.Now()); len(batch) > 0 {
				apply(batch)
			}
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
