package dashboard

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"html/template"
)

// The page template, and the style and script every page carries inline.
var (
	//go:embed page.html
	pageHTML string
	//go:embed dashboard.css
	styleText string
	//go:embed dashboard.js
	scriptText string
)

var (
	pages  = template.Must(template.New("page.html").Parse(pageHTML))
	style  = template.CSS(styleText)
	script = template.JS(scriptText)
)

// contentSecurityPolicy lets the pages run their own inline style and script (by hash) and fetch
// their own updates, and nothing else: no other script, style, image, frame or form target.
var contentSecurityPolicy = "default-src 'none'; style-src '" + digest(styleText) + "'; script-src '" + digest(scriptText) +
	"'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// digest is a CSP source of the hash of an inline element's text.
func digest(text string) string {
	sum := sha256.Sum256([]byte(text))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}
