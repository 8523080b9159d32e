package luaenv

// Policy is what scripts may reach outside their Lua state. The zero value is msgscript's default,
// as in the original: every module, any host, the whole etcd keyspace, the whole environment,
// and require reading no files. The Caddy app embeds it, so these are also the app's JSON options.
type Policy struct {
	// Sandbox takes file, process, environment and network access away from scripts: no io,
	// dofile, loadfile, os.execute, os.remove, os.rename, os.tmpname, os.setlocale or
	// package.loadlib; require reads Lua files from LuaPath alone, whatever a script sets
	// package.path to; os.getenv reads only the variables in Env; no module that reaches files,
	// processes or the network (cmd, ioutil, lfs, log, storage, tac, tcp, the db plugins);
	// filepath without glob, eval_symlinks and abs, template without render_file and partials;
	// etcd under EtcdPrefix (by default DefaultSandboxEtcdPrefix); kv without kv.bucket, on the
	// script's own bucket alone; and http only to HTTPHosts, checked on every redirect and on the
	// address each connection is made to (see HTTPHosts and DeniedAddrs). Default off, as in the
	// original msgscript.
	Sandbox bool `json:"sandbox,omitempty"`
	// HTTPHosts are the hosts the http module may reach in the sandbox: "host" (any port) or
	// "host:port" ("[::1]:8080" for an IPv6 address). Every URL is checked, the first and each
	// redirect, and so is every address connected to: a name may only resolve to public
	// addresses (not loopback, private, link-local, CGNAT, unspecified, multicast or reserved
	// ones; see publicAddr), so that neither a redirect nor DNS can lead a script to the
	// server's own services or its network. To reach such an address, list it itself: an IP
	// literal allows exactly that address, and "localhost" the loopback addresses (never 0.0.0.0
	// or ::, which reach the local host under another name).
	HTTPHosts []string `json:"http_hosts,omitempty"`
	// DeniedAddrs are addresses the sandbox's http module never connects to, even when HTTPHosts
	// lists them or a name resolves to them: "host:port", or "host" for every port; the host may
	// be an IP, "localhost" (every loopback address), a name (resolved at each connection), or
	// empty or unspecified (":2019", "0.0.0.0:2019": that port on every address, as a listener on
	// every interface is reached through all of them). A Caddy network address also works:
	// "tcp/" is dropped, and "unix/..." ignored (the http module dials TCP only). The Caddy app
	// puts its admin address here; DefaultDeniedAddr, Caddy's default admin address, is always
	// among them. Ignored outside the sandbox.
	DeniedAddrs []string `json:"denied_addrs,omitempty"`
	// Env are the environment variables os.getenv may read in the sandbox (exact names, e.g.
	// "TZ"); any other reads nil, as an unset variable does. Default: none, since the server's
	// environment holds its secrets (ETCD_PASSWORD and the like). Outside the sandbox os.getenv
	// reads every variable, as in the original.
	Env []string `json:"env,omitempty"`
	// EtcdPrefix confines the etcd module to the keys under it, transparently: a script's keys
	// are relative to it (etcd.put("a", v) writes EtcdPrefix.."a", and etcd.get("", true) lists
	// the prefix and nothing else), and no key outside it can be read, written or deleted. It is
	// taken as it is, so end it with "/" to keep it apart from its neighbours. Default: none
	// outside the sandbox, so the original's scripts work unchanged; DefaultSandboxEtcdPrefix in
	// the sandbox, which a script cannot leave (see EffectiveEtcdPrefix).
	EtcdPrefix string `json:"etcd_prefix,omitempty"`
	// LuaPath is package.path, where require may read Lua files. Default: empty, so require
	// never reads files (the working directory included).
	LuaPath string `json:"lua_path,omitempty"`
	// PluginDir holds Go plugins (*.so exporting Preload(*lua.LState)), loaded at start, as the
	// original's --plugin option.
	PluginDir string `json:"plugin_dir,omitempty"`
	// KVMaxBytes is the most a kv bucket msgscript creates may hold, in bytes (its JetStream
	// stream's max_bytes): past it a put that would add bytes fails and says the bucket is full,
	// while overwrites that do not grow it and deletes still work. It bounds what one script can
	// write to the NATS server's disk. Default (0): luamods.DefaultKVMaxBytes, 64 MiB; -1: no
	// limit. A bucket that already exists keeps its own.
	KVMaxBytes int64 `json:"kv_max_bytes,omitempty"`
}

// DefaultSandboxEtcdPrefix is where the etcd module of a sandbox works when EtcdPrefix is not
// set: beside, not under, the etcd store's keys (msgscript/scripts/, msgscript/libs/ with the
// default store prefix), so that a sandboxed script can neither read the other scripts nor
// write one of its own.
const DefaultSandboxEtcdPrefix = "msgscript-data/"

// DefaultDeniedAddr is Caddy's default admin address: the sandbox never connects to it, since
// the admin API can change the whole configuration, the sandbox included.
const DefaultDeniedAddr = "localhost:2019"

// EffectiveEtcdPrefix is the prefix the etcd module works under: EtcdPrefix, else
// DefaultSandboxEtcdPrefix in the sandbox, else "" (the whole keyspace). The Caddy app can check
// it against its etcd store's prefix: a sandbox whose prefix overlaps the scripts' keys could
// rewrite them.
func (p Policy) EffectiveEtcdPrefix() string {
	if p.EtcdPrefix == "" && p.Sandbox {
		return DefaultSandboxEtcdPrefix
	}
	return p.EtcdPrefix
}
