package engine

import (
	lua "github.com/yuin/gopher-lua"
)

// A call must find the script as if its top level had just run: the globals it defines, and none
// that an earlier call set. Running the top level again on every call gives exactly that, and is
// what a call on a script whose top level does anything else still gets. But most top levels only
// define: functions, constants, modules from require. Run once on a state, such a top level
// leaves the same environment every time, so the state keeps it (see callenv.go) and a call runs
// only its entry function. Nothing that could differ from a fresh run may be kept, so a top level
// qualifies only when, checked on its bytecode:
//
//   - it runs straight through: no branch, loop or return before the end, so it defines the same
//     names every time;
//   - it makes no table (a table it made would carry one call's writes into the next) and no
//     arithmetic or concatenation (a metamethod could run anything);
//   - it calls nothing but require with a constant name (a module is loaded once per state
//     anyway; anything else, print or math.random or os.time, must run every time), and sets
//     neither require nor _G;
//   - no function it defines, at any depth, assigns to one of its locals (`local n = 0` and
//     `n = n + 1` in OnMessage would count across calls).
//
// What it reads (a base library's function, a module's field) is shared by every call already.
// A call that reassigns or removes a kept global is undone when it ends; one that adds a global of
// its own, or changes the environment of a kept function (setfenv), has the environment made
// afresh (see callenv.go).

// keepsTopLevel reports whether the top level of proto may run once per state (see above).
func keepsTopLevel(proto *lua.FunctionProto) bool {
	code := proto.Code
	for pc := 0; pc < len(code); pc++ {
		inst := code[pc]
		switch opOf(inst) {
		case lua.OP_LOADBOOL:
			if argC(inst) != 0 {
				return false // skips the next instruction: part of a condition
			}
		case lua.OP_MOVE, lua.OP_MOVEN, lua.OP_LOADK, lua.OP_LOADNIL, lua.OP_GETGLOBAL, lua.OP_GETTABLE, lua.OP_GETTABLEKS, lua.OP_CLOSE, lua.OP_NOP:
		case lua.OP_SETGLOBAL:
			if k, ok := constString(proto, argBx(inst)); !ok || k == "require" || k == "_G" {
				// A global require would make the next check meaningless; _G is the environment
				// itself in every call.
				return false
			}
		case lua.OP_CALL:
			if !isRequireCall(proto, pc) {
				return false
			}
		case lua.OP_CLOSURE:
			child := proto.FunctionPrototypes[argBx(inst)]
			// Every upvalue of a function defined at the top level is one of its locals.
			if assignsUpvalue(child, allUpvalues(child)) {
				return false
			}
			pc += int(child.NumUpvalues) // the pseudo-instructions naming the upvalues
		case lua.OP_RETURN:
			if pc != len(code)-1 {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// isRequireCall: the CALL at pc is require("constant"), compiled as GETGLOBAL A "require",
// LOADK A+1 "name", CALL A 2 C.
func isRequireCall(proto *lua.FunctionProto, pc int) bool {
	if pc < 2 {
		return false
	}
	call, name, fn := proto.Code[pc], proto.Code[pc-1], proto.Code[pc-2]
	a := argA(call)
	if argB(call) != 2 || opOf(name) != lua.OP_LOADK || argA(name) != a+1 || opOf(fn) != lua.OP_GETGLOBAL || argA(fn) != a {
		return false
	}
	if _, ok := constString(proto, argBx(name)); !ok {
		return false
	}
	k, ok := constString(proto, argBx(fn))
	return ok && k == "require"
}

// assignsUpvalue reports whether fn, or a function defined in it, assigns to one of fn's upvalues
// in top (those that are the top level's locals).
func assignsUpvalue(fn *lua.FunctionProto, top []bool) bool {
	code := fn.Code
	for pc := 0; pc < len(code); pc++ {
		inst := code[pc]
		switch opOf(inst) {
		case lua.OP_SETUPVAL:
			if b := argB(inst); b < len(top) && top[b] {
				return true
			}
		case lua.OP_CLOSURE:
			child := fn.FunctionPrototypes[argBx(inst)]
			inherited := make([]bool, child.NumUpvalues)
			for i := range inherited {
				// MOVE: a local of fn, made per call of fn; GETUPVAL: one of fn's upvalues.
				if p := pc + 1 + i; p < len(code) && opOf(code[p]) == lua.OP_GETUPVAL {
					if b := argB(code[p]); b < len(top) {
						inherited[i] = top[b]
					}
				}
			}
			if assignsUpvalue(child, inherited) {
				return true
			}
			pc += int(child.NumUpvalues)
		}
	}
	return false
}

func allUpvalues(fn *lua.FunctionProto) []bool {
	all := make([]bool, fn.NumUpvalues)
	for i := range all {
		all[i] = true
	}
	return all
}

func constString(proto *lua.FunctionProto, i int) (string, bool) {
	if i < 0 || i >= len(proto.Constants) {
		return "", false
	}
	s, ok := proto.Constants[i].(lua.LString)
	return string(s), ok
}

// gopher-lua's instruction format (its opcode.go): the opcode in the top 6 bits, then A (8 bits),
// C (9 bits) and B (9 bits); Bx is the low 18 bits.
func opOf(inst uint32) int  { return int(inst >> 26) }
func argA(inst uint32) int  { return int(inst>>18) & 0xff }
func argB(inst uint32) int  { return int(inst & 0x1ff) }
func argC(inst uint32) int  { return int(inst>>9) & 0x1ff }
func argBx(inst uint32) int { return int(inst & 0x3ffff) }
