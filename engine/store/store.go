// Package store holds msgscript's scripts and libraries. The engine reads it once and then follows
// its changes through Watch; the CLI writes to it. Two implementations exist: a folder of .lua files
// (Dir) for one machine, and etcd for a cluster.
package store

import (
	"context"
	"errors"
	"time"
)

// Kind tells a script from a library.
type Kind uint8

const (
	KindScript Kind = iota + 1
	KindLibrary
)

func (k Kind) String() string {
	switch k {
	case KindScript:
		return "script"
	case KindLibrary:
		return "library"
	}
	return "unknown"
}

// Ref names one stored item: a script by subject and name, a library by name alone.
type Ref struct {
	Kind    Kind
	Subject string // scripts only
	Name    string
}

func (r Ref) String() string {
	if r.Kind == KindLibrary {
		return "library " + r.Name
	}
	return "script " + r.Subject + "/" + r.Name
}

// Item is one stored script or library.
type Item struct {
	Ref
	Source   []byte    // the raw text, headers included
	Origin   string    // where it lives, for messages: a file path or an etcd key
	Modified time.Time // last change, when the store knows it (the folder store)
	Revision int64     // etcd revision of the last change (the etcd store)
}

// Op is what happened to an item.
type Op uint8

const (
	OpPut Op = iota + 1
	OpDelete
)

// Event is one change. A delete carries the Ref and Origin only.
type Event struct {
	Op   Op
	Item Item
}

// ErrNotFound is returned (wrapped) when a script or library does not exist.
var ErrNotFound = errors.New("not found")

// Store is where scripts and libraries live.
type Store interface {
	// Scripts lists every script, sorted by subject then name.
	Scripts(ctx context.Context) ([]Item, error)
	// Script returns one script, or an error wrapping ErrNotFound.
	Script(ctx context.Context, subject, name string) (Item, error)
	PutScript(ctx context.Context, subject, name string, source []byte) error
	DeleteScript(ctx context.Context, subject, name string) error

	// Libraries lists every library, sorted by name.
	Libraries(ctx context.Context) ([]Item, error)
	Library(ctx context.Context, name string) (Item, error)
	PutLibrary(ctx context.Context, name string, source []byte) error
	DeleteLibrary(ctx context.Context, name string) error

	// Watch calls apply with the complete current content as its first batch (all puts), then
	// with each later change, until ctx ends (it then returns nil) or it cannot go on. apply is
	// never called concurrently, and a batch is applied as a whole: a library and the scripts
	// changed with it arrive together.
	Watch(ctx context.Context, apply func(batch []Event)) error

	Close() error
}
