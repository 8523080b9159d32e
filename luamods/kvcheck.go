package luamods

import (
	"context"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go"
	lua "github.com/yuin/gopher-lua"

	"github.com/msgscript/msgscript/callctx"
)

// The kv module checks keys, bucket names and values itself, before anything reaches NATS, so
// that a script gets an error naming its mistake instead of jetstream's bare "invalid key". It
// matters most for length: a key becomes part of a subject, and a NATS server closes for good a
// connection that sends a protocol line over its limit (4 KiB by default), the app's connection,
// which every script shares.
const (
	// maxKVKey bounds a key: "$JS.API.DIRECT.GET.KV_<bucket>.$KV.<bucket>.<key>", the longest
	// line a key goes into, then stays well under the server's limit.
	maxKVKey = 1024
	// maxKVBucket bounds a bucket name: JetStream's 255 for the stream name, KV_<bucket>.
	maxKVBucket = 255 - len("KV_")
)

// checkKVKey refuses what NATS KV refuses in a key (see jetstream's keyValid): characters other
// than letters, digits and -/_=., a '.' first or last, or two in a row (an empty subject token).
func checkKVKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("kv: empty key")
	case len(key) > maxKVKey:
		return fmt.Errorf("kv: key of %d bytes is too long (%d at most)", len(key), maxKVKey)
	case key[0] == '.' || key[len(key)-1] == '.':
		return fmt.Errorf("kv: key %q starts or ends with '.', which NATS KV does not allow", key)
	case strings.Contains(key, ".."):
		return fmt.Errorf("kv: key %q has '..' (an empty token), which NATS KV does not allow", key)
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; !isKVKeyByte(c) {
			return fmt.Errorf("kv: key %q contains %q: NATS KV keys are letters, digits and - / _ = . only", key, string(rune(c)))
		}
	}
	return nil
}

func isKVKeyByte(c byte) bool {
	return isNameByte(c) || c == '/' || c == '=' || c == '.'
}

// checkKVBucket refuses what JetStream refuses in a bucket name.
func checkKVBucket(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("kv: empty bucket name")
	case len(name) > maxKVBucket:
		return fmt.Errorf("kv: bucket name of %d bytes is too long (%d at most)", len(name), maxKVBucket)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !isNameByte(c) {
			return fmt.Errorf("kv: bucket name %q contains %q: bucket names are letters, digits, '_' and '-' only", name, string(rune(c)))
		}
	}
	if strings.HasPrefix(name, reservedKVPrefix) {
		// The scripts' own buckets and the cron election: another script opening one would read
		// or overwrite what is not its own, or make the cron bucket without its TTL.
		return fmt.Errorf("kv: bucket names starting with %q are msgscript's own (each script's bucket, the cron election); name yours otherwise", reservedKVPrefix)
	}
	return nil
}

// reservedKVPrefix starts the names of the buckets msgscript keeps itself.
const reservedKVPrefix = "msgscript_"

// isNameByte is a letter, a digit, '_' or '-': all a bucket name may have.
func isNameByte(c byte) bool {
	return c == '_' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// checkKVValue refuses a value the call may not hold (the engine's value bound, a quarter of
// memory_limit) or NATS may not carry (the server's max_payload: the publish would fail anyway,
// with a less telling error).
func checkKVValue(ctx context.Context, nc *nats.Conn, n int) error {
	if bound := callctx.ValueBound(ctx); n > bound {
		return fmt.Errorf("kv: value of %d bytes is over the call's bound of %d bytes", n, bound)
	}
	if nc != nil {
		if max := nc.MaxPayload(); max > 0 && int64(n) > max {
			return fmt.Errorf("kv: value of %d bytes exceeds NATS max_payload %d", n, max)
		}
	}
	return nil
}

// kvString reads argument n as a key or value: a string, or a number turned into one (as Lua's
// own string functions take numbers). Anything else is the script's mistake, said as an error.
func kvString(L *lua.LState, n int, what string) (string, error) {
	switch v := L.Get(n).(type) {
	case lua.LString:
		return string(v), nil
	case lua.LNumber:
		return v.String(), nil
	default:
		return "", fmt.Errorf("kv: %s must be a string, not %s", what, v.Type())
	}
}
