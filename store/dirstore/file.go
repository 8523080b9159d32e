package dirstore

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/msgscript/msgscript/script"
	"github.com/msgscript/msgscript/store"
)

// Why a file is not a script or library. Any other error of parse is a header error.
var (
	// errEmpty: an empty file is nothing yet. Most often it is a file being written (opened with
	// O_TRUNC, not written yet), so it never stands for a deletion.
	errEmpty = errors.New("empty file")
	// errNoSubject: a Lua file outside libs/ without a `--* subject:` header, such as a helper.
	errNoSubject = errors.New("no `--* subject:` header")
)

// readFile reads a file and when it was last changed. Only a regular file is read, and only up to
// script.MaxSourceSize, what msgscript compiles: a FIFO named x.lua blocked the store for good (and
// with it the app's start and stop), and a symlink to /dev/zero or a 1.5 GB file ended the process
// out of memory. The file is opened without waiting for a FIFO's writer, then checked.
func readFile(path string) ([]byte, time.Time, error) {
	f, err := openNonBlocking(path)
	if err != nil {
		return nil, time.Time{}, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, time.Time{}, err
	}
	if !info.Mode().IsRegular() {
		return nil, time.Time{}, fmt.Errorf("%s, not a regular file: msgscript reads scripts from files only", kindOf(info.Mode()))
	}
	src, err := io.ReadAll(io.LimitReader(f, script.MaxSourceSize+1))
	if err != nil {
		return nil, time.Time{}, err
	}
	if len(src) > script.MaxSourceSize {
		return nil, time.Time{}, fmt.Errorf("over %d bytes, the largest script or library msgscript compiles", script.MaxSourceSize)
	}
	return src, info.ModTime(), nil
}

// kindOf names what a file that is not a regular one is.
func kindOf(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m.IsDir():
		return "a folder"
	}
	return "a " + m.Type().String() + " file"
}

// keep holds item for path in files, or logs why not (what path held before stays).
func (d *Store) keep(files *held, path string, item store.Item) {
	if err := files.set(path, item); err != nil {
		d.log.Warn("cannot read", zap.String("path", path), zap.Error(err))
	}
}

// load reads one file into an item; ok is false when it is not one, and the log says why when it
// is worth it (see report).
func (d *Store) load(path string) (item store.Item, ok bool) {
	src, modified, err := readFile(path)
	if err != nil {
		d.log.Warn("cannot read", zap.String("path", path), zap.Error(err))
		return item, false
	}
	if item, err = d.parse(path, src, modified); err != nil {
		d.report(path, err, nil)
		return item, false
	}
	return item, true
}

// parse turns the text of one file into an item, or says why it is not one (errEmpty,
// errNoSubject or the header error).
func (d *Store) parse(path string, src []byte, modified time.Time) (store.Item, error) {
	if len(src) == 0 {
		return store.Item{}, errEmpty
	}
	item := store.Item{Source: src, Origin: path, Modified: modified}
	if d.isLibrary(path) {
		item.Ref = store.Ref{Kind: store.KindLibrary, Name: script.FileName(path)}
		return item, nil
	}
	h, err := script.ParseHeaders(src)
	if h.Subject == "" {
		if err != nil {
			// Most likely the subject header itself is wrong: say so rather than ignore the file.
			return store.Item{}, err
		}
		return store.Item{}, errNoSubject
	}
	// Other header errors are reported by the engine when it compiles the script.
	item.Ref = store.Ref{Kind: store.KindScript, Subject: h.Subject, Name: h.NameFor(path)}
	return item, nil
}

func (d *Store) isLibrary(path string) bool {
	rel, err := filepath.Rel(d.root, path)
	return err == nil && strings.HasPrefix(rel, libsDir+string(filepath.Separator))
}

// report says why the file at path is not loaded. serving is what the file served until now, if
// anything: it keeps serving. A file that is not a script, or empty, is only worth a word when it
// was serving.
func (d *Store) report(path string, err error, serving *store.Ref) {
	fields := []zap.Field{zap.String("file", path), zap.Error(err)}
	if serving != nil {
		fields = append(fields, zap.Stringer("still_serving", *serving))
	}
	switch {
	case errors.Is(err, errEmpty):
		if serving != nil { // most often a file being written: no cause for alarm
			d.log.Info("not loaded: empty file", fields...)
		}
	case errors.Is(err, errNoSubject):
		if serving != nil {
			d.log.Error("not loaded: no subject header", fields...)
		}
	default:
		d.log.Error("not loaded: bad header", fields...)
	}
}
