package luamods

import (
	"os"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// lfsLoader is LuaFileSystem's API, the part scripts use: attributes, dir, mkdir, rmdir, touch,
// currentdir. There is no chdir: the working directory belongs to the whole server.
func lfsLoader(L *lua.LState) int {
	L.Push(L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
		"attributes": lfsAttributes,
		"dir":        lfsDir,
		"mkdir": func(L *lua.LState) int {
			return okOrFail(L, os.Mkdir(L.CheckString(1), 0o755))
		},
		"rmdir": func(L *lua.LState) int {
			path := L.CheckString(1)
			fi, err := os.Stat(path)
			if err == nil && !fi.IsDir() {
				return fail(L, &os.PathError{Op: "rmdir", Path: path, Err: os.ErrInvalid})
			}
			return okOrFail(L, os.Remove(path))
		},
		"touch": func(L *lua.LState) int {
			path := L.CheckString(1)
			now := time.Now()
			atime := time.Unix(int64(L.OptNumber(2, lua.LNumber(now.Unix()))), 0)
			mtime := time.Unix(int64(L.OptNumber(3, lua.LNumber(atime.Unix()))), 0)
			if _, err := os.Stat(path); os.IsNotExist(err) {
				f, err := os.Create(path)
				if err != nil {
					return fail(L, err)
				}
				f.Close()
			}
			return okOrFail(L, os.Chtimes(path, atime, mtime))
		},
		"currentdir": func(L *lua.LState) int {
			dir, err := os.Getwd()
			if err != nil {
				return fail(L, err)
			}
			L.Push(lua.LString(dir))
			return 1
		},
	}))
	return 1
}

func okOrFail(L *lua.LState, err error) int {
	if err != nil {
		return fail(L, err)
	}
	L.Push(lua.LTrue)
	return 1
}

// lfsAttributes returns the table of a path's attributes, or one of them when named.
func lfsAttributes(L *lua.LState) int {
	path := L.CheckString(1)
	fi, err := os.Stat(path)
	if err != nil {
		return fail(L, err)
	}
	mode := "other"
	switch {
	case fi.Mode().IsRegular():
		mode = "file"
	case fi.IsDir():
		mode = "directory"
	case fi.Mode()&os.ModeSymlink != 0:
		mode = "link"
	case fi.Mode()&os.ModeNamedPipe != 0:
		mode = "named pipe"
	case fi.Mode()&os.ModeSocket != 0:
		mode = "socket"
	case fi.Mode()&os.ModeCharDevice != 0:
		mode = "char device"
	case fi.Mode()&os.ModeDevice != 0:
		mode = "block device"
	}
	t := L.CreateTable(0, 5)
	t.RawSetString("mode", lua.LString(mode))
	t.RawSetString("size", lua.LNumber(fi.Size()))
	t.RawSetString("modification", lua.LNumber(fi.ModTime().Unix()))
	t.RawSetString("permissions", lua.LString(fi.Mode().Perm().String()))
	if L.GetTop() >= 2 {
		L.Push(t.RawGetString(L.CheckString(2)))
		return 1
	}
	L.Push(t)
	return 1
}

// lfsDir iterates over the names in a folder, "." and ".." first as in LuaFileSystem.
func lfsDir(L *lua.LState) int {
	path := L.CheckString(1)
	entries, err := os.ReadDir(path)
	if err != nil {
		L.RaiseError("cannot open %s: %v", path, err)
	}
	names := []string{".", ".."}
	for _, e := range entries {
		names = append(names, e.Name())
	}
	i := 0
	L.Push(L.NewFunction(func(L *lua.LState) int {
		if i >= len(names) {
			return 0
		}
		L.Push(lua.LString(names[i]))
		i++
		return 1
	}))
	return 1
}
