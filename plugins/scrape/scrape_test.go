package scrape

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/andybalholm/cascadia"

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
		assert(not ok and err:find("more than 1048576 bytes of nodes"), err)
		-- attributes count too: 5,000,000 in one tag took 22 s and 1.2 GB
		doc, err = scrape.parse("<p" .. (" a"):rep(10000) .. ">x</p>")
		assert(doc == nil and err:find("more than 1048576 bytes of nodes"), err)
		assert(scrape.parse("<p" .. (" a"):rep(1000) .. ">x</p>"):find("p"):length() == 1)`); err != nil {
		t.Fatal(err)
	}
}

// Selectors are held to limits before cascadia parses them (a million nested :not( overflowed
// its parser's stack and ended the process; a :has in a :has over 400 nested divs ran for
// minutes), through every function that takes one.
func TestScrapeSelectorsAreBounded(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	L.PreloadModule("scrape", Loader)
	if err := L.DoString(`local scrape = require("scrape")
		local doc = scrape.parse("<div><p title='a:has(:has(b))'>x <span>y</span></p></div>")
		local function refused(sel, want)
			local ok, err = pcall(doc.find, doc, sel)
			assert(not ok and err:find(want, 1, true), sel:sub(1, 40) .. ": " .. tostring(err))
			ok, err = pcall(scrape.find_text_by_tag, "<a>x</a>", sel)
			assert(not ok and err:find(want, 1, true), "by tag: " .. tostring(err))
		end
		refused((":not("):rep(1000000) .. "a" .. (")"):rep(1000000), "a selector of 6000001 bytes, over 16384")
		refused((":not("):rep(17) .. "a" .. (")"):rep(17), "more than 16 parentheses in one another")
		refused("div:has(p:has(span))", "a :has inside a :has")
		refused("div:not(:haschild(p:has(span)))", "a :has inside a :has")
		refused("div:HAS(p:Has(span))", "a :has inside a :has")
		refused("div:h\\61s(p:has(span))", "an escaped function name")
		assert(doc:find("p:("):length() == 0 and #scrape.find_text_by_tag("<a>x</a>", "") == 0) -- as goquery's Find
		assert(doc:find((":not("):rep(16) .. "span" .. (")"):rep(16)):length() == 1)
		assert(doc:find("div:has(span), p:has(span)"):length() == 2)
		assert(doc:find("[title='a:has(:has(b))']"):length() == 1)
		assert(doc:find("div:has(span)"):find("p:haschild(span)"):text() == "x y")`); err != nil {
		t.Fatal(err)
	}
}

// A match stops at the call's deadline: :has over 500 nested divs around 100,000 paragraphs
// searches each div's subtree, 50 million nodes in cascadia's Go calls.
func TestScrapeMatchingEndsWithTheDeadline(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	L.PreloadModule("scrape", Loader)
	bound := context.WithValue(context.Background(), callctx.ValueBoundKey, 64<<20)
	L.SetContext(bound) // the parse, which also ends with the deadline, without one
	if err := L.DoString(`doc = assert(require("scrape").parse(("<div>"):rep(500) .. ("<p>x"):rep(100000)))`); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(bound, 200*time.Millisecond)
	defer cancel()
	L.SetContext(ctx)
	err := L.DoString(`return doc:find("div:has(span)"):length()`)
	if err == nil || !strings.Contains(err.Error(), "scrape: context deadline exceeded while matching the selector") {
		t.Errorf("got %v", err)
	}
}

// The parse stops at the call's deadline too: 200,000 <form>x took x/net/html 9 s.
func TestScrapeParsingEndsWithTheDeadline(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), callctx.ValueBoundKey, 256<<20), 100*time.Millisecond)
	defer cancel()
	L.SetContext(ctx)
	if doc, err := load(L, strings.Repeat("<form>x", 200000)); doc != nil || err == nil || err.Error() != "scrape: context deadline exceeded" {
		t.Errorf("got %v", err)
	}
}

// The walk itself stops: once the deadline has passed, a match tests 256 more nodes at most.
func TestBoundedMatcherStopsWalking(t *testing.T) {
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(strings.Repeat("<p>x", 10000)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &boundedMatcher{sel: cascadia.MustCompile("p"), ctx: ctx}
	if found := doc.FindMatcher(m).Length(); found != 10000 {
		t.Fatalf("before the deadline: %d paragraphs, want 10000", found)
	}
	cancel()
	m.n = 0
	if found := doc.FindMatcher(m).Length(); found > 256 || m.n > 256 {
		t.Errorf("after the deadline: %d paragraphs found, %d nodes tested", found, m.n)
	}
}
