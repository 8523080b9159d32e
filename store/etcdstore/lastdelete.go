package etcdstore

import (
	"context"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// progressEvery is how often lastDelete asks whether its replay has caught up.
const progressEvery = 10 * time.Millisecond

// lastDelete finds the revision of key's latest delete up to revision now: 0 when etcd holds none,
// with compactedAt set when it could only look from that revision on.
//
// A Get cannot tell when a key was deleted, only whether it existed at a given revision, so the
// key's events are replayed by a watch from the oldest revision etcd still holds. A watch never
// says that it has sent all the past events; a progress notice does, but etcd only sends one
// (on request) once the watch has caught up, so it is asked for until it comes. The replay makes
// etcd read its log from that oldest revision on: it is meant for a command, not a hot path.
func (e *Store) lastDelete(ctx context.Context, key string, now int64) (deleted, compactedAt int64, err error) {
	from := int64(1)
	for {
		deleted, compacted, err := e.replayDeletes(ctx, key, from, now)
		if err != nil || compacted == 0 {
			return deleted, compactedAt, err
		}
		from, compactedAt = compacted, compacted
	}
}

// replayDeletes watches key from revision from until a progress notice reaches now, and returns the
// revision of the last delete seen; or, when from was compacted, the revision to start again from.
func (e *Store) replayDeletes(ctx context.Context, key string, from, now int64) (deleted, compacted int64, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Progress requests go to the gRPC stream of the context's metadata: they must share the
	// watch's context.
	wch := e.cli.Watch(ctx, key, clientv3.WithRev(from))
	go func() {
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				_ = e.cli.RequestProgress(ctx) // ignored until the watch has caught up
			}
		}
	}()
	for resp := range wch {
		if resp.CompactRevision != 0 {
			return 0, resp.CompactRevision, nil
		}
		if err := resp.Err(); err != nil {
			return 0, 0, fmt.Errorf("etcd: replaying %s: %w", key, err)
		}
		for _, ev := range resp.Events {
			if ev.Type == clientv3.EventTypeDelete && ev.Kv.ModRevision <= now {
				deleted = ev.Kv.ModRevision
			}
		}
		if resp.IsProgressNotify() && resp.Header.Revision >= now {
			return deleted, 0, nil
		}
	}
	if err := ctx.Err(); err != nil {
		return 0, 0, fmt.Errorf("etcd: replaying %s: %w", key, err)
	}
	return 0, 0, fmt.Errorf("etcd: replaying %s: the watch closed", key)
}
