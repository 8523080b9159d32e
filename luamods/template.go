package luamods

import (
	"fmt"

	"github.com/cbroglie/mustache"
	"github.com/vadv/gopher-lua-libs/template"
	"github.com/yuin/gluamapper"
	lua "github.com/yuin/gopher-lua"
)

// A template's output is not bounded by its values: a section repeats its text for each item of
// a list, so 4,000 empty tables and a 900 KiB string rendered 3.6 GB, which gopher-lua-libs'
// template built in one buffer until the process ran out of memory. So engine:render and
// engine:render_file write into a buffer bounded by the call's value bound (a quarter of
// memory_limit), whose room is admitted under the limit as it grows, and fail past either.

// templateLoader is gopher-lua-libs' template, whose render and render_file render within the
// bound.
//
//	engine, err = template.choose("mustache")
//	text, err = engine:render(template, values)
//	text, err = engine:render_file(path, values)
func templateLoader(L *lua.LState) int {
	template.Loader(L)
	if methods, ok := L.GetField(L.GetTypeMetatable("template_ud"), "__index").(*lua.LTable); ok {
		methods.RawSetString("render", L.NewFunction(func(L *lua.LState) int {
			checkTemplate(L)
			return render(L, L.CheckString(2), nil)
		}))
		methods.RawSetString("render_file", L.NewFunction(func(L *lua.LState) int {
			checkTemplate(L)
			body, err := readFile(L, L.CheckString(2), "template: the file")
			if err != nil {
				return fail(L, err)
			}
			return render(L, body, nil)
		}))
	}
	return 1
}

// checkTemplate checks that the first argument is an engine of template.choose.
func checkTemplate(L *lua.LState) {
	if ud := L.CheckUserData(1); ud.Metatable != L.GetTypeMetatable("template_ud") {
		L.ArgError(1, "template expected")
	}
}

// render renders a mustache template with the values of the table at argument 3, its partials
// from partials (nil: from files, as mustache does by default), and pushes the text, or nil and
// the error.
func render(L *lua.LState, body string, partials mustache.PartialProvider) int {
	table := L.CheckTable(3)
	var values map[string]any
	if err := templateValues.Map(table, &values); err != nil {
		return fail(L, err)
	}
	if err := checkTags(body); err != nil {
		L.RaiseError("%v", err)
	}
	var files *partialFiles
	if partials == nil {
		files = &partialFiles{L: L, left: maxPartials}
		partials = files
	}
	tmpl, err := mustache.ParseStringPartials(body, partials)
	if err != nil {
		return fail(L, err)
	}
	if err := checkSectionRepeats(tmpl.Tags(), values); err != nil {
		L.RaiseError("%v", err)
	}
	out := newBoundedText(L, "template: the text")
	defer out.release()
	err = renderWithin(tmpl, out, values)
	if out.stopped != nil {
		L.RaiseError("%v", out.stopped)
	}
	if files != nil && files.failed != nil {
		L.RaiseError("%v", files.failed)
	}
	if err != nil {
		return fail(L, err)
	}
	L.Push(lua.LString(out.String()))
	return 1
}

// templateSandboxLoader is template in a sandbox, with its API (choose, then render) and its one
// engine, mustache, minus what reads files: render_file raises an error, and a partial
// ({{> name}}, which mustache's default provider reads from the file "name", /etc/passwd as
// well) fails the rendering.
//
//	engine, err = template.choose("mustache")
//	text, err = engine:render(template, values)
func templateSandboxLoader(L *lua.LState) int {
	methods := L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
		"render":      renderSandboxed,
		"render_file": notInSandbox("template's render_file"),
	})
	meta := L.NewTable()
	meta.RawSetString("__index", methods)
	L.Push(L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
		"choose": func(L *lua.LState) int {
			if name := L.CheckString(1); name != "mustache" {
				return fail(L, fmt.Errorf("unknown template engine: %s", name))
			}
			ud := L.NewUserData()
			ud.Value = sandboxedMustache{}
			ud.Metatable = meta
			L.Push(ud)
			return 1
		},
	}))
	return 1
}

// sandboxedMustache marks the engine userdata of the sandbox's template module.
type sandboxedMustache struct{}

// templateValues turns a Lua table into the values of a template as gopher-lua-libs' template
// does, so that a template renders the same in and out of a sandbox.
var templateValues = gluamapper.NewMapper(gluamapper.Option{NameFunc: func(name string) string { return name }})

// renderSandboxed is engine:render(template, values) with no partials.
func renderSandboxed(L *lua.LState) int {
	if _, ok := L.CheckUserData(1).Value.(sandboxedMustache); !ok {
		L.ArgError(1, "template expected")
	}
	return render(L, L.CheckString(2), noPartials{})
}

// noPartials is the sandbox's mustache partial provider: there are none.
type noPartials struct{}

func (noPartials) Get(name string) (string, error) {
	return "", fmt.Errorf("template partials ({{> %s}}) are not available in msgscript's sandbox", name)
}
