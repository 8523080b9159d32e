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
	"sync"

	lua "github.com/yuin/gopher-lua"

	"github.com/msgscript/msgscript/luamods"
)

// Plugin is one registered module.
type Plugin struct {
	Name   string
	Loader lua.LGFunction
	// Sandboxed marks a plugin that reaches files, processes or the network: a sandbox leaves it
	// out.
	Sandboxed bool
}

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

// Preload makes every registered plugin available to require in L; in a sandbox, requiring one
// marked Sandboxed raises an error that says so.
func Preload(L *lua.LState, sandbox bool) {
	mu.RLock()
	defer mu.RUnlock()
	for name, p := range registry {
		if sandbox && p.Sandboxed {
			L.PreloadModule(name, luamods.Unavailable(name))
			continue
		}
		L.PreloadModule(name, p.Loader)
	}
}
