// Package scrape is the scrape plugin on goquery, with the original msgscript's API plus a parsed
// document for CSS selectors:
//
//	texts = scrape.find_text_by_tag(html, "h1")          -- also _by_class, _by_id
//	href  = scrape.find_attr_by_tag(html, "a", "href")   -- the first match's attribute, or nil
//	hrefs = scrape.find_attrs_by_tag(html, "a", "href")  -- every match's attribute
//	doc, err = scrape.parse(html)
//	sel = doc:find("ul > li.item")                       -- sel:text(), sel:attr(name),
//	sel:each(function(i, s) ... end)                     -- sel:find(css), sel:length()
package scrape

import (
	"context"
	"fmt"
	"strings"

	"github.com/PuerkitoBio/goquery"
	lua "github.com/yuin/gopher-lua"

	"github.com/msgscript/msgscript/callctx"
	"github.com/msgscript/msgscript/plugins"
)

func init() {
	plugins.Register(plugins.Plugin{Name: "scrape", Loader: Loader})
}

const selectionType = "scrape.selection"

// Loader builds the module table.
func Loader(L *lua.LState) int {
	mt := L.NewTypeMetatable(selectionType)
	L.SetField(mt, "__index", L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
		"find":   selFind,
		"text":   selText,
		"attr":   selAttr,
		"each":   selEach,
		"length": selLength,
		"html":   selHTML,
	}))
	funcs := map[string]lua.LGFunction{"parse": parse}
	by := map[string]func(string) string{
		"tag":   func(v string) string { return v },
		"class": func(v string) string { return "." + cssIdent(v) },
		"id":    func(v string) string { return "#" + cssIdent(v) },
	}
	for kind, sel := range by {
		funcs["find_text_by_"+kind] = func(L *lua.LState) int {
			doc := document(L, L.CheckString(1))
			list := L.NewTable()
			find(L, doc.Selection, sel(L.CheckString(2))).Each(func(_ int, s *goquery.Selection) {
				list.Append(lua.LString(strings.TrimSpace(s.Text())))
			})
			L.Push(list)
			return 1
		}
		funcs["find_attr_by_"+kind] = func(L *lua.LState) int {
			doc := document(L, L.CheckString(1))
			v, ok := find(L, doc.Selection, sel(L.CheckString(2))).Attr(L.CheckString(3))
			if !ok {
				L.Push(lua.LNil)
				return 1
			}
			L.Push(lua.LString(v))
			return 1
		}
		funcs["find_attrs_by_"+kind] = func(L *lua.LState) int {
			doc := document(L, L.CheckString(1))
			attr := L.CheckString(3)
			list := L.NewTable()
			find(L, doc.Selection, sel(L.CheckString(2))).Each(func(_ int, s *goquery.Selection) {
				if v, ok := s.Attr(attr); ok {
					list.Append(lua.LString(v))
				}
			})
			L.Push(list)
			return 1
		}
	}
	L.Push(L.SetFuncs(L.NewTable(), funcs))
	return 1
}

// cssIdent escapes a class or id for a selector, so that a name is never read as CSS syntax.
func cssIdent(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 0x80 || isNameByte(byte(r)) {
			b.WriteRune(r)
			continue
		}
		fmt.Fprintf(&b, "\\%x ", r)
	}
	return b.String()
}

func document(L *lua.LState, html string) *goquery.Document {
	doc, err := load(L, html)
	if err != nil {
		L.RaiseError("%v", err)
	}
	return doc
}

// nodeBytes is what the parsed document may hold for each < of its HTML: a node and the elements
// HTML implies (a tag of four bytes, <br>, made ~130 bytes of tree); attrBytes for each attribute
// (one tag of 5,000,000 took 22 s and 1.2 GB).
const (
	nodeBytes = 320
	attrBytes = 128
)

// treeSize is what the parsed document of html may hold, at most: the text, nodeBytes for each <
// and attrBytes for each attribute, counted as each run of characters after a blank inside a tag
// (words of a quoted value count too).
func treeSize(html string) int {
	size := len(html)
	inTag, blank := false, false
	for i := 0; i < len(html); i++ {
		switch c := html[i]; {
		case c == '<':
			inTag, blank = true, false
			size += nodeBytes
		case c == '>':
			inTag = false
		case !inTag: // text: counted in len(html)
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '/':
			blank = true
		case blank:
			blank = false
			size += attrBytes
		}
	}
	return size
}

