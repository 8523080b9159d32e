// Command msgscript is Caddy with msgscript built in: `msgscript run --config Caddyfile` and every
// other caddy subcommand (adapt, validate, list-modules, hash-password, ...).
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	// Caddy's standard modules, as in the official caddy binary.
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	// msgscript's modules.
	_ "github.com/msgscript/msgscript"
)

func main() {
	caddycmd.Main()
}
