// Package store defines where msgscript's scripts and libraries live: the Store interface, the
// items it holds and the events of its Watch. The engine reads a store once and then follows its
// changes; the CLI writes to it. Each backend is a package of its own (store/dirstore for a folder
// of .lua files on one machine, store/etcdstore for a cluster), so that this package, and the
// engine that uses it, depend on none of them.
package store

import (
	"cmp"
	"context"
	"errors"
	"time"

	"github.com/msgscript/msgscript/script"
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

// Validate reports whether r may be stored: a library needs a valid name, a script a valid name
// and subject pattern.
func (r Ref) Validate() error {
	if r.Kind == KindLibrary {
		return script.ValidateName(r.Name)
	}
	return errors.Join(script.ValidatePattern(r.Subject), script.ValidateName(r.Name))
}

// Compare orders refs as a store hands them over: libraries first (scripts are compiled against
// them), then by subject and name. It returns -1, 0 or +1, as cmp.Compare does.
func (r Ref) Compare(o Ref) int {
	if r.Kind != o.Kind {
		return cmp.Compare(o.Kind, r.Kind)
	}
	return cmp.Or(cmp.Compare(r.Subject, o.Subject), cmp.Compare(r.Name, o.Name))
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
