package plugins

import (
	"fmt"
	"os"
	"path/filepath"
	"plugin"
	"sort"

	lua "github.com/yuin/gopher-lua"
)

// LoadDir opens every Go plugin (*.so) in dir, as the original msgscript's --plugin option did, and
// returns their Preload functions. Each must export `func Preload(L *lua.LState)`. A plugin only
// loads into a binary built with the same Go version, flags and dependency versions. An empty
// dir loads nothing.
func LoadDir(dir string) ([]func(*lua.LState), error) {
	if dir == "" {
		return nil, nil
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.so"))
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("plugin_dir: %v", err)
	}
	sort.Strings(files)
	var preloads []func(*lua.LState)
	for _, file := range files {
		p, err := plugin.Open(file)
		if err != nil {
			return nil, fmt.Errorf("plugin %s: %v", file, err)
		}
		sym, err := p.Lookup("Preload")
		if err != nil {
			return nil, fmt.Errorf("plugin %s: %v", file, err)
		}
		preload, ok := sym.(func(*lua.LState))
		if !ok {
			return nil, fmt.Errorf("plugin %s: Preload is a %T, want func(*lua.LState)", file, sym)
		}
		preloads = append(preloads, preload)
	}
	return preloads, nil
}
