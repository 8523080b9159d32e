package caddymodule

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/msgscript/msgscript/internal/testbrowser"
	"github.com/msgscript/msgscript/internal/testfiles"
	"github.com/msgscript/msgscript/internal/testhttp"
	"github.com/msgscript/msgscript/internal/testnet"
)

// helloRow selects a cell of hello's row in the list page.
func helloRow(cell string) string {
	return `tr[data-key="funcs.hello hello"] [data-cell="` + cell + `"]`
}

// The dashboard as a user sees it in Chromium: every script with its counters and last error,
// a stored version that does not compile, counters that update by themselves without moving
// the keyboard focus, a pause button a screen reader knows as such, the script's page reached
// with the keyboard, and its source only with show_source. The browser reports any script
// error, blocked inline part (Content-Security-Policy) or request to another origin.
func TestDashboardInBrowser(t *testing.T) {
	natsAddr, site := testnet.FreeAddr(t), testnet.FreeAddr(t)
	dir := testfiles.Dir(t, map[string]string{
		"hello.lua":  helloScript,
		"fail.lua":   "--* subject: funcs.fail\nfunction OnMessage(s, p)\n  error('no luck <b>' .. p)\nend\n",
		"broken.lua": "--* subject: funcs.broken\nfunction OnMessage() return 'v1' end\n",
	})
	caddyfile := fmt.Sprintf(`{
	admin off
	msgscript {
		embedded_nats %s
		store dir %s
	}
}
http://%s {
	handle_path /_/* {
		msgscript_ui {
			refresh 200ms
		}
	}
	handle_path /src/* {
		msgscript_ui {
			show_source
		}
	}
}
`, natsAddr, dir, site)
	loadCaddyfile(t, caddyfile)

	nc := connectTo(t, "nats://"+natsAddr)
	for range 3 {
		askHello(t, nc)
	}
	if _, err := nc.Request("funcs.fail", []byte("!"), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	testfiles.Write(t, dir, map[string]string{"broken.lua": "--* subject: funcs.broken\nfunction OnMessage()\n  return 'v2' +\nend\n"})
	origin := "http://" + site
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(testhttp.Do(t, "GET", origin+"/_/", nil).Body, "does not compile") {
		if time.Now().After(deadline) {
			t.Fatal("the broken version never showed")
		}
		time.Sleep(20 * time.Millisecond)
	}

	b := testbrowser.Start(t, origin)
	b.Do(t, chromedp.Navigate(origin+"/_/"))
	if got := b.Text(t, helloRow("calls")); got != "3" {
		t.Errorf("hello's calls: %q", got)
	}
	if got := b.Text(t, `tr[data-key="funcs.fail fail"] [data-cell="last-error"]`); !strings.Contains(got, "no luck <b>!") {
		t.Errorf("fail's last error: %q", got)
	}
	if got := b.Text(t, `tr[data-key="funcs.broken broken"] [data-cell="state"]`); !strings.Contains(got, "does not compile") {
		t.Errorf("broken's state: %q", got)
	}

	// The counters update while the keyboard focus stays on the link it was on.
	b.Do(t, chromedp.Focus(chromedp.CSS(`tr[data-key="funcs.hello hello"] a`)))
	askHello(t, nc)
	askHello(t, nc)
	b.WaitText(t, helloRow("calls"), 10*time.Second, func(s string) bool { return s == "5" })
	if !testbrowser.Eval[bool](t, b, `document.activeElement === document.querySelector('tr[data-key="funcs.hello hello"] a')`) {
		t.Errorf("the focus moved, to %q", testbrowser.Eval[string](t, b, `document.activeElement.tagName`))
	}

	// Pause: a toggle button for screen readers, and the numbers stay.
	b.Do(t, chromedp.Click(chromedp.ID("pause")))
	var pause *testbrowser.AXNode
	var table bool
	for _, n := range b.Accessibility(t) {
		switch {
		case n.Role == "button" && n.Name == "Resume updates":
			pause = &n
		case n.Role == "table" && strings.HasPrefix(n.Name, "Each script"):
			table = true
		}
	}
	if pause == nil || pause.Props["pressed"] != "true" {
		t.Errorf("the pause button, as a screen reader sees it: %+v", pause)
	}
	if !table {
		t.Error("no table named by its caption in the accessibility tree")
	}
	askHello(t, nc)
	time.Sleep(time.Second) // five refresh periods
	if got := b.Text(t, helloRow("calls")); got != "5" {
		t.Errorf("paused, the calls still changed: %q", got)
	}

	// The script's page, by keyboard; no source without show_source.
	b.Do(t, chromedp.Focus(chromedp.CSS(`tr[data-key="funcs.fail fail"] a`)), chromedp.KeyEvent(kb.Enter))
	b.WaitText(t, "h1", 10*time.Second, func(s string) bool { return strings.Contains(s, "funcs.fail fail") })
	if got := b.Text(t, `pre[data-cell="last-error"]`); !strings.Contains(got, "no luck <b>!") {
		t.Errorf("the script page's last error: %q", got)
	}
	if got := b.Text(t, "#source-h + p"); !strings.Contains(got, "show_source") {
		t.Errorf("without show_source: %q", got)
	}

	b.Do(t, chromedp.Navigate(origin+"/src/?subject=funcs.broken&name=broken"))
	if got := b.Text(t, "h3"); !strings.Contains(got, "does not compile (line 4)") {
		t.Errorf("broken's compile error: %q", got)
	}
	if got := b.Text(t, ".error-line mark"); got != "end" {
		t.Errorf("the marked line: %q", got)
	}
}
