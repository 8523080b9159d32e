package etcdstore

import (
	"context"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc/connectivity"
)

// reportReachability logs when etcd becomes unreachable (Warn) and when it is back (Info), once
// per change rather than once per reconnection attempt, until ctx ends. The watch needs nothing
// from it: the client resumes the watch by itself, and the scripts loaded keep serving meanwhile;
// without it an outage would go unnoticed in the logs.
//
// It follows the state of the client's gRPC connection, which spans every endpoint: ready while
// one of them answers, in transient failure once none does (gRPC keeps reporting the failure
// while it retries, until a connection is ready again). A member that is up but cut off from its
// cluster is not seen here: the watch then breaks for want of a leader, which Watch reports.
func (e *Store) reportReachability(ctx context.Context) {
	conn := e.cli.ActiveConnection()
	if conn == nil {
		return // a client without a connection of its own (clientv3.NewCtxClient)
	}
	var lostAt time.Time // zero while etcd is reachable
	state := conn.GetState()
	for {
		switch state {
		case connectivity.TransientFailure:
			if lostAt.IsZero() {
				lostAt = time.Now()
				e.log.Warn("etcd unreachable; the scripts loaded keep serving", zap.Strings("endpoints", e.cli.Endpoints()))
			}
		case connectivity.Ready:
			if !lostAt.IsZero() {
				e.log.Info("etcd reachable again; the watch resumes", zap.Strings("endpoints", e.cli.Endpoints()),
					zap.Duration("unreachable_for", time.Since(lostAt).Round(time.Millisecond)))
				lostAt = time.Time{}
			}
		case connectivity.Shutdown:
			return // the client was closed
		}
		if !conn.WaitForStateChange(ctx, state) {
			return
		}
		state = conn.GetState()
	}
}
