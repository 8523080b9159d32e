package scrape

import (
	"context"
	"testing"

	lua "github.com/yuin/gopher-lua"

	"github.com/msgscript/msgscript/callctx"
)

const page = `<html><body>
<h1>Title</h1><h1> Second </h1>
<p class="lead note">First para</p><p class="note">Other</p>
<div id="main"><a href="/one" class="link">One</a><a href="/two">Two</a><a>no href</a></div>
<ul><li class="item" data-id="1">A</li><li class="item" data-id="2">B</li><li>C</li></ul>
</body></html>`

func TestScrape(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	L.PreloadModule("scrape", Loader)
	L.SetGlobal("page", lua.LString(page))
	err := L.DoString(`
		local scrape = require("scrape")
		local function join(t) return table.concat(t, ",") end
		result = join({
			join(scrape.find_text_by_tag(page, "h1")),
			join(scrape.find_text_by_class(page, "note")),
			join(scrape.find_text_by_id(page, "main")),
			scrape.find_attr_by_tag(page, "a", "href"),
			tostring(scrape.find_attr_by_tag(page, "table", "x")),
			join(scrape.find_attrs_by_tag(page, "a", "href")),
			scrape.find_attr_by_class(page, "link", "href"),
			join(scrape.find_attrs_by_class(page, "item", "data-id")),
			scrape.find_attr_by_id(page, "main", "id"),
			#scrape.find_text_by_class(page, "x.y"),
		})
		local doc = assert(scrape.parse(page))
		local items = {}
		doc:find("ul > li.item"):each(function(i, s) items[#items + 1] = i .. s:text() .. s:attr("data-id") end)
		parsed = join(items) .. ";" .. doc:find("li"):length() .. ";" .. doc:find("#main"):find("a"):text() .. ";" .. tostring(doc:find("a"):attr("nope"))
	`)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := L.GetGlobal("result").String(), "Title,Second,First para,Other,OneTwono href,/one,nil,/one,/two,/one,1,2,main,0"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if got, want := L.GetGlobal("parsed").String(), "1A1,2B2;3;OneTwono href;nil"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// A document's tree is many times its HTML: a parse that would pass the call's value bound is
// refused before it starts.
func TestScrapeIsBounded(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	L.PreloadModule("scrape", Loader)
	L.SetContext(context.WithValue(context.Background(), callctx.ValueBoundKey, 1<<20))
	if err := L.DoString(`local scrape = require("scrape")
		assert(#scrape.find_text_by_tag(("<p>x</p>"):rep(1000), "p") == 1000)
		local doc, err = scrape.parse(("<br>"):rep(10000))
		assert(doc == nil and err:find("scrape: the HTML would make more than 1048576 bytes of nodes"), err)
		local ok, err = pcall(scrape.find_text_by_tag, ("<br>"):rep(10000), "br")
		assert(not ok and err:find("more than 1048576 bytes of nodes"), err)`); err != nil {
		t.Fatal(err)
	}
}
