package store

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/msgscript/msgscript/engine/script"
)

// Etcd keeps scripts and libraries in etcd, under the key layout of the original msgscript so that
// its users keep their data:
//
//	<prefix>/scripts/<subject>/<name>   the raw text of a script
//	<prefix>/libs/<name>                the raw text of a library
//
// Other keys under the prefix (the original's locks, for instance) are ignored.
type Etcd struct {
	cli    *clientv3.Client
	prefix string
	log    *zap.Logger
	// loadTimeout bounds each reading of the whole prefix.
	loadTimeout time.Duration

	// afterLoad, when set (by tests), runs between reading the prefix and starting to watch it.
	afterLoad func()
}

// DefaultEtcdPrefix is the key prefix of the original msgscript.
const DefaultEtcdPrefix = "msgscript"

// NewEtcd returns the store under prefix on an open client. The client stays the caller's: Close
// does not close it.
func NewEtcd(cli *clientv3.Client, prefix string, log *zap.Logger) *Etcd {
	if prefix == "" {
		prefix = DefaultEtcdPrefix
	}
	if log == nil {
		log = zap.NewNop()
	}
	return &Etcd{cli: cli, prefix: strings.TrimSuffix(prefix, "/"), log: log, loadTimeout: 5 * time.Second}
}

// SetLoadTimeout bounds each reading of the whole prefix (default 5s): at start, a store that
// cannot be read in time is an error rather than a hang.
func (e *Etcd) SetLoadTimeout(d time.Duration) {
	if d > 0 {
		e.loadTimeout = d
	}
}

func (e *Etcd) scriptsPrefix() string { return e.prefix + "/scripts/" }
func (e *Etcd) libsPrefix() string    { return e.prefix + "/libs/" }

func (e *Etcd) key(ref Ref) string {
	if ref.Kind == KindLibrary {
		return e.libsPrefix() + ref.Name
	}
	return e.scriptsPrefix() + ref.Subject + "/" + ref.Name
}

// ref reads a key; ok is false for keys that are neither a script nor a library.
func (e *Etcd) ref(key string) (Ref, bool) {
	if rest, ok := strings.CutPrefix(key, e.scriptsPrefix()); ok {
		i := strings.LastIndexByte(rest, '/')
		if i <= 0 || i == len(rest)-1 {
			return Ref{}, false
		}
		return Ref{Kind: KindScript, Subject: rest[:i], Name: rest[i+1:]}, true
	}
	if name, ok := strings.CutPrefix(key, e.libsPrefix()); ok && name != "" && !strings.Contains(name, "/") {
		return Ref{Kind: KindLibrary, Name: name}, true
	}
	return Ref{}, false
}

func (e *Etcd) item(key string, value []byte, rev int64) (Item, bool) {
	ref, ok := e.ref(key)
	if !ok {
		return Item{}, false
	}
	return Item{Ref: ref, Source: value, Origin: key, Revision: rev}, true
}

func (e *Etcd) list(ctx context.Context, prefix string) ([]Item, error) {
	resp, err := e.cli.Get(ctx, prefix, clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("etcd: %w", err)
	}
	var items []Item
	for _, kv := range resp.Kvs {
		if it, ok := e.item(string(kv.Key), kv.Value, kv.ModRevision); ok {
			items = append(items, it)
		}
	}
	sort.Slice(items, func(i, j int) bool { return refLess(items[i].Ref, items[j].Ref) })
	return items, nil
}

func (e *Etcd) get(ctx context.Context, ref Ref) (Item, error) {
	resp, err := e.cli.Get(ctx, e.key(ref))
	if err != nil {
		return Item{}, fmt.Errorf("etcd: %w", err)
	}
	if len(resp.Kvs) == 0 {
		return Item{}, fmt.Errorf("%s: %w", ref, ErrNotFound)
	}
	kv := resp.Kvs[0]
	return Item{Ref: ref, Source: kv.Value, Origin: string(kv.Key), Revision: kv.ModRevision}, nil
}

func (e *Etcd) put(ctx context.Context, ref Ref, source []byte) error {
	if _, err := e.cli.Put(ctx, e.key(ref), string(source)); err != nil {
		return fmt.Errorf("etcd: %w", err)
	}
	return nil
}

// remove deletes a key, and says so when there was nothing to delete.
func (e *Etcd) remove(ctx context.Context, ref Ref) error {
	resp, err := e.cli.Delete(ctx, e.key(ref))
	if err != nil {
		return fmt.Errorf("etcd: %w", err)
	}
	if resp.Deleted == 0 {
		return fmt.Errorf("%s: %w", ref, ErrNotFound)
	}
	return nil
}

func (e *Etcd) Scripts(ctx context.Context) ([]Item, error) { return e.list(ctx, e.scriptsPrefix()) }
func (e *Etcd) Libraries(ctx context.Context) ([]Item, error) {
	return e.list(ctx, e.libsPrefix())
}

func (e *Etcd) Script(ctx context.Context, subject, name string) (Item, error) {
	return e.get(ctx, Ref{Kind: KindScript, Subject: subject, Name: name})
}

func (e *Etcd) Library(ctx context.Context, name string) (Item, error) {
	return e.get(ctx, Ref{Kind: KindLibrary, Name: name})
}

func (e *Etcd) PutScript(ctx context.Context, subject, name string, source []byte) error {
	if err := validateRef(subject, name); err != nil {
		return err
	}
	return e.put(ctx, Ref{Kind: KindScript, Subject: subject, Name: name}, source)
}

func (e *Etcd) PutLibrary(ctx context.Context, name string, source []byte) error {
	if err := script.ValidateName(name); err != nil {
		return err
	}
	return e.put(ctx, Ref{Kind: KindLibrary, Name: name}, source)
}

func (e *Etcd) DeleteScript(ctx context.Context, subject, name string) error {
	return e.remove(ctx, Ref{Kind: KindScript, Subject: subject, Name: name})
}

func (e *Etcd) DeleteLibrary(ctx context.Context, name string) error {
	return e.remove(ctx, Ref{Kind: KindLibrary, Name: name})
}

// Close does nothing: the client belongs to whoever opened it.
func (e *Etcd) Close() error { return nil }

var _ Store = (*Etcd)(nil)

// Client is the etcd client the store reads through, for others to share (the Lua etcd module).
func (e *Etcd) Client() *clientv3.Client { return e.cli }
