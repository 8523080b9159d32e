// Package testbrowser drives a real headless Chromium for the tests of web pages, and collects
// what the page did wrong: scripts that threw, console errors (a Content-Security-Policy
// violation among them) and requests that left the page's own origin.
package testbrowser

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Browser is one headless Chromium tab.
type Browser struct {
	ctx    context.Context
	origin string

	mu       sync.Mutex
	problems []string
}

// actionTimeout bounds each step of a test in the browser.
const actionTimeout = 30 * time.Second

// Start opens a tab in a new headless Chromium that may load pages of origin
// ("http://127.0.0.1:port") only; the test is skipped when Chromium is not installed, and fails
// at its end if a page threw, logged an error, or requested anything from another origin.
func Start(t *testing.T, origin string) *Browser {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		t.Skip("no Chromium to test the pages in: install it (apt-get install chromium)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1280, 900))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	b := &Browser{origin: origin}
	ctx, cancelTab := chromedp.NewContext(actx, chromedp.WithListener(b.watch))
	b.ctx = ctx
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, p := range b.problems {
			t.Errorf("in the browser: %s", p)
		}
	})
	if err := chromedp.Do(ctx); err != nil { // starts the browser, bound to no timeout
		t.Fatalf("starting Chromium: %v", err)
	}
	if _, err := chromedp.Call(ctx, log.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	return b
}

// watch notes what goes wrong in the page. It runs in the tab's loop: it must return fast.
func (b *Browser) watch(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		b.problems = append(b.problems, "exception: "+ev.ExceptionDetails.Text)
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError {
			b.problems = append(b.problems, "console.error was called")
		}
	case *log.EventEntryAdded:
		if ev.Entry.Level == log.EntryLevelError {
			b.problems = append(b.problems, "console: "+ev.Entry.Text)
		}
	case *network.EventRequestWillBeSent:
		if u := ev.Request.URL; !strings.HasPrefix(u, b.origin+"/") && !strings.HasPrefix(u, "data:") {
			b.problems = append(b.problems, "request to another origin: "+u)
		}
	}
}

// Do runs actions in the tab, failing the test on error or after actionTimeout.
func (b *Browser) Do(t *testing.T, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatal(err)
	}
}

// Run runs one action that returns a value, failing the test on error or after actionTimeout.
func Run[T any](t *testing.T, b *Browser, action chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, action)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Text is the text of the first element the CSS selector matches, once there is one.
func (b *Browser) Text(t *testing.T, selector string) string {
	t.Helper()
	return strings.TrimSpace(Run(t, b, chromedp.Text(chromedp.CSS(selector))))
}

// Eval is the value of a JavaScript expression in the page.
func Eval[T any](t *testing.T, b *Browser, expr string) T {
	t.Helper()
	return Run(t, b, chromedp.Evaluate[T](expr))
}

// WaitText waits until the text of the element of selector satisfies ok (the page updates
// itself), and returns it; it fails the test after timeout with the last text seen.
func (b *Browser) WaitText(t *testing.T, selector string, timeout time.Duration, ok func(string) bool) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s := b.Text(t, selector)
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still %q after %s", selector, s, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// AXNode is a node of the page's accessibility tree, as a screen reader gets it: its role, its
// accessible name and its properties (focused, pressed, level...), values as JSON text.
type AXNode struct {
	Role, Name string
	Props      map[string]string
}

// Accessibility is the page's accessibility tree, without the nodes it ignores.
func (b *Browser) Accessibility(t *testing.T) []AXNode {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	tree, err := chromedp.Call(ctx, accessibility.GetFullAXTree, accessibility.GetFullAXTreeParams{})
	if err != nil {
		t.Fatal(err)
	}
	text := func(v *accessibility.Value) string {
		if v == nil {
			return ""
		}
		var s any
		if json.Unmarshal([]byte(v.Value), &s) == nil {
			if str, ok := s.(string); ok {
				return str
			}
		}
		return string(v.Value)
	}
	var nodes []AXNode
	for _, n := range tree.Nodes {
		if n.Ignored {
			continue
		}
		node := AXNode{Role: text(n.Role), Name: text(n.Name), Props: map[string]string{}}
		for _, p := range n.Properties {
			node.Props[string(p.Name)] = text(p.Value)
		}
		nodes = append(nodes, node)
	}
	return nodes
}
