package engine

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// libs builds a LibraryFunc over name -> text; each library's origin is libs/<name>.lua.
func libs(m map[string]string) LibraryFunc {
	return func(name string) (Source, bool) {
		text, ok := m[name]
		return Source{Origin: "libs/" + name + ".lua", Text: []byte(text)}, ok
	}
}

func compileErr(t *testing.T, script string, lib map[string]string) *CompileError {
	t.Helper()
	_, err := Compile(Source{Origin: "s.lua", Text: []byte(script)}, libs(lib))
	var ce *CompileError
	if !errors.As(err, &ce) {
		t.Fatalf("got %v, want a CompileError", err)
	}
	return ce
}

func TestCompileErrorLines(t *testing.T) {
	lib := map[string]string{
		"good": "-- line 1\nfunction helper() return 1 end\n-- line 3\n",
		"bad":  "x = 1\ny = = 2\n",
		"a":    "--* require: b\n",
		"b":    "--* require: a\n",
		"deep": "--* require: nowhere\n",
	}
	cases := []struct {
		name, script string
		want         string
	}{
		{"syntax error, no library", "--* subject: a.b\n\nfunction OnMessage(s, p)\n  return s ..\nend\n", "s.lua:5:"},
		{"syntax error after a library", "--* require: good\nlocal x = 1\nlocal y = )\n", "s.lua:3:"},
		{"syntax error in the library", "--* require: bad\nlocal x = 1\n", "libs/bad.lua:2:"},
		{"unfinished script", "--* require: good\nfunction f()\n", "s.lua:2: syntax error at end of file"},
		{"missing library", "--* require: nowhere\n", `s.lua: requires library "nowhere", which does not exist`},
		{"missing library of a library", "--* require: deep\n", `library "deep" requires library "nowhere"`},
		{"library cycle", "--* require: a\n", "library cycle: a -> b -> a"},
		{"bad header", "--* subject: a\n--* timeout: soon\n", "s.lua:2: header \"timeout\""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ce := compileErr(t, c.script, lib)
			if !strings.Contains(ce.Error(), c.want) {
				t.Fatalf("got %q, want it to contain %q", ce.Error(), c.want)
			}
		})
	}
}

func TestCompileLibrariesInOrder(t *testing.T) {
	lib := map[string]string{
		"base": "x = 1\n",
		"web":  "--* require: base\nfunction page() end",
		"util": "--* require: base\n",
	}
	code, err := Compile(Source{Origin: "s.lua", Text: []byte("--* require: web\n--* require: util\n")}, libs(lib))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(code.Libraries, ","); got != "base,web,util" {
		t.Fatalf("libraries %s, want base,web,util (dependencies first, each once)", got)
	}
}

func TestLineMapRewrite(t *testing.T) {
	var m lineMap
	var b bytes.Buffer
	m.add("libs/a.lua", &b, []byte("1\n2\n3\n"))
	m.add("libs/b.lua", &b, []byte("1\n2")) // no final newline: one is added
	m.add("s.lua", &b, []byte("1\n2\n"))
	cases := map[string]string{
		"s.lua:2: boom":              "libs/a.lua:2: boom",
		"s.lua:5: boom":              "libs/b.lua:2: boom",
		"s.lua:7: x\ns.lua:6: in f":  "s.lua:2: x\ns.lua:1: in f",
		"no position":                "no position",
		"s.lua:x not a line":         "s.lua:x not a line",
		"other.lua:2: left as it is": "other.lua:2: left as it is",
	}
	for in, want := range cases {
		if got := m.rewrite(in); got != want {
			t.Errorf("rewrite(%q) = %q, want %q", in, got, want)
		}
	}
}

