// Package testfiles writes the scripts, libraries and Caddyfiles of tests.
package testfiles

import (
	"os"
	"path/filepath"
	"testing"
)

// Write writes each file (a path relative to dir, with its folders made as needed) with its text.
func Write(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, text := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// Dir writes the files into a new temporary folder, removed when the test ends, and returns it.
func Dir(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	Write(t, dir, files)
	return dir
}
