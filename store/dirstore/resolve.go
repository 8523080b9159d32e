package dirstore

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"go.uber.org/zap"

	"github.com/msgscript/msgscript/store"
)

// resolve reads a changed path and decides what it now serves. It reports whether the path is
// done with; when not, it stays pending and c says when to read it again.
//
// A file serves the last reading that was applied, so that a file caught while it is written keeps
// serving its previous version: the file must read the same twice, and an empty file or one whose
// subject header cannot be read changes nothing (a file leaves the store only when it is gone).
// A reading that names another script (a move) is applied once the file has not changed for
// moveSettle. A file read before it settled (see maxWait) is only applied when it reads the same
// twice and updates the script it serves, or adds one; otherwise it is read again after settle.
func (f *follower) resolve(path string, c *change, now time.Time) bool {
	info, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		f.gone(path)
		return true
	case err != nil:
		f.d.log.Warn("cannot read", zap.String("path", path), zap.Error(err))
		return true
	case info.IsDir():
		// A new folder, or one renamed here: watched now that fsnotify is done with its old name
		// (see round). Its files are read at once, as files that have not settled (one caught
		// half-written waits), so that the scripts of a renamed folder go on without a gap.
		for _, file := range f.addTree(path, now) {
			if f.resolve(file, f.pending[file], now) {
				delete(f.pending, file)
			}
		}
		return true
	case !isSource(filepath.Base(path)):
		return true
	}

	settled := c.settled(now)
	src, modified, err := readTwice(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		f.gone(path)
		return true
	case errors.Is(err, errChanging):
		f.touch(path, now) // as if fsnotify had reported it: wait for it to settle again
		if !settled {
			c.retry(now)
		}
		return false
	case err != nil:
		f.d.log.Warn("cannot read", zap.String("path", path), zap.Error(err))
		return true
	}

	prev, serving := f.files.items[path]
	item, err := f.d.parse(path, src, modified)
	if err != nil {
		if !settled {
			c.retry(now) // most likely caught while it was written: say nothing yet
			return false
		}
		var ref *store.Ref
		if serving {
			ref = &prev.Ref
		}
		f.d.report(path, err, ref)
		return true
	}
	if serving && item.Ref != prev.Ref && now.Sub(c.last) < moveSettle {
		f.d.log.Debug("the file names another script; waiting for it to settle before moving",
			zap.String("file", path), zap.Stringer("from", prev.Ref), zap.Stringer("to", item.Ref))
		if settled {
			c.waitForMove()
		} else {
			c.retry(now)
		}
		return false
	}
	f.d.keep(f.files, path, item)
	return true
}

// errChanging: two readings of a file in a row differ.
var errChanging = errors.New("file is being written")

// readTwice reads a file twice in a row and returns its text only when both readings agree: a file
// being written at that moment is not mistaken for its final text.
func readTwice(path string) ([]byte, time.Time, error) {
	src, modified, err := readFile(path)
	if err != nil {
		return nil, time.Time{}, err
	}
	again, modifiedAgain, err := readFile(path)
	if err != nil {
		return nil, time.Time{}, err
	}
	if !bytes.Equal(src, again) || !modified.Equal(modifiedAgain) {
		return nil, time.Time{}, errChanging
	}
	return src, modified, nil
}
