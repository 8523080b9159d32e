package etcdstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/msgscript/msgscript/store"
)

// resumeWait is the pause before reading etcd again after a watch broke.
const resumeWait = 500 * time.Millisecond

// Watch reads every script and library once, then follows the prefix with one etcd watch starting
// at the revision read. Nothing else reads etcd while messages are handled.
//
// When the watch breaks (the revision it needs was compacted, the member lost its leader, ...), the
// prefix is read again and the difference with what was handed over is applied, so no change is
// lost; then the watch resumes from the new revision. While etcd is unreachable the client keeps
// the watch open and catches up when etcd returns; the scripts already loaded keep serving, and
// the outage and its end are logged (see reportReachability).
func (e *Store) Watch(ctx context.Context, apply func([]store.Event)) error {
	ctx, cancel := context.WithCancel(ctx)
	var reporting sync.WaitGroup
	defer reporting.Wait() // Watch leaves nothing running behind it
	defer cancel()
	var known store.Snapshot
	first := true
	for {
		current, rev, err := e.load(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if first {
				return err
			}
			e.log.Warn("reading etcd again after the watch broke", zap.Error(err))
			if !sleep(ctx, resumeWait) {
				return nil
			}
			continue
		}
		if batch := known.Diff(current); first || len(batch) > 0 {
			apply(batch)
		}
		if first {
			reporting.Go(func() { e.reportReachability(ctx) })
		}
		known, first = current, false
		if e.afterLoad != nil {
			e.afterLoad()
		}
		if err := e.follow(ctx, rev, known, apply); err != nil {
			e.log.Warn("etcd watch broke; reading everything again", zap.Error(err))
			if !sleep(ctx, resumeWait) {
				return nil
			}
			continue
		}
		return nil // ctx ended
	}
}

// load reads the whole prefix and the revision it was read at.
func (e *Store) load(ctx context.Context) (store.Snapshot, int64, error) {
	ctx, cancel := context.WithTimeout(ctx, e.loadTimeout)
	defer cancel()
	return e.read(ctx, e.prefix+"/")
}

// follow watches the prefix from rev+1 and applies each change, keeping known current. It returns
// nil when ctx ends and an error when the watch cannot go on.
func (e *Store) follow(ctx context.Context, rev int64, known store.Snapshot, apply func([]store.Event)) error {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	for resp := range e.cli.Watch(wctx, e.prefix+"/", clientv3.WithPrefix(), clientv3.WithRev(rev+1)) {
		if resp.CompactRevision != 0 {
			return fmt.Errorf("revision %d was compacted (now at %d)", rev+1, resp.CompactRevision)
		}
		if err := resp.Err(); err != nil {
			return err
		}
		var batch []store.Event
		for _, ev := range resp.Events {
			ref, ok := e.ref(string(ev.Kv.Key))
			if !ok {
				continue
			}
			switch ev.Type {
			case clientv3.EventTypePut:
				it := store.Item{Ref: ref, Source: ev.Kv.Value, Origin: string(ev.Kv.Key), Revision: ev.Kv.ModRevision}
				known[ref] = it
				batch = append(batch, store.Event{Op: store.OpPut, Item: it})
			case clientv3.EventTypeDelete:
				delete(known, ref)
				batch = append(batch, store.Event{Op: store.OpDelete, Item: store.Item{Ref: ref, Origin: string(ev.Kv.Key)}})
			}
		}
		if len(batch) > 0 {
			apply(batch)
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	return errors.New("watch channel closed")
}

// sleep waits d or until ctx ends; it reports whether to go on.
func sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-time.After(d):
		return true
	case <-ctx.Done():
		return false
	}
}
