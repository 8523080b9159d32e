package scrape

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/andybalholm/cascadia"
	lua "github.com/yuin/gopher-lua"
	"golang.org/x/net/html"
)

// Limits on CSS selectors, checked before cascadia parses them: its parser calls itself for each
// parenthesis, and a million nested :not( overflowed the stack and ended the process; its
// matcher searches the subtree of every node for each :has, so :has inside :has costs the
// document's size to the power of their depth (five over 400 nested divs held both cores for
// minutes, past the deadline, in one Go call).
const (
	maxSelector        = 16 << 10 // bytes
	maxSelectorNesting = 16       // parentheses in one another
)

// relational are the pseudo-classes that search around the node they test.
var relational = map[string]bool{"has": true, "haschild": true}

// checkSelector refuses a selector past those limits, or with a :has in a :has.
func checkSelector(css string) error {
	if len(css) > maxSelector {
		return fmt.Errorf("scrape: a selector of %d bytes, over %d", len(css), maxSelector)
	}
	var open []bool // the parentheses open, innermost last: whether each is a :has
	for i := 0; i < len(css); i++ {
		switch c := css[i]; c {
		case '\\':
			i++ // an escaped character is no syntax
		case '"', '\'':
			for i++; i < len(css) && css[i] != c; i++ {
				if css[i] == '\\' {
					i++
				}
			}
		case '(':
			name := i
			for name > 0 && (isNameByte(css[name-1]) || css[name-1] == '\\') {
				name--
			}
			if strings.Contains(css[name:i], "\\") {
				// cascadia reads h\61s as has: a name is taken as written or not at all.
				return fmt.Errorf("scrape: an escaped function name in a selector, %q", css[name:i])
			}
			// cascadia reads pseudo-class names in any case (:HAS is :has).
			has := name > 0 && css[name-1] == ':' && relational[strings.ToLower(css[name:i])]
			if has && slices.Contains(open, true) {
				return fmt.Errorf("scrape: a :has inside a :has (its cost is the document's size to the power of their depth)")
			}
			if len(open) == maxSelectorNesting {
				return fmt.Errorf("scrape: a selector of more than %d parentheses in one another", maxSelectorNesting)
			}
			open = append(open, has)
		case ')':
			if len(open) > 0 {
				open = open[:len(open)-1]
			}
		}
	}
	return nil
}

// isNameByte tells the bytes of a CSS name (bytes of UTF-8 beyond ASCII included).
func isNameByte(c byte) bool {
	return c == '-' || c == '_' || c >= 0x80 || ('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

// selector compiles css for goquery's FindMatcher, within the limits above and the call's
// deadline: the match stops at the deadline (see boundedMatcher), and the caller raises it
// (see matched). A selector cascadia cannot parse matches nothing, as with goquery's Find.
func selector(L *lua.LState, css string) *boundedMatcher {
	if err := checkSelector(css); err != nil {
		L.RaiseError("%v", err)
	}
	sel, err := cascadia.Compile(css)
	if err != nil {
		sel = func(*html.Node) bool { return false }
	}
	return &boundedMatcher{sel: sel, ctx: L.Context()}
}

// boundedMatcher is a cascadia selector whose walks over the document end at the call's deadline:
// each node is one Go call of cascadia's, and a large document has many.
type boundedMatcher struct {
	sel cascadia.Selector
	ctx context.Context
	n   int // nodes tested
}

func (m *boundedMatcher) done() bool {
	m.n++
	return m.ctx != nil && m.n%256 == 0 && m.ctx.Err() != nil
}

func (m *boundedMatcher) Match(n *html.Node) bool { return m.sel.Match(n) }

// MatchAll is n and its descendants that match, in document order, as cascadia's, until the
// deadline.
func (m *boundedMatcher) MatchAll(n *html.Node) []*html.Node {
	var found []*html.Node
	var walk func(*html.Node) bool
	walk = func(n *html.Node) bool {
		if m.done() {
			return false
		}
		if n.Type == html.ElementNode && m.sel.Match(n) {
			found = append(found, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if !walk(c) {
				return false
			}
		}
		return true
	}
	walk(n)
	return found
}

func (m *boundedMatcher) Filter(nodes []*html.Node) []*html.Node {
	var kept []*html.Node
	for _, n := range nodes {
		if m.done() {
			break
		}
		if m.sel.Match(n) {
			kept = append(kept, n)
		}
	}
	return kept
}

// matched raises the call's deadline when it ended a match: what it found is not the answer.
func (m *boundedMatcher) matched(L *lua.LState) {
	if m.ctx != nil && m.ctx.Err() != nil {
		L.RaiseError("scrape: %v while matching the selector", m.ctx.Err())
	}
}
