package etcdstore

import (
	"context"
	"errors"
	"fmt"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/msgscript/msgscript/store"
)

// etcd keeps every revision of a key until it is compacted, so the past versions of a script or
// library can be read back with a Get at an earlier revision: that is all the history there is.
// etcd records no time for a revision.

// ErrCompacted is etcd refusing to read a revision it has compacted away.
var ErrCompacted = rpctypes.ErrCompacted

// Version is one text of a script or library, as one put wrote it.
type Version struct {
	Revision int64 // the revision of the put (etcd's ModRevision)
	Source   []byte
}

// History is what etcd still holds of one script or library, newest first.
type History struct {
	// Versions go back to the put that created the key: versions from before an earlier delete
	// are not followed.
	Versions []Version
	// Deleted is the revision of the delete when the key does not exist now (0 when it does).
	// Versions are then those before the delete, and none is current.
	Deleted int64
	// Compacted tells that older versions existed but etcd compacted them away.
	Compacted bool
}

// Key is the etcd key of a script or library, which the engine also names it by in messages.
func (e *Store) Key(ref store.Ref) string { return e.key(ref) }

// History walks back from the current version of ref (or, once deleted, from the last one before
// the delete), one Get per version. A History with no version and no delete means that etcd holds
// nothing of ref: it was never stored, or (when Compacted) it may have been deleted before the
// revisions etcd still holds.
func (e *Store) History(ctx context.Context, ref store.Ref) (History, error) {
	key := e.key(ref)
	resp, err := e.cli.Get(ctx, key)
	if err != nil {
		return History{}, fmt.Errorf("etcd: %w", err)
	}
	var h History
	var kv *mvccpb.KeyValue
	if len(resp.Kvs) > 0 {
		kv = resp.Kvs[0]
	} else {
		deleted, compactedAt, err := e.lastDelete(ctx, key, resp.Header.Revision)
		if err != nil {
			return History{}, err
		}
		if deleted == 0 {
			// Never stored, or deleted before what etcd still holds.
			return History{Compacted: compactedAt != 0}, nil
		}
		h.Deleted = deleted
		if kv, err = e.getAt(ctx, key, deleted-1); errors.Is(err, ErrCompacted) {
			h.Compacted = true
			return h, nil
		} else if err != nil {
			return History{}, err
		}
	}
	for kv != nil {
		h.Versions = append(h.Versions, Version{Revision: kv.ModRevision, Source: kv.Value})
		// kv.Version counts the puts since the key was created: at 1 this is the first.
		if kv.Version <= 1 {
			break
		}
		kv, err = e.getAt(ctx, key, kv.ModRevision-1)
		if errors.Is(err, ErrCompacted) {
			h.Compacted = true
			break
		}
		if err != nil {
			return History{}, err
		}
	}
	return h, nil
}

// At returns the text ref had at revision rev: the version written at or before it. It wraps
// ErrCompacted when etcd no longer holds that revision, and store.ErrNotFound when the key did not
// exist then.
func (e *Store) At(ctx context.Context, ref store.Ref, rev int64) (Version, error) {
	kv, err := e.getAt(ctx, e.key(ref), rev)
	if err != nil {
		return Version{}, err
	}
	if kv == nil {
		return Version{}, fmt.Errorf("%s did not exist at revision %d: %w", ref, rev, store.ErrNotFound)
	}
	return Version{Revision: kv.ModRevision, Source: kv.Value}, nil
}

// getAt reads key at revision rev; nil when it did not exist then.
func (e *Store) getAt(ctx context.Context, key string, rev int64) (*mvccpb.KeyValue, error) {
	if rev <= 0 { // etcd reads revision 0 as "now"
		return nil, nil
	}
	resp, err := e.cli.Get(ctx, key, clientv3.WithRev(rev))
	switch {
	case errors.Is(err, ErrCompacted):
		return nil, fmt.Errorf("revision %d was compacted: %w", rev, err)
	case errors.Is(err, rpctypes.ErrFutureRev):
		return nil, fmt.Errorf("revision %d does not exist yet", rev)
	case err != nil:
		return nil, fmt.Errorf("etcd: %w", err)
	case len(resp.Kvs) == 0:
		return nil, nil
	}
	return resp.Kvs[0], nil
}

// ErrChanged is Restore finding that the key changed since it was read.
var ErrChanged = errors.New("changed meanwhile")

// Restore stores source as the current text of ref, provided the key is still at revision
// current (its ModRevision; 0 for a key that does not exist): a rollback must not silently undo a
// change made between reading the history and writing. It returns the revision of the put.
func (e *Store) Restore(ctx context.Context, ref store.Ref, source []byte, current int64) (int64, error) {
	if err := ref.Validate(); err != nil {
		return 0, err
	}
	key := e.key(ref)
	resp, err := e.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.ModRevision(key), "=", current)).
		Then(clientv3.OpPut(key, string(source))).
		Commit()
	if err != nil {
		return 0, fmt.Errorf("etcd: %w", err)
	}
	if !resp.Succeeded {
		return 0, fmt.Errorf("%s: %w; nothing stored", ref, ErrChanged)
	}
	return resp.Header.Revision, nil
}
