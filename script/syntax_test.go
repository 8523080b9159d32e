package script

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yuin/gopher-lua/parse"
)

func TestCheckSyntaxRefusesWhatThePartsCannotTake(t *testing.T) {
	for _, c := range []struct {
		name, src string
		line      int
		want      string
	}{
		{"nested parentheses", "local x = 1\nreturn " + strings.Repeat("(", 201) + "1" + strings.Repeat(")", 201), 2, "nested"},
		{"nested tables", "x = " + strings.Repeat("{", 300), 1, "nested"},
		{"nested functions", strings.Repeat("function f()\n", 250), 199, "nested"}, // 199 functions and the ( of the next
		{"nested ifs", strings.Repeat("if x then ", 201), 1, "nested"},
		{"a long sum", "return " + strings.Repeat("x+", 201) + "x", 1, "more than 200 operators"},
		{"a long concatenation", "return " + strings.Repeat("x..", 201) + "x", 1, "more than 200 operators"},
		{"unary minus", "return " + strings.Repeat("- ", 201) + "1", 1, "more than 200 operators"},
		{"not", "return " + strings.Repeat("not ", 201) + "x", 1, "more than 200 operators"},
		{"calls", "return f" + strings.Repeat("()", 201), 1, "more than 200 operators"},
		{"indexes", "return x" + strings.Repeat(".a", 201), 1, "more than 200 operators"},
		{"too big", strings.Repeat("x = 1\n", MaxSourceSize/6+1), 0, "over the 1048576"},
		{"a constructor gopher-lua would cut", "t = {\n" + strings.Repeat("1,\n", 25550) + "1}", 25551, "a table constructor of more than 25550 items"},
		{"comparisons", strings.Repeat("z=a<b\n", 131073), 131073, "than gopher-lua can number"},
		{"goto labels", strings.Repeat("::a:: ", 65536) + "\n::b::", 2, "than gopher-lua can number"},
		{"elseifs", "if x then\n" + strings.Repeat("elseif x then\n", 1001) + "end", 1002, "more than 1000 elseifs"},
		{"elseifs in a function in an if", "if x then\n" + strings.Repeat("elseif x then\n", 900) + "f = function() if y then\n" + strings.Repeat("elseif y then\n", 1001) + "end end end", 1903, "more than 1000 elseifs"},
		// gopher-lua ends a line at \r too: a comment that went on to the next \n hid what followed
		// (a million nested operators, which overflowed the compiler's stack and ended the process).
		{"after a comment ended by \\r", "--\rreturn " + strings.Repeat("#", 201) + "x", 2, "more than 200 operators"},
		{"after an escaped \\r\\n in a string", "s = \"a\\\r\nb\"\nreturn " + strings.Repeat("(", 201) + "1" + strings.Repeat(")", 201), 3, "nested"},
		{"after \\r\\n lines", strings.Repeat("x = 1\r\n", 4) + "return " + strings.Repeat("(", 201) + "1", 5, "nested"},
		{"after \\n\\r lines", strings.Repeat("x = 1\n\r", 4) + "return " + strings.Repeat("(", 201) + "1", 5, "nested"},
		// Where this reading and the parser's could differ, nothing after goes unchecked.
		{"an unfinished string", "x = 1\ns = \"abc\nreturn 1", 2, "does not end"},
		{"a string cut by \\r", "s = \"a\rb\"", 1, "does not end"},
		{"an unfinished long comment", "x = 1\n--[[ " + strings.Repeat("(", 300), 2, "does not end"},
	} {
		line, err := CheckSyntax([]byte(c.src))
		if err == nil || !strings.Contains(err.Error(), c.want) || line != c.line {
			t.Errorf("%s: line %d, %v; want line %d, %q", c.name, line, err, c.line, c.want)
		}
	}
}

func TestCheckSyntaxTakesRealCode(t *testing.T) {
	ok := []string{
		"return " + strings.Repeat("(", 150) + "1" + strings.Repeat(")", 150),
		"return " + strings.Repeat("x .. ", 150) + "x",
		// Statements one after another are not one expression.
		strings.Repeat("x = a + b\n", 500) + strings.Repeat("f(a)\n", 500) + strings.Repeat("y = t.a.b.c\n", 500),
		strings.Repeat("local t = {1, 2, 3}\n", 1000),
		// What looks like depth inside strings and comments is not.
		"s = \"" + strings.Repeat("(", 500) + "\"\n-- " + strings.Repeat("{", 500) + "\nc = [==[" + strings.Repeat("[", 500) + "]==]\n--[[" + strings.Repeat("function ", 500) + "]]",
		strings.Repeat("if a then b() elseif c then d() else e() end\n", 300),
		// 25,550 items a constructor (named or not), however many constructors and nested tables.
		"t = {" + strings.Repeat("1, ", 25549) + "1}\nu = {" + strings.Repeat("{1, 2}, ", 25549) + "{a = 1; b = 2}}\nv = {" + strings.Repeat("x = 1, ", 25549) + "}",
		// 1,000 elseifs an if, however many ifs.
		strings.Repeat("if x then\n"+strings.Repeat("elseif x then\n", 1000)+"end\n", 3),
		"if x then " + strings.Repeat("elseif x then if y then elseif y then end ", 1000) + "end",
		strings.Repeat("for i = 1, 10 do x = x + i end\nwhile x do x = nil end\nrepeat y = 1 until y\n", 300),
		"x = 1e-5 + 0x1F - 3.5e+2",
		// Labels of goto and method calls are no operators.
		"::top:: " + strings.Repeat("t:f() ", 300) + strings.Repeat("::a:: ", 300) + "goto top",
		// Lines ended by \r\n, \r or \n\r, in comments and escaped in strings.
		"-- a comment\r\nx = 1\r\n--\ry = 2\rs = \"a\\\r\nb\"\n\rreturn x + y",
	}
	for i, src := range ok {
		if line, err := CheckSyntax([]byte(src)); err != nil {
			t.Errorf("case %d: line %d: %v", i, line, err)
		}
		if _, err := parse.Parse(strings.NewReader(src), "case"); err != nil {
			t.Errorf("case %d is no Lua: %v", i, err)
		}
	}
	// Every example script and library.
	files, _ := filepath.Glob("../examples/*.lua")
	libs, _ := filepath.Glob("../examples/libs/*.lua")
	for _, f := range append(files, libs...) {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if line, err := CheckSyntax(src); err != nil {
			t.Errorf("%s:%d: %v", f, line, err)
		}
	}
	if len(files) == 0 {
		t.Fatal("no examples found")
	}
}
