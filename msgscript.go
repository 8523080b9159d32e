// Package msgscript runs Lua functions when NATS messages arrive on their subjects, inside Caddy.
//
// Importing this package registers msgscript's Caddy modules and the bundled Lua plugins; it is
// what `xcaddy build --with github.com/msgscript/msgscript` builds in. See README.md.
package msgscript

import (
	// The Caddy app, the HTTP handler, the store modules and their Caddyfile syntax.
	_ "github.com/msgscript/msgscript/caddymodule"

	// The bundled plugins, registered for require.
	_ "github.com/msgscript/msgscript/plugins/db"
	_ "github.com/msgscript/msgscript/plugins/hello"
	_ "github.com/msgscript/msgscript/plugins/scrape"
)
