package luamods

import (
	"time"

	"github.com/vadv/gopher-lua-libs/base64"
	"github.com/vadv/gopher-lua-libs/crypto"
	"github.com/vadv/gopher-lua-libs/filepath"
	"github.com/vadv/gopher-lua-libs/inspect"
	"github.com/vadv/gopher-lua-libs/ioutil"
	"github.com/vadv/gopher-lua-libs/json"
	"github.com/vadv/gopher-lua-libs/log"
	"github.com/vadv/gopher-lua-libs/runtime"
	"github.com/vadv/gopher-lua-libs/storage"
	"github.com/vadv/gopher-lua-libs/strings"
	"github.com/vadv/gopher-lua-libs/tac"
	"github.com/vadv/gopher-lua-libs/tcp"
	"github.com/vadv/gopher-lua-libs/template"
	luatime "github.com/vadv/gopher-lua-libs/time"
	"github.com/vadv/gopher-lua-libs/yaml"
	lua "github.com/yuin/gopher-lua"
)

// preloadLibs adds the gopher-lua-libs modules, one package each (its `http` package would pull
// in every other), leaving out those with file, process or network access in a sandbox.
func preloadLibs(L *lua.LState, sandbox bool) {
	json.Preload(L)
	strings.Preload(L)
	inspect.Preload(L)
	filepath.Preload(L)
	template.Preload(L)
	yaml.Preload(L)
	crypto.Preload(L)
	base64.Preload(L)
	runtime.Preload(L)
	// time.sleep that ends with the call's deadline instead of outliving it.
	L.PreloadModule("time", func(L *lua.LState) int {
		luatime.Loader(L)
		L.Get(-1).(*lua.LTable).RawSetString("sleep", L.NewFunction(sleep))
		return 1
	})
	if sandbox {
		for _, name := range []string{"ioutil", "cmd", "log", "storage", "tac", "tcp"} {
			L.PreloadModule(name, Unavailable(name))
		}
		return
	}
	ioutil.Preload(L)
	L.PreloadModule("cmd", cmdLoader)
	log.Preload(L)
	storage.Preload(L)
	tac.Preload(L)
	tcp.Preload(L)
}

// Unavailable is the loader a sandbox puts in place of a module it leaves out: require says why.
func Unavailable(name string) lua.LGFunction {
	return func(L *lua.LState) int {
		L.RaiseError("module %s is not available in msgscript's sandbox", name)
		return 0
	}
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
