package engine

import (
	"fmt"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/msgscript/msgscript/engine/internal/luapattern"
)

// boundValues makes the library functions that build one value at once refuse, before
// allocating, one over the memory guard's bound (a quarter of the memory limit), or one there
// is no room for under the limit (see memoryGuard.admit): os.date, string.rep,
// table.concat and string.format by the size they would make (string.format("%s%s...", big,
// big...) asked Go for 4 GB at once), and string.format's widths and precisions, at most two
// digits as in Lua ("%2000000000d" would otherwise ask Go for 2 GB). A value too large for
// the memory is otherwise a fatal error of the Go runtime, which no recover saves.
func boundValues(L *lua.LState) {
	// string.find, match, gmatch and gsub: msgscript's own matcher, which the deadline stops (a
	// backtracking pattern ran in gopher-lua's for as long as it liked) and whose gsub builds one
	// result no larger than the bound, in buffers admitted under the limit (see luapattern).
	luapattern.Install(L, luapattern.Limits{MaxResult: memory.maxValue, Admit: memory.admit, Admitted: memory.admitted})
	// What the compiled chunks' concatenations call (see concat).
	L.SetGlobal(concatName, L.NewFunction(concat))
	if t, ok := L.GetGlobal("table").(*lua.LTable); ok {
		t.RawSetString("sort", L.NewFunction(sortTable))
	}
	// check raises an error for a value over the bound and returns the size of the value the
	// function is about to make, which must then be admitted (see memoryGuard.admit).
	wrap := func(lib, name string, check func(L *lua.LState) int) {
		t, ok := L.GetGlobal(lib).(*lua.LTable)
		if !ok {
			return
		}
		fn, ok := t.RawGetString(name).(*lua.LFunction)
		if !ok || !fn.IsG {
			return
		}
		base := fn.GFunction
		t.RawSetString(name, L.NewFunction(func(L *lua.LState) int {
			size := check(L)
			if err := memory.admit(size); err != nil {
				L.RaiseError("%s.%s: %v", lib, name, err)
			}
			defer memory.admitted(size)
			return base(L)
		}))
	}
	wrap("string", "rep", func(L *lua.LState) int {
		s, n := L.CheckString(1), L.CheckInt64(2)
		if n <= 0 || len(s) == 0 {
			return 0
		}
		if n > int64(memory.maxValue()) || int64(len(s))*n > int64(memory.maxValue()) {
			L.RaiseError("string.rep: a string of %d x %d bytes is over %s", n, len(s), valueBound())
		}
		return len(s) * int(n)
	})
	wrap("table", "concat", func(L *lua.LState) int {
		t := L.CheckTable(1)
		sep := L.OptString(2, "")
		i, j := L.OptInt(3, 1), L.OptInt(4, t.Len())
		size := 0
		for k := i; k <= j; k++ {
			switch v := t.RawGetInt(k).(type) {
			case lua.LString:
				size += len(v)
			case lua.LNumber:
				size += 24
			default:
				// As Lua, rather than gopher-lua, which skips such elements: from 1 to 2^53 over
				// an empty table it would loop for days, deaf to the deadline.
				L.RaiseError("invalid value (at index %d) in table for 'concat'", k)
			}
			size += len(sep)
			if size > memory.maxValue() {
				L.RaiseError("table.concat: the string would be over %s", valueBound())
			}
		}
		return size
	})
	wrap("os", "date", func(L *lua.LState) int {
		// gopher-lua appends each directive's text to one buffer: "%c" (2 bytes) writes 19, a
		// weekday or month name 9; 32 million of them asked Go for gigabytes.
		format, _ := L.Get(1).(lua.LString)
		size := 10*len(format) + 64
		if size > memory.maxValue() {
			L.RaiseError("os.date: the string would be over %s", valueBound())
		}
		return 2 * size // the buffer doubles as it grows, then is copied into the string
	})
	wrap("string", "format", func(L *lua.LState) int {
		format := L.CheckString(1)
		verbs, err := formatVerbs(format)
		if err != nil {
			L.RaiseError("%v", err)
		}
		// Each directive makes at most its argument, as many times over as its verb may (%q
		// writes "\x00" for a byte), and 99 bytes of width or precision.
		size := len(format)
		for i := 2; i <= L.GetTop(); i++ {
			size += 128
			if s, ok := L.Get(i).(lua.LString); ok {
				times := 1
				if i-2 < len(verbs) {
					times = verbGrowth(verbs[i-2])
				}
				size += times * len(s)
			}
		}
		if size > memory.maxValue() {
			L.RaiseError("string.format: the string would be over %s", valueBound())
		}
		// Go's fmt builds it in a buffer that doubles, then copies it into the string.
		return 2 * size
	})
}

func valueBound() string {
	return fmt.Sprintf("%d bytes, the largest value a call may make (a quarter of memory_limit)", memory.maxValue())
}

// formatVerbs lists the verbs of format's directives, in order, and refuses a width or a
// precision of more than two digits, as Lua does.
func formatVerbs(format string) ([]byte, error) {
	var verbs []byte
	for {
		i := strings.IndexByte(format, '%')
		if i < 0 || i == len(format)-1 {
			return verbs, nil
		}
		format = format[i+1:]
		if format[0] == '%' {
			format = format[1:]
			continue
		}
		format = strings.TrimLeft(format, "-+ #0")
		width := len(format) - len(strings.TrimLeft(format, "0123456789"))
		format = format[width:]
		precision := 0
		if strings.HasPrefix(format, ".") {
			format = format[1:]
			precision = len(format) - len(strings.TrimLeft(format, "0123456789"))
			format = format[precision:]
		}
		if width > 2 || precision > 2 {
			return nil, fmt.Errorf("invalid format (width or precision too long)")
		}
		if format != "" {
			verbs = append(verbs, format[0])
			format = format[1:]
		}
	}
}

// verbGrowth is how many bytes a directive may write for a byte of its string argument.
func verbGrowth(verb byte) int {
	switch verb {
	case 'q':
		return 4 // "\x00"
	case 'x', 'X':
		return 3 // "% x": two digits and a space
	}
	return 1
}
