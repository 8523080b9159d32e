// Package plugins is msgscript's compile-time plugin registry: a plugin is a Go package whose init
// calls Register with a module name and its loader, and building Caddy with
// `xcaddy build --with <the plugin's module>` is all it takes to offer it to every script through
// require. The bundled plugins (hello, scrape, db) register themselves the same way.
//
// The original msgscript's Go .so plugins, with a Preload(*lua.LState) symbol, still load through
// LoadDir.
package plugins

import (
	"fmt"
	"sort"
	"sync"

	"github.com/msgscript/msgscript/luamods"
)

// Plugin is one registered module: its require name, its loader, and whether it reaches files,
// processes or the network (Sandboxed: a sandbox leaves it out).
type Plugin = luamods.Module

var (
	mu       sync.RWMutex
	registry = map[string]Plugin{}
)

// Register adds a plugin; call it from an init function. Registering a name twice panics, as
// two plugins would fight over one require name.
func Register(p Plugin) {
	mu.Lock()
	defer mu.Unlock()
	if p.Name == "" || p.Loader == nil {
		panic("plugins: Register needs a name and a loader")
	}
	if _, dup := registry[p.Name]; dup {
		panic(fmt.Sprintf("plugins: %q registered twice", p.Name))
	}
	registry[p.Name] = p
}

// Registered returns every registered plugin, sorted by name.
func Registered() []Plugin {
	mu.RLock()
	defer mu.RUnlock()
	list := make([]Plugin, 0, len(registry))
	for _, p := range registry {
		list = append(list, p)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	return list
}
