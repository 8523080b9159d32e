package engine

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"

	"github.com/msgscript/msgscript/script"
)

// Source is the text of a script or library and where it came from (a file path or an etcd key),
// which is what error messages point at.
type Source struct {
	Origin string
	Text   []byte
}

// LibraryFunc finds a library by name.
type LibraryFunc func(name string) (Source, bool)

// Code is a script compiled together with the libraries it requires. It is immutable and can be
// shared by any number of Lua states.
type Code struct {
	Headers   script.Headers
	Libraries []string // every library prepended, in order (dependencies first)
	proto     *lua.FunctionProto
	lines     lineMap
	// keepTopLevel: the top level only defines, and runs once per Lua state (see keepsTopLevel).
	keepTopLevel bool
}

// CompileError is a script that cannot be compiled, located in the file (script or library) and
// line where the problem is: "origin:line: message". Line is 0 when the problem has no line (a
// missing library).
type CompileError = script.Error

// Compile parses the headers of src, prepends the libraries it requires (and theirs, each once)
// as the original msgscript did, and compiles the result once. Line numbers in errors, at compile
// time and later at run time, point at the script's or the library's own lines.
func Compile(src Source, libs LibraryFunc) (*Code, error) {
	h, err := script.ParseFile(src.Origin, src.Text)
	if err != nil {
		return nil, err
	}
	order, err := resolveLibraries(src.Origin, h.Requires, libs)
	if err != nil {
		return nil, err
	}

	var text bytes.Buffer
	var lines lineMap
	names := make([]string, 0, len(order))
	for _, lib := range order {
		lines.add(lib.src.Origin, &text, lib.src.Text)
		names = append(names, lib.name)
	}
	lines.add(src.Origin, &text, src.Text)

	if line, err := script.CheckSyntax(text.Bytes()); err != nil {
		if line == 0 {
			return nil, &CompileError{Origin: src.Origin, Msg: err.Error() + " (the script with its libraries)"}
		}
		return nil, lines.compileError(line, err.Error())
	}
	proto, err := compileChunk(text.Bytes(), src.Origin)
	if err != nil {
		if line, msg, ok := locate(err); ok {
			return nil, lines.compileError(line, msg)
		}
		return nil, &CompileError{Origin: src.Origin, Msg: err.Error()}
	}
	// The top level is run on every call with no arguments. As a vararg function that does not
	// use `...` it would get Lua 5.1's compatibility `arg` table, a 2 KB allocation per call for
	// a table nobody reads.
	proto.IsVarArg &^= lua.VarArgNeedsArg
	return &Code{Headers: h, Libraries: names, proto: proto, lines: lines, keepTopLevel: keepsTopLevel(proto)}, nil
}

// CompileChunk compiles Lua source without headers or libraries (a test file of `msgscriptcli
// test`) as a script is compiled: the same source limits first, the same messages.
func CompileChunk(origin string, text []byte) (*lua.FunctionProto, error) {
	if line, err := script.CheckSyntax(text); err != nil {
		return nil, &CompileError{Origin: origin, Line: line, Msg: err.Error()}
	}
	proto, err := compileChunk(text, origin)
	if err != nil {
		if line, msg, ok := locate(err); ok {
			return nil, &CompileError{Origin: origin, Line: max(line, 0), Msg: msg}
		}
		return nil, &CompileError{Origin: origin, Msg: err.Error()}
	}
	return proto, nil
}

// locate splits an error of compileChunk into the line it is at and its message; false when it
// has no line.
func locate(err error) (line int, msg string, ok bool) {
	var pe *parse.Error
	var ce *lua.CompileError
	var je *jumpSpanError
	switch {
	case errors.As(err, &pe):
		return pe.Pos.Line, describeParseError(pe), true
	case errors.As(err, &ce):
		return ce.Line, ce.Message, true
	case errors.As(err, &je):
		return max(je.line, 1), je.Error(), true // the top level is defined at line 0
	}
	return 0, "", false
}

// compileChunk parses and compiles Lua source as every chunk msgscript runs is compiled (stored
// scripts, loadstring, load): its concatenations bounded (see concat). Errors are gopher-lua's
// *parse.Error and *lua.CompileError. The source limits (script.CheckSyntax) are the caller's.
func compileChunk(text []byte, name string) (*lua.FunctionProto, error) {
	chunk, err := parse.Parse(bytes.NewReader(text), name)
	if err != nil {
		return nil, err
	}
	proto, err := lua.Compile(boundConcatenations(chunk), name)
	if err != nil {
		return nil, err
	}
	if err := checkJumpSpans(proto); err != nil {
		return nil, err
	}
	trimProto(proto)
	return proto, nil
}

// maxJumpSpan is the farthest a gopher-lua jump reaches, in instructions: the offset is 18 bits.
const maxJumpSpan = 1<<17 - 1

// jumpSpanError refuses a function longer than its jumps can reach.
type jumpSpanError struct{ line int }

func (e *jumpSpanError) Error() string {
	return fmt.Sprintf("a function that branches or loops over more than %d instructions, which gopher-lua's jumps cannot reach across; split it into functions", maxJumpSpan)
}

