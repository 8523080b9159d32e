package caddymodule

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"

	"github.com/msgscript/msgscript/internal/testnet"
)

// caddy validate (caddy.Validate) refuses a folder store whose folder is not there, rather than
// passing a config that fails when it runs.
func TestValidateRefusesAMissingStoreDir(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	cfg, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(fmt.Sprintf("{\n\tadmin off\n\tmsgscript {\n\t\tembedded_nats %s\n\t\tstore dir %s\n\t}\n}\n",
		testnet.FreeAddr(t), missing)), nil)
	if err != nil {
		t.Fatal(err)
	}
	var c caddy.Config
	if err := json.Unmarshal(cfg, &c); err != nil {
		t.Fatal(err)
	}
	if err := caddy.Validate(&c); err == nil || !strings.Contains(err.Error(), "store dir") || !strings.Contains(err.Error(), missing) {
		t.Fatalf("validate: %v", err)
	}
}
