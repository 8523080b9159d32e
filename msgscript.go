// Package msgscript runs Lua functions when NATS messages arrive on their subjects, inside Caddy.
//
// Importing this package registers msgscript's Caddy modules; it is what
// `xcaddy build --with github.com/msgscript/msgscript` builds in. See README.md.
package msgscript

import (
	// The Caddy app, its store modules and their Caddyfile syntax.
	_ "github.com/msgscript/msgscript/caddymodule"
)
