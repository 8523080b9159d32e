package luamods

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

var (
	errKVNoNATS       = errors.New("kv: no NATS connection")
	errKVJetStreamOff = errors.New("kv: the NATS server has JetStream off (start nats-server with -js, or, with msgscript's embedded NATS server, do not set jetstream_dir off)")
	errKVAccountOff   = errors.New("kv: JetStream is not enabled for msgscript's NATS account (give the account JetStream in the server's config)")
)

// kvBuckets opens the kv module's buckets and keeps them open, shared by every Lua state of an
// Env: opening one costs a JetStream API round trip (two when it must be created), which a call
// should not pay each time. A handle belongs to its connection, and the app replaces a connection
// NATS closed for good, so handles are kept per connection; those of a closed one are dropped.
type kvBuckets struct {
	env  *Env
	mu   sync.Mutex
	open map[kvBucketKey]jetstream.KeyValue
}

type kvBucketKey struct {
	nc     *nats.Conn
	bucket string
}

func newKVBuckets(env *Env) *kvBuckets {
	return &kvBuckets{env: env, open: map[kvBucketKey]jetstream.KeyValue{}}
}

// do runs op on bucket, opened (and created) first if need be. A bucket that went away after it
// was opened (an operator ran `nats kv del`) is opened again, once: it is created anew, as on
// first use, instead of failing every call until the server restarts.
func (b *kvBuckets) do(ctx context.Context, bucket string, op func(jetstream.KeyValue) error) error {
	for try := 0; ; try++ {
		key, kv, err := b.bucket(ctx, bucket)
		if err != nil {
			return err
		}
		err = op(kv)
		if try == 0 && bucketGone(err) && ctx.Err() == nil {
			b.forget(key)
			continue
		}
		return err
	}
}

// bucket returns the handle of bucket on the connection of the moment.
func (b *kvBuckets) bucket(ctx context.Context, bucket string) (kvBucketKey, jetstream.KeyValue, error) {
	nc := b.env.nats()
	if nc == nil {
		return kvBucketKey{}, nil, errKVNoNATS
	}
	key := kvBucketKey{nc, bucket}
	b.mu.Lock()
	kv := b.open[key]
	b.mu.Unlock()
	if kv != nil {
		return key, kv, nil
	}
	// Opened outside the lock, so that one slow open does not hold up the calls on other
	// buckets; two calls opening the same bucket at once both succeed, and one handle is kept.
	kv, err := openBucket(ctx, nc, bucket, b.env.kvMaxBytes())
	if err != nil {
		return key, nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for k := range b.open {
		if k.nc.IsClosed() {
			delete(b.open, k)
		}
	}
	b.open[key] = kv
	return key, kv, nil
}

func (b *kvBuckets) forget(key kvBucketKey) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.open, key)
}

// openBucket opens bucket, creating it when it does not exist yet, with maxBytes (0: no limit).
// An existing bucket is opened as it is, never updated: an operator may have given it more
// history, a TTL or more room with the nats CLI.
// Looking first costs one round trip on the common path (the bucket exists); creating it costs
// two more, once.
func openBucket(ctx context.Context, nc *nats.Conn, bucket string, maxBytes int64) (jetstream.KeyValue, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	kv, err := js.KeyValue(ctx, bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: bucket, Storage: jetstream.FileStorage, History: 1, MaxBytes: maxBytes})
		if errors.Is(err, jetstream.ErrBucketExists) {
			// Another call, or another msgscript on the same NATS, created it meanwhile.
			kv, err = js.KeyValue(ctx, bucket)
		}
	}
	switch {
	case err == nil:
		return kv, nil
	case errors.Is(err, jetstream.ErrJetStreamNotEnabled), errors.Is(err, nats.ErrNoResponders):
		// No responders on the JetStream API: nothing serves it, the server has JetStream off.
		return nil, errKVJetStreamOff
	case errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount):
		return nil, errKVAccountOff
	}
	return nil, fmt.Errorf("opening bucket %s: %w", bucket, err)
}

// kvMaxBytes is the max_bytes of the buckets env's kv module creates: 0 for no limit, as
// JetStream reads it.
func (env *Env) kvMaxBytes() int64 {
	switch {
	case env.KVMaxBytes < 0:
		return 0
	case env.KVMaxBytes == 0:
		return DefaultKVMaxBytes
	}
	return env.KVMaxBytes
}

// bucketFull reports whether err is JetStream refusing a message because the bucket's stream is
// at its max_bytes.
func bucketFull(err error) bool {
	var api *jetstream.APIError
	return errors.As(err, &api) && api.ErrorCode == jsErrCodeMaxBytes
}

// jsErrCodeMaxBytes is JetStream's error code for "maximum bytes exceeded", which nats.go's
// jetstream package has no constant for.
const jsErrCodeMaxBytes = 10077

// bucketGone reports whether err says the bucket's stream is no longer there. (Listing keys goes
// through nats.go's older JetStream API, whose errors are its own.)
func bucketGone(err error) bool {
	return errors.Is(err, jetstream.ErrStreamNotFound) || errors.Is(err, jetstream.ErrBucketNotFound) ||
		errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrNoResponders) ||
		errors.Is(err, nats.ErrStreamNotFound)
}