// Source the parser or the compiler cannot take (see script.CheckSyntax) is refused before they
// see it, at its own line, in a library too.
func TestCompileRefusesSourceTooDeep(t *testing.T) {
	deep := "x = 1\nreturn " + strings.Repeat("(", 300) + "1" + strings.Repeat(")", 300) + "\n"
	if ce := compileErr(t, "--* subject: a.b\n"+deep, nil); !strings.Contains(ce.Error(), "s.lua:3: more than 200 brackets") {
		t.Errorf("script: %v", ce)
	}
	if ce := compileErr(t, "--* require: deep\nfunction OnMessage() end\n", map[string]string{"deep": deep}); !strings.Contains(ce.Error(), "libs/deep.lua:2: more than 200 brackets") {
		t.Errorf("library: %v", ce)
	}
	sum := "return " + strings.Repeat("x + ", 30000) + "x\n"
	if ce := compileErr(t, sum, nil); !strings.Contains(ce.Error(), "s.lua:1: an expression of more than 200 operators") {
		t.Errorf("long sum: %v", ce)
	}
}

// gopher-lua's jumps carry 18 bits: a function with more jump targets, or longer than a jump
// reaches, compiled into jumps to the wrong place (a loop that ran until the deadline, a panic).
// Such a function is refused; a long one without jumps, and the same code split into functions,
// are not.
func TestCompileRefusesJumpsGopherLuaMisplaces(t *testing.T) {
	loops := "x = 1\n" + strings.Repeat("while false do end ", 44000) + "\nreturn 3\n"
	if ce := compileErr(t, loops, nil); !strings.Contains(ce.Error(), "s.lua:2: a function of more branches, loops and comparisons than gopher-lua can number") {
		t.Errorf("44,000 loops: %v", ce)
	}
	ands := "function OnMessage()\n" + strings.Repeat("z = x and y\n", 32769) + "end\n"
	if ce := compileErr(t, ands, nil); !strings.Contains(ce.Error(), "s.lua:32770: a function of more branches") {
		t.Errorf("32,769 ands: %v", ce)
	}
	long := "function OnMessage()\nlocal n = 0\nrepeat n = n + 1\n" + strings.Repeat("x = 1 ", 70000) + "\nuntil n >= 2\nreturn n\nend\n"
	if ce := compileErr(t, long, nil); !strings.Contains(ce.Error(), "s.lua:1: a function that branches or loops over more than 131071 instructions") {
		t.Errorf("a long repeat: %v", ce)
	}
	for name, src := range map[string]string{
		"long, no jumps": strings.Repeat("x = 1 ", 140000) + "\nreturn 5\n",
		"loops in two functions": "function f()\n" + strings.Repeat("while false do end ", 27000) + "\nreturn 2 end\nfunction g()\n" +
			strings.Repeat("while false do end ", 27000) + "\nreturn 3 end\nreturn f() + g()\n",
	} {
		code, err := Compile(Source{Origin: "s.lua", Text: []byte(src)}, nil)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		L := lua.NewState()
		L.Push(L.NewFunctionFromProto(code.proto))
		if err := L.PCall(0, 1, nil); err != nil || L.Get(-1) != lua.LNumber(5) {
			t.Errorf("%s: got %v, %v; want 5", name, L.Get(-1), err)
		}
		L.Close()
	}
}

// A compiled version keeps its code, not the compiler's 1,024-entry buffers (~12 KB a function,
// whatever its size), for as long as it is stored.
func TestCompiledCodeIsTrimmed(t *testing.T) {
	code, err := Compile(Source{Origin: "hello.lua", Text: []byte(hello)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var check func(p *lua.FunctionProto)
	check = func(p *lua.FunctionProto) {
		if cap(p.Code) > 2*len(p.Code)+16 || cap(p.DbgSourcePositions) > 2*len(p.DbgSourcePositions)+16 {
			t.Errorf("function at line %d: code %d/%d, positions %d/%d (len/cap)", p.LineDefined,
				len(p.Code), cap(p.Code), len(p.DbgSourcePositions), cap(p.DbgSourcePositions))
		}
		for _, f := range p.FunctionPrototypes {
			check(f)
		}
	}
	check(code.proto)
}
