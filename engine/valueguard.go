package engine

import (
	"errors"
	"fmt"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// maxTableDepth bounds the nesting of a table given to a module's Go function.
const maxTableDepth = 100

// Go code that converts a Lua table (json.encode, yaml.encode, template's render, a database
// query's parameters) walks it recursively and builds its result in one piece: given a table
// that contains itself, gopher-lua-libs' template overflowed the Go stack, which kills the
// process; given forty references to one 100 MiB string, json.encode asked for 1.7 GB at once.
// So every Go function of a module, and every method of its objects, checks the tables it is
// given first: no cycle, at most maxTableDepth deep, and a size under the memory guard's bound
// for one value, counting each string as the six bytes per byte JSON's escapes may make of it;
// and what it may make of its arguments (three times that size and its strings': a copy of the
// input, a growing buffer, the result) must be admitted under the memory limit (see
// memoryGuard.admit): 32 calls each encoding 59 MB at once took 2.4 GB.
//
// guardModule puts the check in front of the Go functions of a module just loaded (mod), of the
// metatables of the object types it registered, and of the objects its functions return, when
// first returned; seen remembers the tables done.
func guardModule(L *lua.LState, mod *lua.LTable, seen map[*lua.LTable]bool) {
	guardFunctions(L, mod, seen)
	if reg, ok := L.Get(lua.RegistryIndex).(*lua.LTable); ok {
		reg.ForEach(func(_, v lua.LValue) {
			if mt, ok := v.(*lua.LTable); ok && !seen[mt] {
				if methods, ok := mt.RawGetString("__index").(*lua.LTable); ok {
					seen[mt] = true
					guardFunctions(L, methods, seen)
				}
			}
		})
	}
}

// guardFunctions wraps the Go functions held by t.
func guardFunctions(L *lua.LState, t *lua.LTable, seen map[*lua.LTable]bool) {
	if seen[t] {
		return
	}
	seen[t] = true
	var names []lua.LValue
	t.ForEach(func(k, v lua.LValue) {
		if fn, ok := v.(*lua.LFunction); ok && fn.IsG {
			names = append(names, k)
		}
	})
	for _, k := range names {
		base := t.RawGet(k).(*lua.LFunction).GFunction
		reads := k == lua.LString("read")
		t.RawSet(k, L.NewFunction(func(L *lua.LState) int {
			if d, ok := L.Context().(*deadline); ok {
				// A module's function may wait (a request, a sleep): another worker listens.
				if r := d.root.Load(); r != nil {
					r.handOver()
				}
			}
			var protected []protectedMeta
			size := 0 // what the function may make of its arguments, to admit first
			if n, ok := L.Get(2).(lua.LNumber); ok && reads {
				// A reader's read(n) (strings.new_reader, base64's decoder, tcp) asks Go for n
				// bytes before reading any: read(2^33) ended the process.
				if n > lua.LNumber(memory.maxValue()) {
					L.ArgError(2, fmt.Sprintf("a read of more than %d bytes, the largest value a call may make (a quarter of memory_limit)", memory.maxValue()))
				}
				size += max(int(n), 0)
			}
			for i := 1; i <= L.GetTop(); i++ {
				switch arg := L.Get(i).(type) {
				case *lua.LTable:
					c := tableCheck{max: memory.maxValue()}
					if err := c.walk(arg); err != nil {
						L.ArgError(i, err.Error())
					}
					size += c.size
					if mt, ok := arg.Metatable.(*lua.LTable); ok && mt.RawGetString("__metatable") != lua.LNil {
						protected = append(protected, protectedMeta{arg, mt})
					}
				case lua.LString:
					size += len(arg)
				}
			}
			// A conversion holds at once a copy of its input, the buffer it grows and its result.
			size *= 3
			if err := memory.admit(size); err != nil {
				L.RaiseError("%v", err)
			}
			defer memory.admitted(size)
			n := base(L)
			for _, p := range protected {
				if p.t.Metatable != p.mt {
					// Go code sets a metatable past __metatable (json.tableIsObject did, on the
					// shield's proxies, which then kept what calls wrote into them).
					p.t.Metatable = p.mt
					L.RaiseError("cannot change a protected metatable")
				}
			}
			// The objects it returns carry methods of their own (template's engine:render):
			// they are guarded when first seen.
			for i := L.GetTop() - n + 1; i <= L.GetTop(); i++ {
				var mt lua.LValue
				switch v := L.Get(i).(type) {
				case *lua.LUserData:
					mt = v.Metatable
				case *lua.LTable:
					mt = v.Metatable
				}
				if mt, ok := mt.(*lua.LTable); ok && !seen[mt] {
					seen[mt] = true
					if methods, ok := mt.RawGetString("__index").(*lua.LTable); ok {
						guardFunctions(L, methods, seen)
					}
				}
			}
			return n
		}))
	}
}

// protectedMeta is a table given to a module's Go function and its protected metatable.
type protectedMeta struct{ t, mt *lua.LTable }

var (
	errCycle = errors.New("a table that contains itself cannot be converted")
	errDepth = fmt.Errorf("tables nested more than %d deep", maxTableDepth)
)

// tableCheck walks a table for guardFunctions. A table reached twice by different paths (not a
// cycle) is counted twice, as the conversion would copy it twice.
type tableCheck struct {
	path      []*lua.LTable
	size, max int
}

func (c *tableCheck) walk(t *lua.LTable) error {
	for _, p := range c.path {
		if p == t {
			return errCycle
		}
	}
	if len(c.path) >= maxTableDepth {
		return errDepth
	}
	c.path = append(c.path, t)
	var err error
	t.ForEach(func(k, v lua.LValue) {
		c.size += 2 * len(c.path) // YAML's indentation of the entry's line
		if err == nil {
			if err = c.value(k); err == nil {
				err = c.value(v)
			}
		}
	})
	c.path = c.path[:len(c.path)-1]
	return err
}

func (c *tableCheck) value(v lua.LValue) error {
	switch v := v.(type) {
	case lua.LString:
		// JSON's escapes make up to six bytes of one; YAML indents every line of a multi-line
		// string by two spaces for each level it is nested in (one of 10 MiB of "a\n" 99 deep
		// asked Go for a gigabyte).
		c.size += 6*len(v) + 2 + 2*len(c.path)*strings.Count(string(v), "\n")
	case *lua.LTable:
		c.size += 2
		if err := c.walk(v); err != nil {
			return err
		}
	default:
		c.size += 24
	}
	if c.size > c.max {
		return fmt.Errorf("the table would convert to more than %d bytes, the largest value a call may make (a quarter of memory_limit)", c.max)
	}
	return nil
}
