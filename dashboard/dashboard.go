// Package dashboard serves msgscript's web pages: a list of the scripts with their state,
// counters, latency and last error, refreshing by itself, and a page per script. The pages are
// one HTML document each, their style and script inline (no external asset: they work offline),
// under a Content-Security-Policy that allows nothing else. They link to each other with query
// strings only, so that they work wherever they are mounted.
package dashboard

import (
	"bytes"
	"net/http"
	"time"

	"github.com/msgscript/msgscript/engine"
)

// Handler serves the pages.
type Handler struct {
	// Source returns what the pages show: the instance and its registry; ok is false while
	// msgscript is not running (the pages then say so, with status 503).
	Source func() (inst engine.Instance, reg *engine.Registry, ok bool)
	// ShowSource shows each script's text on its page. Off by default: scripts can hold secrets.
	ShowSource bool
	// Refresh is how often the pages update themselves. Default: 2s.
	Refresh time.Duration
}

// DefaultRefresh is how often the pages update themselves when Handler.Refresh is not set.
const DefaultRefresh = 2 * time.Second

// The query parameters of the pages.
const (
	paramSubject = "subject" // with paramName: the script's page
	paramName    = "name"
	paramPart    = "part" // "main": the page's main element alone, for the page's own refresh
)

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "the dashboard only answers GET", http.StatusMethodNotAllowed)
		return
	}
	q := r.URL.Query()
	p, status := h.page(q.Get(paramSubject), q.Get(paramName), time.Now())
	var buf bytes.Buffer
	name := "page"
	if q.Get(paramPart) == "main" {
		name = "main"
	}
	if err := pages.ExecuteTemplate(&buf, name, p); err != nil {
		http.Error(w, "rendering the dashboard: "+err.Error(), http.StatusInternalServerError)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	hdr.Set("Content-Security-Policy", contentSecurityPolicy)
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// page builds the page asked for: the script's when subject or name is given, else the list.
func (h *Handler) page(subject, name string, now time.Time) (page, int) {
	refresh := h.Refresh
	if refresh <= 0 {
		refresh = DefaultRefresh
	}
	p := page{RefreshMS: refresh.Milliseconds(), Updated: now, Style: style, Script: script}
	inst, reg, ok := h.Source()
	if !ok {
		p.Title = "msgscript is not running"
		return p, http.StatusServiceUnavailable
	}
	p.Running, p.Instance = true, instanceOf(inst)
	if subject == "" && name == "" {
		p.Title = "msgscript scripts"
		for _, st := range reg.Status() {
			p.Scripts = append(p.Scripts, rowOf(st, now))
		}
		p.Summary = summary(p.Scripts)
		return p, http.StatusOK
	}
	st, source, ok := reg.ScriptStatus(subject, name)
	if !ok {
		p.Title = "No script " + name + " on " + subject
		p.Missing = true
		return p, http.StatusNotFound
	}
	d := detailOf(st, now)
	if h.ShowSource {
		d.Source = sourceOf(source, st.ErrorLine)
		d.ShowSource = true
	}
	p.Title = "msgscript: " + st.Subject + " " + st.Name
	p.Detail = &d
	return p, http.StatusOK
}
