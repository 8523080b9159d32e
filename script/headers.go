// Package script reads what a script or library says about itself: the `--* key: value` header
// lines, and whether a subject pattern or a name may be used. It has no dependencies so that the
// stores, the engine and the CLI can all share it.
package script

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Headers are the `--* key: value` lines of a script or library, the contract kept from the
// original msgscript:
//
//	--* subject: funcs.hello   NATS subject pattern the script listens on
//	--* name: hello            name of the script (unique per subject)
//	--* require: web           library prepended to the script (repeatable)
//	--* http: true             HTTP mode: call the function named after the verb (`html` is an alias)
//	--* timeout: 5s            per-call deadline, overriding the server default
type Headers struct {
	Subject  string
	Name     string
	Requires []string
	HTTP     bool
	Timeout  time.Duration
}

// HeaderError points at the header line that could not be read.
type HeaderError struct {
	Line int // 1-based line in the text that was parsed
	Msg  string
}

func (e *HeaderError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

const headerPrefix = "--*"

// ParseHeaders reads every header line of src. Lines that do not start with `--*` (after leading
// blanks) are ignored. On an error it still returns what it could read, so a store can find the
// subject and name of a script whose other headers are wrong and report the error against it; the
// error is the first one met.
func ParseHeaders(src []byte) (Headers, error) {
	var h Headers
	var first error
	seen := map[string]int{}
	for lineNo := 1; len(src) > 0; lineNo++ {
		var line []byte
		line, src, _ = bytes.Cut(src, []byte{'\n'})
		line = bytes.TrimLeft(line, " \t")
		if !bytes.HasPrefix(line, []byte(headerPrefix)) {
			continue
		}
		if err := h.set(string(line[len(headerPrefix):]), seen, lineNo); err != nil && first == nil {
			first = err
		}
	}
	return h, first
}

// set applies one header line (without its `--*` prefix).
func (h *Headers) set(line string, seen map[string]int, lineNo int) error {
	fail := func(format string, args ...any) error {
		return &HeaderError{Line: lineNo, Msg: fmt.Sprintf(format, args...)}
	}
	key, value, ok := strings.Cut(line, ":")
	key = strings.ToLower(strings.TrimSpace(key))
	value = strings.TrimSpace(strings.TrimSuffix(value, "\r"))
	if !ok || key == "" {
		return fail("malformed header %q, want `--* key: value`", strings.TrimSpace(line))
	}
	if value == "" {
		return fail("header %q has no value", key)
	}
	if key != "require" {
		// Only require may repeat: a second subject or name is almost always a copy-paste mistake.
		canonical := key
		if key == "html" {
			canonical = "http"
		}
		if prev, dup := seen[canonical]; dup {
			return fail("header %q repeats the one on line %d", key, prev)
		}
		seen[canonical] = lineNo
	}
	switch key {
	case "subject":
		if err := ValidatePattern(value); err != nil {
			return fail("%v", err)
		}
		h.Subject = value
	case "name":
		if err := ValidateName(value); err != nil {
			return fail("%v", err)
		}
		h.Name = value
	case "require":
		if err := ValidateName(value); err != nil {
			return fail("require: %v", err)
		}
		h.Requires = append(h.Requires, value)
	case "http", "html":
		b, err := strconv.ParseBool(value)
		if err != nil {
			return fail("header %q wants true or false, got %q", key, value)
		}
		h.HTTP = b
	case "timeout":
		d, err := time.ParseDuration(value)
		if err != nil || d <= 0 {
			return fail("header \"timeout\" wants a positive duration such as 5s or 250ms, got %q", value)
		}
		h.Timeout = d
	default:
		return fail("unknown header %q (known: subject, name, require, http, html, timeout)", key)
	}
	return nil
}
