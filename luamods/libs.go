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

// libs are the gopher-lua-libs modules, imported one package each (its `http` package would pull
// in every other).
var libs = []Module{
	{Name: "json", Loader: json.Loader},
	{Name: "strings", Loader: strings.Loader},
	{Name: "inspect", Loader: inspect.Loader},
	{Name: "filepath", Loader: filepath.Loader},
	{Name: "template", Loader: template.Loader},
	{Name: "yaml", Loader: yaml.Loader},
	{Name: "crypto", Loader: crypto.Loader},
	{Name: "base64", Loader: base64.Loader},
	{Name: "runtime", Loader: runtime.Loader},
	{Name: "time", Loader: timeLoader},
	{Name: "ioutil", Loader: ioutil.Loader, Sandboxed: true},
	{Name: "cmd", Loader: cmdLoader, Sandboxed: true},
	{Name: "log", Loader: log.Loader, Sandboxed: true},
	{Name: "loglevel", Loader: log.LoadLogLevel, Sandboxed: true},
	{Name: "storage", Loader: storage.Loader, Sandboxed: true},
	{Name: "tac", Loader: tac.Loader, Sandboxed: true},
	{Name: "tcp", Loader: tcp.Loader, Sandboxed: true},
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
