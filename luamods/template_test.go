package luamods

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/msgscript/msgscript/callctx"
)

// A template's text stops at the call's value bound, in and out of a sandbox: its values do not
// bound it (a section repeats its text for each item of a list: 4,000 items and a 900 KiB string
// made 3.6 GB), and mustache goes on after its writer refuses, returning no error.
func TestTemplateTextIsBounded(t *testing.T) {
	file := filepath.Join(t.TempDir(), "t.mustache")
	if err := os.WriteFile(file, []byte("{{#l}}{{x}}{{/l}}"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, loader := range map[string]lua.LGFunction{"outside": templateLoader, "sandbox": templateSandboxLoader} {
		L := lua.NewState()
		defer L.Close()
		L.PreloadModule("template", loader)
		L.SetContext(context.WithValue(context.Background(), callctx.ValueBoundKey, 1000))
		render := `local items = {} for i = 1, %s do items[i] = {} end
			return require("template").choose("mustache"):render("{{#l}}{{x}}{{/l}}", {l = items, x = string.rep("x", 100)})`
		if err := L.DoString(strings.Replace(render, "%s", "9", 1)); err != nil || L.Get(-1).String() != strings.Repeat("x", 900) {
			t.Errorf("%s: 900 bytes under a bound of 1000: %v %.50s", name, err, L.Get(-1))
		}
		err := L.DoString(strings.Replace(render, "%s", "11", 1))
		if err == nil || !strings.Contains(err.Error(), "template: the text would be over 1000 bytes") {
			t.Errorf("%s: 1100 bytes under a bound of 1000: %v", name, err)
		}
	}
	L := lua.NewState()
	defer L.Close()
	L.PreloadModule("template", templateLoader)
	if err := L.DoString(`return require("template").choose("mustache"):render_file("` + file + `", {l = {{}, {}}, x = "ab"})`); err != nil || L.Get(-1).String() != "abab" {
		t.Errorf("render_file: %v %s", err, L.Get(-1))
	}
}

// mustache parses nested sections by recursion and renders them without looking at the clock: a
// template of three million "{{#a}}" ended the process, and four sections nested over 1,000
// empty tables rendered nothing for hours.
func TestTemplateSectionsAreBounded(t *testing.T) {
	for name, loader := range map[string]lua.LGFunction{"outside": templateLoader, "sandbox": templateSandboxLoader} {
		L := lua.NewState()
		defer L.Close()
		L.PreloadModule("template", loader)
		L.SetContext(context.WithValue(context.Background(), callctx.ValueBoundKey, 1<<20))
		run := func(script string) (string, error) {
			err := L.DoString(`local mustache = require("template").choose("mustache")
				local function list(n, item) local l = {} for i = 1, n do l[i] = item or {} end return l end
				` + script)
			if err != nil {
				return "", err
			}
			return L.Get(-1).String(), nil
		}
		for _, c := range []struct{ script, want string }{
			// 100 deep renders; 101 deep is refused, whatever the delimiters or the lines.
			{`return mustache:render(("{{#a}}"):rep(100) .. "x" .. ("{{/a}}"):rep(100), {a = true})`, "x"},
			{`return mustache:render(("{{#a}}"):rep(101) .. "x" .. ("{{/a}}"):rep(101), {a = true})`, "sections nested more than 100 deep"},
			{`return mustache:render("{{=[ ]=}}" .. ("[#a]"):rep(3000000), {a = true})`, "sections nested more than 100 deep"},
			{`return mustache:render("{{! a comment }}{{{raw}}}\n" .. ("  {{^b}}\r\n"):rep(101) .. ("{{/b}}\n"):rep(101), {raw = "<"})`, "sections nested more than 100 deep"},
			{`return mustache:render("{{{raw}}}" .. ("{{#a}}\n"):rep(60) .. ("{{/a}}\n"):rep(60) .. "{{=<% %>=}}" .. ("<%#a%>"):rep(40) .. "y" .. ("<%/a%>"):rep(40), {a = true, raw = "<"})`, "<\ny"},
			// Lists in lists in lists render as often as they have items; nested over one long
			// list, sections are refused before they render.
			{`return mustache:render("{{#a}}{{#b}}{{#c}}x{{/c}}{{/b}}{{/a}}", {a = list(100, {b = list(10, {c = list(5)})})})`, strings.Repeat("x", 5000)},
			{`return mustache:render("{{#a}}{{#a}}{{#a}}{{#a}}{{/a}}{{/a}}{{/a}}{{/a}}", {a = list(1000)})`, "could render more than 10000000 times"},
			{`return mustache:render("{{#a}}{{#.}}{{#.}}{{#.}}{{/.}}{{/.}}{{/.}}{{/a}}", {a = list(300, list(300))})`, "could render more than 10000000 times"},
			{`return mustache:render("{{#x.a}}{{#a}}{{#a}}{{/a}}{{/a}}{{/x.a}}", {x = {a = list(300)}})`, "could render more than 10000000 times"},
			{`return mustache:render("{{#a}}{{^b}}{{^b}}y{{/b}}{{/b}}{{/a}}", {a = list(3)})`, "yyy"},
			// mustache looks a dotted name up one part at a time, each a call deeper.
			{`return "[" .. mustache:render("{{" .. ("a."):rep(100) .. "a}}", {}) .. mustache:render("{{a.a}}", {a = {a = "z"}}) .. "]"`, "[z]"},
			{`return mustache:render("{{#x}}{{" .. ("."):rep(101) .. "}}{{/x}}", {})`, "template: a name of more than 100 parts"},
			{`return mustache:render("{{" .. ("."):rep(1300000) .. "}}", {})`, "template: a name of more than 100 parts"},
			// Past the text's bound the rendering stops, rather than escaping the rest for minutes.
			{`return mustache:render("{{#a}}{{#a}}{{v}}{{/a}}{{/a}}", {a = list(3000), v = ("<"):rep(1000)})`, "template: the text would be over 1048576 bytes"},
		} {
			got, err := run(c.script)
			if err != nil {
				got = err.Error()
			}
			if !strings.Contains(got, c.want) {
				t.Errorf("%s: %.60s: got %.100q, want %q", name, c.script[21:], got, c.want)
			}
		}
	}
}

// Outside the sandbox a template's partials are files, held to the template's limits: one that
// includes itself, /dev/zero and deep sections each ended the process.
func TestTemplatePartialsAreBounded(t *testing.T) {
	dir := t.TempDir()
	for name, text := range map[string]string{
		"hello.mustache": "hello {{name}}",
		"self":           "x{{> " + dir + "/self}}",
		"deep":           strings.Repeat("{{#a}}", 101) + strings.Repeat("{{/a}}", 101),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	L := lua.NewState()
	defer L.Close()
	L.PreloadModule("template", templateLoader)
	L.SetContext(context.WithValue(context.Background(), callctx.ValueBoundKey, 1<<20))
	for partial, want := range map[string]string{
		dir + "/hello":   "<hello you>",
		dir + "/missing": "<>", // as mustache renders a partial it does not find
		dir + "/self":    "more than 10000 partials rendered",
		dir + "/deep":    "sections nested more than 100 deep",
		"/dev/zero":      "the partial /dev/zero would be over 1048576 bytes",
	} {
		got := ""
		if err := L.DoString(`return require("template").choose("mustache"):render("{{#l}}<{{> ` + partial + `}}>{{/l}}", {l = {{}}, name = "you"})`); err != nil {
			got = err.Error()
		} else {
			got = L.Get(-1).String()
		}
		if !strings.Contains(got, want) {
			t.Errorf("%s: got %.100q, want %q", partial, got, want)
		}
	}
}

// A rendering within the limits, of nothing, ends with the call's deadline.
func TestTemplateRenderingEndsWithTheDeadline(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	L.PreloadModule("template", templateSandboxLoader)
	ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), callctx.ValueBoundKey, 1<<20), 100*time.Millisecond)
	defer cancel()
	L.SetContext(ctx)
	err := L.DoString(`local a = {} for i = 1, 3000 do a[i] = {} end
		return require("template").choose("mustache"):render("{{#a}}{{#a}}{{/a}}{{/a}}", {a = a})`)
	if err == nil || !strings.Contains(err.Error(), "template: context deadline exceeded") {
		t.Errorf("9 million empty sections past a deadline: %v", err)
	}
}
