package luamods

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	lua "github.com/yuin/gopher-lua"

	"github.com/msgscript/msgscript/callctx"
	"github.com/msgscript/msgscript/script"
)

// kvTimeout bounds one kv operation; the call's deadline still applies.
const kvTimeout = 5 * time.Second

// kvModule is the kv module, on NATS JetStream key-value buckets, as NATS Nex's KV host service
// gives its functions:
//
//	value, err = kv.get(key)           -- nil, and no error, when the key is not there
//	revision, err = kv.put(key, value) -- value a string or a number
//	ok, err = kv.delete(key)
//	keys, err = kv.keys()              -- sorted
//	b, err = kv.bucket(name)           -- a bucket shared by name: b.get(key) or b:get(key), ...
//
// Every function works called with a dot or a colon (kv:get(key), b:put(key, value)).
//
// The module's own functions work on the calling script's own bucket, named after it
// (script.ResourceName), so that two scripts never see each other's keys unless they share a
// named bucket. The sandbox's module has no kv.bucket: a sandboxed script reaches its own bucket
// and nothing else. Buckets are created on first use (file storage, one value per key).
func kvModule(env *Env) Module {
	b := newKVBuckets(env)
	return Module{Name: "kv", Loader: b.loader(false), SandboxLoader: b.loader(true)}
}

// loader loads the module; the sandbox's (sandbox set) has a kv.bucket that raises, so that the
// refusal says why rather than "attempt to call a nil value".
func (b *kvBuckets) loader(sandbox bool) lua.LGFunction {
	return func(L *lua.LState) int {
		mod := L.NewTable()
		b.setFuncs(L, mod, ownBucket)
		bucket := b.namedBucket
		if sandbox {
			bucket = func(L *lua.LState, _ int) int {
				L.RaiseError("kv.bucket is not available in msgscript's sandbox: the sandbox allows only the script's own bucket (kv.get, kv.put, kv.delete, kv.keys)")
				return 0
			}
		}
		setMethod(L, mod, "bucket", bucket)
		L.Push(mod)
		return 1
	}
}

// ownBucket is the bucket of the script whose call is running.
func ownBucket(L *lua.LState) (string, error) {
	s, ok := callctx.ScriptOf(callContext(L))
	if !ok {
		return "", errors.New("kv: no script is running, so there is no script's own bucket for kv.get/put/delete/keys (kv.bucket(name) opens a named one)")
	}
	return script.ResourceName(s.Subject, s.Name), nil
}

// namedBucket is kv.bucket(name): a table with the same four functions, on the bucket name.
func (b *kvBuckets) namedBucket(L *lua.LState, arg int) int {
	name, err := kvString(L, arg, "bucket name")
	if err == nil {
		err = checkKVBucket(name)
	}
	if err != nil {
		return fail(L, err)
	}
	t := L.CreateTable(0, 4)
	b.setFuncs(L, t, func(*lua.LState) (string, error) { return name, nil })
	L.Push(t)
	return 1
}

// setFuncs puts get, put, delete and keys into t, each on the bucket bucketOf names at the call.
func (b *kvBuckets) setFuncs(L *lua.LState, t *lua.LTable, bucketOf func(*lua.LState) (string, error)) {
	for name, op := range map[string]func(L *lua.LState, arg int, bucket string) int{
		"get": b.get, "put": b.put, "delete": b.delete, "keys": b.keys,
		"entry": b.entry, "update": b.update, "incr": b.incr,
	} {
		setMethod(L, t, name, func(L *lua.LState, arg int) int {
			bucket, err := bucketOf(L)
			if err != nil {
				return fail(L, err)
			}
			return op(L, arg, bucket)
		})
	}
}

// kvSelf is the key under which each table of the kv module (the module's, each bucket's) holds
// a mark of its own, for its functions to tell a call with a colon: scripts run by the engine
// hold the module's table through a proxy (engine/shield.go), its functions wrapped
// (engine/valueguard.go), so neither the table's identity nor the function's says that the first
// argument is the table itself; what it reads under kvSelf does. A userdata, so that no script
// names the key by chance.
var kvSelf = &lua.LUserData{}

// setMethod puts fn into t as name, working called with a dot or a colon: fn gets the index of
// its first argument, 2 when the first is t itself.
func setMethod(L *lua.LState, t *lua.LTable, name string, fn func(L *lua.LState, arg int) int) {
	mark, ok := t.RawGet(kvSelf).(*lua.LUserData)
	if !ok {
		mark = &lua.LUserData{}
		t.RawSet(kvSelf, mark)
	}
	t.RawSetString(name, L.NewFunction(func(L *lua.LState) int {
		if self, ok := L.Get(1).(*lua.LTable); ok && (self == t || L.GetTable(self, kvSelf) == mark) {
			return fn(L, 2)
		}
		return fn(L, 1)
	}))
}

