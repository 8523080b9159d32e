package luamods

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/nats-io/nats.go/jetstream"
)

// listKeys is jetstream's Keys, but stopped by ctx: Keys reads its watcher until the bucket's
// keys have all come, and nothing stops it when the call's deadline ends first (a big bucket, a
// slow server). The keys are counted as they come, and a listing bigger than bound (the call's
// value bound) is refused rather than held.
func listKeys(ctx context.Context, kv jetstream.KeyValue, bound int) ([]string, error) {
	w, err := kv.WatchAll(ctx, jetstream.IgnoreDeletes(), jetstream.MetaOnly())
	if err != nil {
		return nil, err
	}
	defer stopWatcher(w)
	keys := []string{}
	size := 0
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				// The subscription closed under the listing: the connection did.
				return nil, errors.New("the key listing was cut short")
			}
			if e == nil { // every key that was there when the listing began has come
				slices.Sort(keys)
				return slices.Compact(keys), nil
			}
			if size += len(e.Key()); size > bound {
				return nil, fmt.Errorf("the keys are over the call's bound of %d bytes", bound)
			}
			keys = append(keys, e.Key())
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// stopWatcher stops w and then reads what it still sends until it closes: jetstream's
// subscription callback blocks on a full Updates channel, and a listing given up half way (over
// the bound, or at the deadline) must not leave it blocked for good. (The server's flow control
// keeps it from getting that far ahead in the tests; the read costs little.)
func stopWatcher(w jetstream.KeyWatcher) {
	_ = w.Stop()
	go func() {
		for range w.Updates() {
		}
	}()
}
