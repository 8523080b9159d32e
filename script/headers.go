// Package script reads what a script or library says about itself: the `--* key: value` header
// lines, and whether a subject pattern or a name may be used. It depends on nothing but a cron
// parser, so that the stores, the engine and the CLI can all share it.
package script

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
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
//
// msgscript's own reply format:
//
//	--* reply: raw             what OnMessage returns is the whole reply (default json: an object
//	                           from script name to what it returned); the script must be alone on
//	                           its subject
//
// and msgscript's own, for durable and scheduled work on NATS JetStream:
//
//	--* stream: WEBHOOKS       run on the messages of this JetStream stream (a durable consumer)
//	--* max_deliver: 5         tries of one message before it goes to msgscript.dead.<subject>
//	--* backoff: 1s, 5s, 30s   waits before each retry; the last one repeats
//	--* deliver: new           a new consumer starts at the end of the stream (default: all)
//	--* cron: */5 * * * *      also run OnMessage(subject, "") on this schedule, once per cluster
type Headers struct {
	Subject  string
	Name     string
	Requires []string
	HTTP     bool
	Timeout  time.Duration
	RawReply bool

	// SubjectLine is the line of the subject header (0 without one), to point at it when the
	// subject a script is stored under differs.
	SubjectLine int
	// TimeoutLine is the line of the timeout header (0 without one).
	TimeoutLine int

	Stream     string
	MaxDeliver int             // 0 when not set: DefaultMaxDeliver
	Backoff    []time.Duration // nil when not set: DefaultBackoff
	DeliverNew bool
	Cron       string

	// Warnings are the header lines read but not used: an unknown header (the original msgscript
	// ignored them, and its later versions added some), or one that repeats an earlier one (the
	// later wins, as in the original). The script still loads; the server logs them and the CLI
	// prints them.
	Warnings []HeaderError
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
// error holds every problem of the text (errors.Join of *HeaderError, in line order).
func ParseHeaders(src []byte) (Headers, error) {
	var h Headers
	var errs []error
	seen := map[string]int{}
	for lineNo := 1; len(src) > 0; lineNo++ {
		var line []byte
		line, src, _ = bytes.Cut(src, []byte{'\n'})
		line = bytes.TrimLeft(line, " \t")
		if !bytes.HasPrefix(line, []byte(headerPrefix)) {
			continue
		}
		if err := h.set(string(line[len(headerPrefix):]), seen, lineNo); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		if err := h.check(seen); err != nil {
			errs = append(errs, err)
		}
	}
	return h, errors.Join(errs...)
}

// warn records a header line that is read but not used.
func (h *Headers) warn(line int, format string, args ...any) {
	h.Warnings = append(h.Warnings, HeaderError{Line: line, Msg: fmt.Sprintf(format, args...)})
}

// didYouMean names the known header key is a slip of ("subjet", "timout", "requires"), as
// " (did you mean subject?)", or says which are known.
func didYouMean(key string) string {
	best, bestDist := "", 3
	for _, k := range knownHeaders {
		if d := distance(key, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %s?)", best)
	}
	return " (known: " + strings.Join(knownHeaders, ", ") + ")"
}

// distance is the Levenshtein distance between a and b (bytes: header keys are ASCII).
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

var knownHeaders = []string{"subject", "name", "require", "http", "html", "timeout", "reply", "stream", "max_deliver", "backoff", "deliver", "cron"}

// check refuses headers that make no sense together, pointing at the line of the one that needs
// another.
func (h *Headers) check(seen map[string]int) error {
	if h.Stream == "" {
		for _, key := range []string{"max_deliver", "backoff", "deliver"} {
			if line, ok := seen[key]; ok {
				return &HeaderError{Line: line, Msg: fmt.Sprintf("header %q needs a `--* stream:` header: it tunes how a stream's messages are retried", key)}
			}
		}
	}
	if h.RawReply && h.HTTP {
		return &HeaderError{Line: seen["reply"], Msg: "header \"reply: raw\" is for OnMessage scripts: in HTTP mode the script's response is the reply already"}
	}
	if h.Cron != "" {
		if h.Stream != "" {
			return &HeaderError{Line: seen["cron"], Msg: "headers \"cron\" and \"stream\" exclude each other: a script runs on a schedule or on a stream's messages"}
		}
		if h.Subject != "" && strings.ContainsAny(h.Subject, "*>") {
			return &HeaderError{Line: seen["cron"], Msg: fmt.Sprintf("header \"cron\" needs a subject without wildcards to call OnMessage with, got %q", h.Subject)}
		}
	}
	return nil
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
	if !slices.Contains(knownHeaders, key) {
		h.warn(lineNo, "unknown header %q, ignored%s", key, didYouMean(key))
		return nil
	}
	if key != "require" {
		// Only require repeats by design: a second subject or name is more often a copy-paste
		// mistake than meant, so it is said; the later one wins, as in the original msgscript.
		canonical := key
		if key == "html" {
			canonical = "http"
		}
		if prev, dup := seen[canonical]; dup {
			h.warn(lineNo, "header %q repeats the one on line %d; this later one wins", key, prev)
		}
		seen[canonical] = lineNo
	}
	switch key {
	case "subject":
		if err := ValidatePattern(value); err != nil {
			return fail("%v", err)
		}
		h.Subject, h.SubjectLine = value, lineNo
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
		h.Timeout, h.TimeoutLine = d, lineNo
	case "reply":
		switch strings.ToLower(value) {
		case "raw":
			h.RawReply = true
		case "json":
			h.RawReply = false
		default:
			return fail("header \"reply\" wants raw or json, got %q", value)
		}
	case "stream":
		if err := ValidateStream(value); err != nil {
			return fail("%v", err)
		}
		h.Stream = value
	case "max_deliver":
		n, err := strconv.Atoi(value)
		if err != nil || n < 1 || n > MaxMaxDeliver {
			return fail("header \"max_deliver\" wants a number of tries from 1 to %d, got %q", MaxMaxDeliver, value)
		}
		h.MaxDeliver = n
	case "backoff":
		b, err := parseBackoff(value)
		if err != nil {
			return fail("header \"backoff\": %v", err)
		}
		h.Backoff = b
	case "deliver":
		switch strings.ToLower(value) {
		case "new":
			h.DeliverNew = true
		case "all":
			h.DeliverNew = false
		default:
			return fail("header \"deliver\" wants new or all, got %q", value)
		}
	case "cron":
		if _, err := ParseSchedule(value); err != nil {
			return fail("header \"cron\": %v", err)
		}
		h.Cron = value
	}
	return nil
}
