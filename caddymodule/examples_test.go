package caddymodule

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
)

// The repository's example Caddyfiles adapt without error or warning, and use what they show.
func TestExampleCaddyfilesAdapt(t *testing.T) {
	files, err := filepath.Glob("../Caddyfile*.example")
	if err != nil || len(files) < 2 {
		t.Fatalf("example Caddyfiles: %v %v", files, err)
	}
	files = append(files, "../docs/webhook/Caddyfile")
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			out, warnings, err := caddyconfig.GetAdapter("caddyfile").Adapt(raw, map[string]any{"filename": file})
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range warnings {
				t.Errorf("warning: %s", w)
			}
			for _, want := range []string{`"msgscript":{`, `"handler":"msgscript"`} {
				if !strings.Contains(string(out), want) {
					t.Errorf("%s adapts without %s:\n%s", file, want, out)
				}
			}
		})
	}
}
