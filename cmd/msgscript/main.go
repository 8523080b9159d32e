// Command msgscript is Caddy with msgscript built in: `msgscript run --config Caddyfile` and every
// other caddy subcommand (adapt, validate, list-modules, hash-password, ...), plus `msgscript serve`,
// the original server's command line without a Caddyfile (serve*.go). `msgscript version` prints
// msgscript's own version before Caddy's.
package main

import (
	"fmt"
	"os"

	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	// Caddy's standard modules, as in the official caddy binary.
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	// msgscript's modules.
	_ "github.com/msgscript/msgscript"
	"github.com/msgscript/msgscript/internal/version"
)

func main() {
	// Usage lines and help say `msgscript serve`, `msgscript run`, not `caddy ...`.
	caddy.CustomBinaryName = "msgscript"
	if len(os.Args) == 2 && os.Args[1] == "version" {
		_, full := caddy.Version()
		fmt.Printf("msgscript %s\ncaddy %s\n", version.Get(), full)
		return
	}
	caddycmd.Main()
}