// checkJumpSpans refuses a function with jumps (branches, loops) and more instructions than a
// jump reaches. gopher-lua refuses a forward jump that long, but not a backward one: a repeat
// ... until around 70,000 statements jumped elsewhere and ended the call in a panic. A function
// without jumps (a long table of data) may be as long as the source limits let it.
func checkJumpSpans(p *lua.FunctionProto) error {
	if len(p.Code) > maxJumpSpan {
		for _, inst := range p.Code {
			switch int(inst >> 26) { // the opcode, as gopher-lua encodes it
			case lua.OP_JMP, lua.OP_FORPREP, lua.OP_FORLOOP:
				return &jumpSpanError{line: p.LineDefined}
			}
		}
	}
	for _, f := range p.FunctionPrototypes {
		if err := checkJumpSpans(f); err != nil {
			return err
		}
	}
	return nil
}

// trimProto copies each function's code and debug slices to their length. gopher-lua's compiler
// hands out slices of its 1,024-entry buffers, so that every function, however short, kept ~12 KB
// (a hello script ~25 KB) for as long as its version is stored: 250 MB for 10,000 scripts.
func trimProto(p *lua.FunctionProto) {
	p.Code = slices.Clone(p.Code)
	p.DbgSourcePositions = slices.Clone(p.DbgSourcePositions)
	p.Constants = slices.Clone(p.Constants)
	p.DbgLocals = slices.Clone(p.DbgLocals)
	p.DbgCalls = slices.Clone(p.DbgCalls)
	p.DbgUpvalues = slices.Clone(p.DbgUpvalues)
	p.FunctionPrototypes = slices.Clone(p.FunctionPrototypes)
	for _, f := range p.FunctionPrototypes {
		trimProto(f)
	}
}

func describeParseError(pe *parse.Error) string {
	if pe.Token == "" || pe.Pos.Line == parse.EOF {
		return pe.Message
	}
	return fmt.Sprintf("%s near '%s'", pe.Message, pe.Token)
}

type resolvedLib struct {
	name string
	src  Source
}

// resolveLibraries orders the libraries a script needs: each library's own requires come before
// it, each library appears once, and a cycle is an error.
func resolveLibraries(origin string, requires []string, libs LibraryFunc) ([]resolvedLib, error) {
	var order []resolvedLib
	state := map[string]int{} // 1: being visited, 2: done
	var visit func(name string, chain []string) error
	visit = func(name string, chain []string) error {
		switch state[name] {
		case 2:
			return nil
		case 1:
			return &CompileError{Origin: origin, Msg: "library cycle: " + strings.Join(append(chain, name), " -> ")}
		}
		lib, ok := Source{}, false
		if libs != nil {
			lib, ok = libs(name)
		}
		if !ok {
			msg := fmt.Sprintf("requires library %q, which does not exist", name)
			if len(chain) > 0 {
				msg = fmt.Sprintf("library %q requires library %q, which does not exist", chain[len(chain)-1], name)
			}
			return &CompileError{Origin: origin, Msg: msg}
		}
		state[name] = 1
		h, err := script.ParseFile(lib.Origin, lib.Text)
		if err != nil {
			return err
		}
		for _, dep := range h.Requires {
			if err := visit(dep, append(chain, name)); err != nil {
				return err
			}
		}
		state[name] = 2
		order = append(order, resolvedLib{name: name, src: lib})
		return nil
	}
	for _, name := range requires {
		if err := visit(name, nil); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// lineMap maps a line of the joined text (libraries, then the script) back to its own file.
type lineMap struct {
	segments []segment
}

type segment struct {
	origin string
	first  int // first line of the segment in the joined text, 1-based
	lines  int
}

// add appends text to the joined buffer, on lines of its own.
func (m *lineMap) add(origin string, buf *bytes.Buffer, text []byte) {
	first := 1
	if n := len(m.segments); n > 0 {
		first = m.segments[n-1].first + m.segments[n-1].lines
	}
	buf.Write(text)
	lines := bytes.Count(text, []byte{'\n'})
	if len(text) == 0 || text[len(text)-1] != '\n' {
		buf.WriteByte('\n')
		lines++
	}
	m.segments = append(m.segments, segment{origin: origin, first: first, lines: lines})
}

// locate returns the file and line of a line of the joined text.
func (m *lineMap) locate(line int) (string, int) {
	for _, s := range m.segments {
		if line < s.first+s.lines {
			return s.origin, line - s.first + 1
		}
	}
	last := m.segments[len(m.segments)-1]
	return last.origin, line - last.first + 1
}

func (m *lineMap) compileError(line int, msg string) *CompileError {
	if line <= 0 { // parse.EOF: the script ended too early; point at its last line
		last := m.segments[len(m.segments)-1]
		return &CompileError{Origin: last.origin, Line: last.lines, Msg: msg + " at end of file"}
	}
	origin, l := m.locate(line)
	return &CompileError{Origin: origin, Line: l, Msg: msg}
}

// rewrite maps the "origin:line:" positions that gopher-lua writes into run-time error messages.
// Positions are only wrong when libraries were prepended, so a script without any is left alone.
func (m *lineMap) rewrite(msg string) string {
	if len(m.segments) < 2 {
		return msg
	}
	chunk := m.segments[len(m.segments)-1].origin + ":"
	var out strings.Builder
	for {
		i := strings.Index(msg, chunk)
		if i < 0 {
			out.WriteString(msg)
			return out.String()
		}
		out.WriteString(msg[:i])
		rest := msg[i+len(chunk):]
		digits := len(rest) - len(strings.TrimLeft(rest, "0123456789"))
		line, err := strconv.Atoi(rest[:digits])
		if digits == 0 || err != nil {
			out.WriteString(chunk)
			msg = rest
			continue
		}
		origin, l := m.locate(line)
		fmt.Fprintf(&out, "%s:%d", origin, l)
		msg = rest[digits:]
	}
}
