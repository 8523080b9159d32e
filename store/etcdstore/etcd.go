// Package etcdstore keeps msgscript's scripts and libraries in etcd, under the key layout of the
// original msgscript, so that every instance of a cluster serves the same scripts and its users
// keep their data.
package etcdstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/msgscript/msgscript/store"
)

// Store keeps scripts and libraries in etcd:
//
//	<prefix>/scripts/<subject>/<name>   the raw text of a script
//	<prefix>/libs/<name>                the raw text of a library
//
// Other keys under the prefix (the original's locks, for instance) are ignored.
type Store struct {
	cli    *clientv3.Client
	prefix string
	log    *zap.Logger
	// loadTimeout bounds each reading of the whole prefix.
	loadTimeout time.Duration

	// afterLoad, when set (by tests), runs between reading the prefix and starting to watch it.
	afterLoad func()
}

// DefaultPrefix is the key prefix of the original msgscript.
const DefaultPrefix = "msgscript"

// New returns the store under prefix on an open client. The client stays the caller's: Close
// does not close it.
func New(cli *clientv3.Client, prefix string, log *zap.Logger) *Store {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if log == nil {
		log = zap.NewNop()
	}
	return &Store{cli: cli, prefix: strings.TrimSuffix(prefix, "/"), log: log, loadTimeout: 5 * time.Second}
}

// SetLoadTimeout bounds each reading of the whole prefix (default 5s): at start, a store that
// cannot be read in time is an error rather than a hang.
func (e *Store) SetLoadTimeout(d time.Duration) {
	if d > 0 {
		e.loadTimeout = d
	}
}

func (e *Store) scriptsPrefix() string { return e.prefix + "/scripts/" }
func (e *Store) libsPrefix() string    { return e.prefix + "/libs/" }

func (e *Store) key(ref store.Ref) string {
	if ref.Kind == store.KindLibrary {
		return e.libsPrefix() + ref.Name
	}
	return e.scriptsPrefix() + ref.Subject + "/" + ref.Name
}

// ref reads a key; ok is false for keys that are neither a script nor a library.
func (e *Store) ref(key string) (store.Ref, bool) {
	if rest, ok := strings.CutPrefix(key, e.scriptsPrefix()); ok {
		i := strings.LastIndexByte(rest, '/')
		if i <= 0 || i == len(rest)-1 {
			return store.Ref{}, false
		}
		return store.Ref{Kind: store.KindScript, Subject: rest[:i], Name: rest[i+1:]}, true
	}
	if name, ok := strings.CutPrefix(key, e.libsPrefix()); ok && name != "" && !strings.Contains(name, "/") {
		return store.Ref{Kind: store.KindLibrary, Name: name}, true
	}
	return store.Ref{}, false
}

// read reads every script and library under prefix, and the revision it read them at.
func (e *Store) read(ctx context.Context, prefix string) (store.Snapshot, int64, error) {
	resp, err := e.cli.Get(ctx, prefix, clientv3.WithPrefix())
	if err != nil {
		return nil, 0, fmt.Errorf("etcd: reading %s: %w", prefix, err)
	}
	snap := store.Snapshot{}
	for _, kv := range resp.Kvs {
		if ref, ok := e.ref(string(kv.Key)); ok {
			snap[ref] = store.Item{Ref: ref, Source: kv.Value, Origin: string(kv.Key), Revision: kv.ModRevision}
		}
	}
	return snap, resp.Header.Revision, nil
}

func (e *Store) get(ctx context.Context, ref store.Ref) (store.Item, error) {
	resp, err := e.cli.Get(ctx, e.key(ref))
	if err != nil {
		return store.Item{}, fmt.Errorf("etcd: %w", err)
	}
	if len(resp.Kvs) == 0 {
		return store.Item{}, fmt.Errorf("%s: %w", ref, store.ErrNotFound)
	}
	kv := resp.Kvs[0]
	return store.Item{Ref: ref, Source: kv.Value, Origin: string(kv.Key), Revision: kv.ModRevision}, nil
}

func (e *Store) put(ctx context.Context, ref store.Ref, source []byte) error {
	if err := ref.Validate(); err != nil {
		return err
	}
	if _, err := e.cli.Put(ctx, e.key(ref), string(source)); err != nil {
		return fmt.Errorf("etcd: %w", err)
	}
	return nil
}

// remove deletes a key, and says so when there was nothing to delete.
func (e *Store) remove(ctx context.Context, ref store.Ref) error {
	resp, err := e.cli.Delete(ctx, e.key(ref))
	if err != nil {
		return fmt.Errorf("etcd: %w", err)
	}
	if resp.Deleted == 0 {
		return fmt.Errorf("%s: %w", ref, store.ErrNotFound)
	}
	return nil
}

func (e *Store) Scripts(ctx context.Context) ([]store.Item, error) {
	snap, _, err := e.read(ctx, e.scriptsPrefix())
	return snap.Sorted(store.KindScript), err
}

func (e *Store) Libraries(ctx context.Context) ([]store.Item, error) {
	snap, _, err := e.read(ctx, e.libsPrefix())
	return snap.Sorted(store.KindLibrary), err
}

func (e *Store) Script(ctx context.Context, subject, name string) (store.Item, error) {
	return e.get(ctx, store.Ref{Kind: store.KindScript, Subject: subject, Name: name})
}

func (e *Store) Library(ctx context.Context, name string) (store.Item, error) {
	return e.get(ctx, store.Ref{Kind: store.KindLibrary, Name: name})
}

func (e *Store) PutScript(ctx context.Context, subject, name string, source []byte) error {
	return e.put(ctx, store.Ref{Kind: store.KindScript, Subject: subject, Name: name}, source)
}

func (e *Store) PutLibrary(ctx context.Context, name string, source []byte) error {
	return e.put(ctx, store.Ref{Kind: store.KindLibrary, Name: name}, source)
}

func (e *Store) DeleteScript(ctx context.Context, subject, name string) error {
	return e.remove(ctx, store.Ref{Kind: store.KindScript, Subject: subject, Name: name})
}

func (e *Store) DeleteLibrary(ctx context.Context, name string) error {
	return e.remove(ctx, store.Ref{Kind: store.KindLibrary, Name: name})
}

// Close does nothing: the client belongs to whoever opened it.
func (e *Store) Close() error { return nil }

var _ store.Store = (*Store)(nil)
