package store

import (
	"crypto/sha256"
	"encoding/hex"
)

// Version names one version of a script or library by its text: the first 12 hex digits of the
// SHA-256 of the stored text, headers included. The engine names the version serving with it, and
// msgscriptcli's history, so that `msgscriptcli status` and `msgscriptcli history` show the same
// id for the same text.
func Version(text []byte) string {
	sum := sha256.Sum256(text)
	return hex.EncodeToString(sum[:6])
}
