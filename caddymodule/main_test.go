package caddymodule

import (
	"fmt"
	"os"
	"testing"
)

// TestMain points Caddy's data directory at a temporary folder: the embedded NATS servers the
// tests start keep their JetStream data under it, never in the user's.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "msgscript-caddymodule-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("XDG_DATA_HOME", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
