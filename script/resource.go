package script

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// ResourceName is the name of what msgscript keeps in NATS for one script: its JetStream consumer
// and its kv bucket. It reads as the script ("msgscript_hello_funcs_hello_3f2a9c01") and is unique
// to it: JetStream allows only letters, digits, '_' and '-' there, so the subject's dots become
// '_', and the hash tells apart the scripts that would otherwise share a name (funcs.a_b and
// funcs_a.b).
func ResourceName(subject, name string) string {
	sum := sha256.Sum256([]byte(subject + "\x00" + name))
	return "msgscript_" + clean(name, 48) + "_" + clean(subject, 96) + "_" + hex.EncodeToString(sum[:4])
}

// clean keeps the letters, digits, '_' and '-' of s, at most n of them, and makes the rest '_'.
func clean(s string, n int) string {
	s = s[:min(len(s), n)]
	return strings.Map(func(r rune) rune {
		if r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '_'
	}, s)
}
