// Package dirstore keeps msgscript's scripts and libraries as .lua files in a folder, watched with
// fsnotify: for one machine, and for development.
package dirstore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"go.uber.org/zap"

	"github.com/msgscript/msgscript/script"
	"github.com/msgscript/msgscript/store"
)

// Store keeps scripts and libraries as .lua files in a folder:
//
//   - every *.lua file outside libs/ whose headers name a subject (`--* subject: ...`) is a script,
//     named by its `--* name:` header or else by its file name;
//   - every *.lua file under libs/ is a library named by its file name;
//   - *_test.lua files, anywhere, are neither: they hold msgscriptcli test's tests.
//
// Files are read when the store is watched and again once a change fsnotify reports has settled
// (see settle.go).
type Store struct {
	root string
	log  *zap.Logger
}

// libsDir is the sub-folder holding libraries.
const libsDir = "libs"

// New returns the store for the folder root. It touches nothing until used.
func New(root string, log *zap.Logger) *Store {
	if log == nil {
		log = zap.NewNop()
	}
	return &Store{root: filepath.Clean(root), log: log}
}

// scan reads the whole folder: one item per script and library (see snapshotOf for two files
// that define the same one).
func (d *Store) scan() (store.Snapshot, error) {
	if err := d.checkRoot(); err != nil {
		return nil, err
	}
	files := newHeld()
	d.walk(d.root, nil, func(path string) {
		if item, ok := d.load(path); ok {
			d.keep(files, path, item)
		}
	})
	snap, dups := snapshotOf(files.items)
	for _, dup := range dups {
		d.reportDuplicate(dup)
	}
	return snap, nil
}

// checkRoot says what is wrong when the store's folder cannot be read at all.
func (d *Store) checkRoot() error {
	info, err := os.Stat(d.root)
	if err != nil {
		return fmt.Errorf("store dir: %w", err)
	}
	if !info.IsDir() {
		return fmt.Errorf("store dir: %s is not a folder", d.root)
	}
	return nil
}

func (d *Store) get(ref store.Ref) (store.Item, error) {
	snap, err := d.scan()
	if err != nil {
		return store.Item{}, err
	}
	it, ok := snap[ref]
	if !ok {
		return store.Item{}, fmt.Errorf("%s: %w", ref, store.ErrNotFound)
	}
	return it, nil
}

func (d *Store) Scripts(ctx context.Context) ([]store.Item, error) {
	snap, err := d.scan()
	return snap.Sorted(store.KindScript), err
}

func (d *Store) Libraries(ctx context.Context) ([]store.Item, error) {
	snap, err := d.scan()
	return snap.Sorted(store.KindLibrary), err
}

func (d *Store) Script(ctx context.Context, subject, name string) (store.Item, error) {
	return d.get(store.Ref{Kind: store.KindScript, Subject: subject, Name: name})
}

func (d *Store) Library(ctx context.Context, name string) (store.Item, error) {
	return d.get(store.Ref{Kind: store.KindLibrary, Name: name})
}

// PutScript writes the script over the file that holds it, or else to <root>/<name>.lua (or
// <root>/<subject>/<name>.lua when that name is taken). Its subject and name headers are set so
// that the file reads back as the same script.
func (d *Store) PutScript(ctx context.Context, subject, name string, source []byte) error {
	ref := store.Ref{Kind: store.KindScript, Subject: subject, Name: name}
	if err := ref.Validate(); err != nil {
		return err
	}
	source = script.SetHeader(script.SetHeader(source, "name", name), "subject", subject)
	snap, err := d.scan()
	if err != nil {
		return err
	}
	path := filepath.Join(d.root, name+".lua")
	if it, ok := snap[ref]; ok {
		path = it.Origin
	} else if _, err := os.Stat(path); err == nil {
		path = filepath.Join(d.root, subject, name+".lua")
	}
	return writeFileAtomic(path, source)
}

func (d *Store) PutLibrary(ctx context.Context, name string, source []byte) error {
	if err := (store.Ref{Kind: store.KindLibrary, Name: name}).Validate(); err != nil {
		return err
	}
	path := filepath.Join(d.root, libsDir, name+".lua")
	if it, err := d.Library(ctx, name); err == nil {
		path = it.Origin
	}
	return writeFileAtomic(path, source)
}

func (d *Store) DeleteScript(ctx context.Context, subject, name string) error {
	return d.remove(store.Ref{Kind: store.KindScript, Subject: subject, Name: name})
}

func (d *Store) DeleteLibrary(ctx context.Context, name string) error {
	return d.remove(store.Ref{Kind: store.KindLibrary, Name: name})
}

func (d *Store) remove(ref store.Ref) error {
	it, err := d.get(ref)
	if err != nil {
		return err
	}
	return os.Remove(it.Origin)
}

func (d *Store) Close() error { return nil }

var _ store.Store = (*Store)(nil)

// writeFileAtomic writes through a temporary file and a rename, so that the watcher (ours or
// another instance's) never reads half a script. The temporary name starts with a dot and does not
// end in .lua, so the scan ignores it.
func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".msgscript-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
