package luamods

import (
	"time"

	"github.com/vadv/gopher-lua-libs/base64"
	"github.com/vadv/gopher-lua-libs/crypto"
	"github.com/vadv/gopher-lua-libs/filepath"
	"github.com/vadv/gopher-lua-libs/inspect"
	"github.com/vadv/gopher-lua-libs/ioutil"
	"github.com/vadv/gopher-lua-libs/log"
	"github.com/vadv/gopher-lua-libs/runtime"
	"github.com/vadv/gopher-lua-libs/storage"
	"github.com/vadv/gopher-lua-libs/tac"
	"github.com/vadv/gopher-lua-libs/tcp"
	luatime "github.com/vadv/gopher-lua-libs/time"
	lua "github.com/yuin/gopher-lua"
)

// libs are the gopher-lua-libs modules, imported one package each (its `http` package would pull
// in every other). Those left to a sandbox were read for what they reach: json, strings, inspect,
// yaml, crypto and base64 only compute (their encoders and decoders work on Lua values, and the
// sandbox has no file to hand them); time reads the clock and the system's time zone database;
// runtime tells the OS and architecture; filepath and template also reach files, so a sandbox
// gets them without that part.
var libs = []Module{
	{Name: "json", Loader: jsonLoader},
	{Name: "strings", Loader: stringsLoader},
	{Name: "inspect", Loader: inspect.Loader},
	{Name: "filepath", Loader: filepathLoader, SandboxLoader: filepathSandboxLoader},
	{Name: "template", Loader: templateLoader, SandboxLoader: templateSandboxLoader},
	{Name: "yaml", Loader: yamlLoader},
	{Name: "crypto", Loader: crypto.Loader},
	{Name: "base64", Loader: base64.Loader},
	{Name: "runtime", Loader: runtime.Loader},
	{Name: "time", Loader: timeLoader},
	{Name: "ioutil", Loader: ioutilLoader, Sandboxed: true},
	{Name: "cmd", Loader: cmdLoader, Sandboxed: true},
	{Name: "log", Loader: log.Loader, Sandboxed: true},
	{Name: "loglevel", Loader: log.LoadLogLevel, Sandboxed: true},
	{Name: "storage", Loader: storage.Loader, Sandboxed: true},
	{Name: "tac", Loader: tac.Loader, Sandboxed: true},
	{Name: "tcp", Loader: closedAtCallEnd(tcp.Loader, "open"), Sandboxed: true},
}

// ioutilLoader is gopher-lua-libs' ioutil, whose read_file reads at most the call's value bound.
func ioutilLoader(L *lua.LState) int {
	ioutil.Loader(L)
	L.Get(-1).(*lua.LTable).RawSetString("read_file", L.NewFunction(func(L *lua.LState) int {
		text, err := readFile(L, L.CheckString(1), "ioutil.read_file: the file")
		if err != nil {
			return fail(L, err)
		}
		L.Push(lua.LString(text))
		return 1
	}))
	return 1
}

// timeLoader is gopher-lua-libs' time, with a sleep that ends with the call's deadline instead of
// outliving it.
func timeLoader(L *lua.LState) int {
	luatime.Loader(L)
	L.Get(-1).(*lua.LTable).RawSetString("sleep", L.NewFunction(sleep))
	return 1
}

// sleep is time.sleep(seconds), cut short by the call's deadline.
func sleep(L *lua.LState) int {
	d := time.Duration(float64(L.CheckNumber(1)) * float64(time.Second))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-callContext(L).Done():
	}
	return 0
}

// filepathLoader is gopher-lua-libs' filepath, whose match refuses a pattern or a name longer
// than a path may be (PATH_MAX): Go's filepath.Match tries every length for each *, so matching
// "*" .. ("a"):rep(100000) .. "b" took 44 s, in one Go call that the deadline cannot end.
func filepathLoader(L *lua.LState) int {
	filepath.Loader(L)
	wrapGo(L, "match", func(L *lua.LState, base lua.LGFunction) int {
		if len(L.CheckString(1)) > maxPath || len(L.CheckString(2)) > maxPath {
			L.RaiseError("filepath.match: a pattern or name over %d bytes, longer than a path", maxPath)
		}
		return base(L)
	})
	return 1
}

// maxPath is Linux's PATH_MAX.
const maxPath = 4096

// filepathSandboxLoader is filepath in a sandbox: the functions that only work on the path's text
// stay; glob lists files, eval_symlinks reads links, and abs reads the server's working
// directory, so they raise an error.
func filepathSandboxLoader(L *lua.LState) int {
	filepathLoader(L)
	mod := L.Get(-1).(*lua.LTable)
	for _, name := range []string{"glob", "eval_symlinks", "abs"} {
		mod.RawSetString(name, L.NewFunction(notInSandbox("filepath."+name)))
	}
	return 1
}
