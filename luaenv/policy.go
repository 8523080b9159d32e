package luaenv

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Policy is what scripts may reach outside their Lua state. The zero value is msgscript's default,
// as in the original: every module, any host, and require reading no files. The Caddy app embeds
// it, so these are also the app's JSON options.
type Policy struct {
	// Sandbox takes file, process and network access away from scripts: no io, dofile, loadfile,
	// os.execute, os.remove, os.rename, os.tmpname, os.setlocale or package.loadlib; no module
	// that reaches files, processes or the network (cmd, ioutil, lfs, log, storage, tac, tcp, the
	// db plugins); and http only to HTTPHosts. Default off, as in the original msgscript.
	Sandbox bool `json:"sandbox,omitempty"`
	// HTTPHosts are the hosts the http module may reach in the sandbox.
	HTTPHosts []string `json:"http_hosts,omitempty"`
	// LuaPath is package.path, where require may read Lua files. Default: empty, so require
	// never reads files (the working directory included).
	LuaPath string `json:"lua_path,omitempty"`
	// PluginDir holds Go plugins (*.so exporting Preload(*lua.LState)), loaded at start, as the
	// original's --plugin option.
	PluginDir string `json:"plugin_dir,omitempty"`
}

// allowURL is the check of the http module's URLs: none outside the sandbox, HTTPHosts in it.
func (p Policy) allowURL() func(*url.URL) error {
	if !p.Sandbox {
		return nil
	}
	return func(u *url.URL) error {
		host := u.Hostname()
		for _, h := range p.HTTPHosts {
			if strings.EqualFold(h, host) || strings.EqualFold(h, u.Host) {
				return nil
			}
		}
		if len(p.HTTPHosts) == 0 {
			return errors.New("http: the sandbox allows no host (set http_hosts)")
		}
		return fmt.Errorf("http: host %q is not in the sandbox's http_hosts", host)
	}
}
