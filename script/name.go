package script

import (
	"path/filepath"
	"strings"
)

// FileName is the name a file gives the script or library it holds when no `--* name:` header
// names it: its base name without the .lua extension (libs/web.lua is "web").
func FileName(path string) string {
	return strings.TrimSuffix(filepath.Base(path), ".lua")
}

// NameFor is the name of the script or library read from path: its `--* name:` header, else its
// file's name.
func (h Headers) NameFor(path string) string {
	if h.Name != "" {
		return h.Name
	}
	return FileName(path)
}