// load parses html within the call's value bound, in room admitted under the memory limit: the
// tree is many times the text (24 MB of <br> took 47 s and 800 MB, past a 256 MiB memory_limit,
// in one Go call that the memory guard could not end). See treeSize; the parse ends with the
// call's deadline (see deadlineReader).
func load(L *lua.LState, html string) (*goquery.Document, error) {
	size := treeSize(html)
	if bound := callctx.ValueBound(L.Context()); size > bound {
		return nil, fmt.Errorf("scrape: the HTML would make more than %d bytes of nodes, the largest value a call may make", bound)
	}
	release, err := callctx.Admit(L.Context(), size)
	if err != nil {
		return nil, fmt.Errorf("scrape: %w", err)
	}
	defer release()
	doc, err := goquery.NewDocumentFromReader(&deadlineReader{r: strings.NewReader(html), ctx: L.Context()})
	if err != nil {
		return nil, fmt.Errorf("scrape: %w", err)
	}
	return doc, nil
}

// deadlineReader gives the HTML parser its text 16 KiB at a time until the call's deadline, when
// the parse fails: some HTML costs the parser far more than its size (200,000 <form>x, 1.4 MB,
// took 9 s), in what is otherwise one Go call.
type deadlineReader struct {
	r   *strings.Reader
	ctx context.Context
}

func (d *deadlineReader) Read(p []byte) (int, error) {
	if d.ctx != nil {
		if err := d.ctx.Err(); err != nil {
			return 0, err
		}
	}
	return d.r.Read(p[:min(len(p), 16<<10)])
}

func parse(L *lua.LState) int {
	doc, err := load(L, L.CheckString(1))
	if err != nil {
		L.Push(lua.LNil)
		L.Push(lua.LString(err.Error()))
		return 2
	}
	L.Push(wrap(L, doc.Selection))
	return 1
}

func wrap(L *lua.LState, s *goquery.Selection) *lua.LUserData {
	ud := L.NewUserData()
	ud.Value = s
	L.SetMetatable(ud, L.GetTypeMetatable(selectionType))
	return ud
}

func check(L *lua.LState) *goquery.Selection {
	if s, ok := L.CheckUserData(1).Value.(*goquery.Selection); ok {
		return s
	}
	L.ArgError(1, "selection expected")
	return nil
}

func selFind(L *lua.LState) int {
	L.Push(wrap(L, find(L, check(L), L.CheckString(2))))
	return 1
}

// find is s.Find(css) within the selector limits and the call's deadline.
func find(L *lua.LState, s *goquery.Selection, css string) *goquery.Selection {
	m := selector(L, css)
	found := s.FindMatcher(m)
	m.matched(L)
	return found
}

func selText(L *lua.LState) int {
	L.Push(lua.LString(strings.TrimSpace(check(L).Text())))
	return 1
}

func selAttr(L *lua.LState) int {
	v, ok := check(L).Attr(L.CheckString(2))
	if !ok {
		L.Push(lua.LNil)
		return 1
	}
	L.Push(lua.LString(v))
	return 1
}

func selLength(L *lua.LState) int {
	L.Push(lua.LNumber(check(L).Length()))
	return 1
}

func selHTML(L *lua.LState) int {
	h, err := goquery.OuterHtml(check(L))
	if err != nil {
		L.RaiseError("scrape: %v", err)
	}
	L.Push(lua.LString(h))
	return 1
}

// selEach calls fn(i, selection) for each element, i from 1; returning false stops.
func selEach(L *lua.LState) int {
	s := check(L)
	fn := L.CheckFunction(2)
	s.EachWithBreak(func(i int, e *goquery.Selection) bool {
		L.Push(fn)
		L.Push(lua.LNumber(i + 1))
		L.Push(wrap(L, e))
		L.Call(2, 1)
		ret := L.Get(-1)
		L.Pop(1)
		return ret != lua.LFalse
	})
	L.Push(L.Get(1))
	return 1
}