func (b *kvBuckets) get(L *lua.LState, arg int, bucket string) int {
	return b.read(L, arg, bucket, "get", func(e jetstream.KeyValueEntry) lua.LValue { return lua.LString(e.Value()) })
}

// read is a read of kv.get and kv.entry: the entry of the key at arg, pushed as value makes it,
// nil when the key does not exist.
func (b *kvBuckets) read(L *lua.LState, arg int, bucket, op string, value func(jetstream.KeyValueEntry) lua.LValue) int {
	key, err := kvKey(L, arg)
	if err != nil {
		return fail(L, err)
	}
	ctx, cancel := contextWithTimeout(L, kvTimeout)
	defer cancel()
	var e jetstream.KeyValueEntry
	err = b.do(ctx, bucket, func(kv jetstream.KeyValue) (err error) {
		e, err = kv.Get(ctx, key)
		return err
	})
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		L.Push(lua.LNil)
		return 1
	}
	if err == nil {
		err = checkKVValue(ctx, nil, len(e.Value()))
	}
	if err != nil {
		return fail(L, kvErr(ctx.Err(), op+" "+quote(key), err))
	}
	L.Push(value(e))
	return 1
}

func (b *kvBuckets) put(L *lua.LState, arg int, bucket string) int {
	return b.write(L, arg, bucket, "put", func(ctx context.Context, kv jetstream.KeyValue, key, value string) (uint64, error) {
		return kv.PutString(ctx, key, value)
	})
}

// write is a write of kv.put and kv.update: the key and value at arg, checked, written by w,
// and the key's new revision pushed.
func (b *kvBuckets) write(L *lua.LState, arg int, bucket, op string, w func(ctx context.Context, kv jetstream.KeyValue, key, value string) (uint64, error)) int {
	key, err := kvKey(L, arg)
	if err != nil {
		return fail(L, err)
	}
	value, err := kvString(L, arg+1, "value")
	if err != nil {
		return fail(L, err)
	}
	ctx, cancel := contextWithTimeout(L, kvTimeout)
	defer cancel()
	if err := checkKVValue(ctx, b.env.nats(), len(value)); err != nil {
		return fail(L, err)
	}
	var rev uint64
	err = b.do(ctx, bucket, func(kv jetstream.KeyValue) (err error) {
		rev, err = w(ctx, kv, key, value)
		return err
	})
	if err != nil {
		return fail(L, putErr(ctx, op, key, bucket, err))
	}
	L.Push(lua.LNumber(rev))
	return 1
}

func (b *kvBuckets) delete(L *lua.LState, arg int, bucket string) int {
	key, err := kvKey(L, arg)
	if err != nil {
		return fail(L, err)
	}
	ctx, cancel := contextWithTimeout(L, kvTimeout)
	defer cancel()
	err = b.do(ctx, bucket, func(kv jetstream.KeyValue) error { return kv.Delete(ctx, key) })
	if err != nil {
		return fail(L, kvErr(ctx.Err(), "delete "+quote(key), err))
	}
	L.Push(lua.LTrue)
	return 1
}

func (b *kvBuckets) keys(L *lua.LState, _ int, bucket string) int {
	ctx, cancel := contextWithTimeout(L, kvTimeout)
	defer cancel()
	var keys []string
	err := b.do(ctx, bucket, func(kv jetstream.KeyValue) (err error) {
		keys, err = listKeys(ctx, kv, callctx.ValueBound(ctx))
		return err
	})
	if err != nil {
		return fail(L, kvErr(ctx.Err(), "keys", err))
	}
	t := L.CreateTable(len(keys), 0)
	for _, k := range keys {
		t.Append(lua.LString(k))
	}
	L.Push(t)
	return 1
}

// kvKey reads and checks the key argument.
func kvKey(L *lua.LState, n int) (string, error) {
	key, err := kvString(L, n, "key")
	if err == nil {
		err = checkKVKey(key)
	}
	return key, err
}

// kvErr is the error of op: as it is when the module made it (it says "kv: " already), else
// prefixed with the operation, and saying so when the operation's context (ctxErr: the call's
// deadline, or kvTimeout) ended it.
func kvErr(ctxErr error, op string, err error) error {
	switch {
	case strings.HasPrefix(err.Error(), "kv: "):
		return err
	case errors.Is(ctxErr, context.DeadlineExceeded):
		return fmt.Errorf("kv: %s: no answer before the call's deadline (or %s): %v", op, kvTimeout, err)
	case ctxErr != nil:
		return fmt.Errorf("kv: %s: the call ended: %v", op, err)
	}
	return fmt.Errorf("kv: %s: %v", op, err)
}

func quote(key string) string { return fmt.Sprintf("%q", key) }
