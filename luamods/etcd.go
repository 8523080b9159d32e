package luamods

import (
	"errors"
	"time"

	lua "github.com/yuin/gopher-lua"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/namespace"
)

// etcdTimeout bounds one etcd operation; the call's deadline still applies.
const etcdTimeout = 5 * time.Second

var errNoEtcd = errors.New("etcd: no etcd client (configure the etcd store, or etcd_endpoints in the msgscript app)")

// etcdLoader is the original msgscript's etcd module, on the app's one client, under
// env.EtcdPrefix when set (keys are then relative to it):
//
//	kvs, err = etcd.get(key[, prefix])   -- a list of {getKey(), getValue()}
//	err = etcd.put(key, value)
//	err = etcd.delete(key)
func etcdLoader(env *Env) lua.LGFunction {
	// kv is what every call goes through: the client's KV, wrapped once in the namespace. The
	// namespace prefixes every key and range, and strips the prefix off the keys it returns, so
	// etcd.get("", true) lists the prefix and nothing beyond it.
	var kv clientv3.KV
	if env.Etcd != nil {
		kv = env.Etcd.KV
		if env.EtcdPrefix != "" {
			kv = namespace.NewKV(kv, env.EtcdPrefix)
		}
	}
	return func(L *lua.LState) int {
		mod := L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
			"get": func(L *lua.LState) int {
				key := L.CheckString(1)
				var opts []clientv3.OpOption
				if L.OptBool(2, false) {
					opts = append(opts, clientv3.WithPrefix())
				}
				if kv == nil {
					return fail(L, errNoEtcd)
				}
				ctx, cancel := contextWithTimeout(L, etcdTimeout)
				defer cancel()
				resp, err := kv.Get(ctx, key, opts...)
				if err != nil {
					return fail(L, errors.New("etcd: "+err.Error()))
				}
				list := L.CreateTable(len(resp.Kvs), 0)
				for _, item := range resp.Kvs {
					list.Append(keyValue(L, string(item.Key), string(item.Value)))
				}
				L.Push(list)
				return 1
			},
			"put": func(L *lua.LState) int {
				key, value := L.CheckString(1), L.CheckString(2)
				return etcdErr(L, kv, func(kv clientv3.KV) error {
					ctx, cancel := contextWithTimeout(L, etcdTimeout)
					defer cancel()
					_, err := kv.Put(ctx, key, value)
					return err
				})
			},
			"delete": func(L *lua.LState) int {
				key := L.CheckString(1)
				return etcdErr(L, kv, func(kv clientv3.KV) error {
					ctx, cancel := contextWithTimeout(L, etcdTimeout)
					defer cancel()
					_, err := kv.Delete(ctx, key)
					return err
				})
			},
		})
		L.Push(mod)
		return 1
	}
}

// keyValue is one result of etcd.get. getKey and getValue work called with a dot or a colon, as
// the original's Go objects did.
func keyValue(L *lua.LState, key, value string) *lua.LTable {
	t := L.CreateTable(0, 4)
	t.RawSetString("key", lua.LString(key))
	t.RawSetString("value", lua.LString(value))
	t.RawSetString("getKey", L.NewFunction(func(L *lua.LState) int { L.Push(lua.LString(key)); return 1 }))
	t.RawSetString("getValue", L.NewFunction(func(L *lua.LState) int { L.Push(lua.LString(value)); return 1 }))
	return t
}

// etcdErr runs op and returns its error the original's way: nil, or the message.
func etcdErr(L *lua.LState, kv clientv3.KV, op func(clientv3.KV) error) int {
	if kv == nil {
		L.Push(lua.LString(errNoEtcd.Error()))
		return 1
	}
	if err := op(kv); err != nil {
		L.Push(lua.LString("etcd: " + err.Error()))
		return 1
	}
	L.Push(lua.LNil)
	return 1
}
