package script

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// ValidatePattern reports whether a script may listen on subject. Wildcards are allowed as whole
// tokens (`funcs.*`, `funcs.>`), but the first token must be literal: a pattern such as `>` or
// `*.>` would also catch every request's reply inbox and the server's own `$SYS`/`$JS` traffic.
// For the same reason subjects starting with `$` or `_INBOX` are refused.
func ValidatePattern(subject string) error {
	tokens, err := tokenize(subject)
	if err != nil {
		return err
	}
	switch {
	case tokens[0] == "*" || tokens[0] == ">":
		return fmt.Errorf("subject %q starts with a wildcard; the first token must be literal", subject)
	case Reserved(subject):
		return fmt.Errorf("subject %q is reserved for NATS itself ($... and _INBOX...)", subject)
	}
	for i, t := range tokens {
		if t == ">" && i != len(tokens)-1 {
			return fmt.Errorf("subject %q: '>' may only be the last token", subject)
		}
	}
	return nil
}

// MaxSubjectLen bounds the subjects msgscript subscribes to, publishes to or lets HTTP requests
// reach. NATS refuses a protocol line over its max_control_line (4096 bytes by default, subject,
// reply subject and sizes together) by closing the connection: a bound well below it keeps one
// long subject from cutting msgscript off NATS.
const MaxSubjectLen = 1024

// ErrSubjectTooLong is the error (wrapped) of a subject over MaxSubjectLen.
var ErrSubjectTooLong = fmt.Errorf("subject longer than %d bytes", MaxSubjectLen)

// tokenize splits a subject on dots and refuses empty tokens, blanks and subjects over
// MaxSubjectLen.
func tokenize(subject string) ([]string, error) {
	if err := checkShape(subject); err != nil {
		return nil, err
	}
	return strings.Split(subject, "."), nil
}

// checkShape refuses an empty subject, one over MaxSubjectLen, a blank and an empty token.
func checkShape(subject string) error {
	if subject == "" {
		return errors.New("subject is empty")
	}
	if len(subject) > MaxSubjectLen {
		return fmt.Errorf("%w (%d bytes)", ErrSubjectTooLong, len(subject))
	}
	if strings.IndexFunc(subject, unicode.IsSpace) >= 0 {
		return fmt.Errorf("subject %q contains a blank", subject)
	}
	if subject[0] == '.' || subject[len(subject)-1] == '.' || strings.Contains(subject, "..") {
		return fmt.Errorf("subject %q has an empty token", subject)
	}
	return nil
}

// ValidateName reports whether name may name a script or a library. Names become the last
// segment of an etcd key (`msgscript/scripts/<subject>/<name>`) and a key of the reply object, so
// they may not contain '/' or control characters.
func ValidateName(name string) error {
	switch {
	case name == "":
		return errors.New("name is empty")
	case strings.TrimSpace(name) != name:
		return fmt.Errorf("name %q starts or ends with a blank", name)
	case strings.ContainsRune(name, '/'):
		return fmt.Errorf("name %q contains '/'", name)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return fmt.Errorf("name %q contains a control character", name)
	}
	return nil
}

// ValidateSubject reports whether a message may be sent to subject from outside, as the HTTP
// handler does: what ValidatePublish checks, and nothing reserved for NATS itself.
func ValidateSubject(subject string) error {
	if err := ValidatePublish(subject); err != nil {
		return err
	}
	if Reserved(subject) {
		return fmt.Errorf("subject %q is reserved for NATS itself ($... and _INBOX...)", subject)
	}
	return nil
}

// ValidatePublish reports whether a message may be published to subject: not empty, no empty
// token, no blank, no wildcard, at most MaxSubjectLen bytes. (nats.go sends what it is given; the
// server would drop the connection over a malformed or too long subject.)
//
// It runs for every request and reply, so it reads the tokens where they are rather than
// splitting the subject.
func ValidatePublish(subject string) error {
	if err := checkShape(subject); err != nil {
		return err
	}
	for rest, more := subject, true; more; {
		var t string
		t, rest, more = strings.Cut(rest, ".")
		if t == "*" || t == ">" {
			return fmt.Errorf("subject %q contains a wildcard", subject)
		}
	}
	return nil
}

// Reserved tells the subjects that belong to NATS itself: $SYS, $JS, $KV... (everything starting
// with $) and the reply inboxes (_INBOX).
func Reserved(subject string) bool {
	return strings.HasPrefix(subject, "$") || subject == "_INBOX" || strings.HasPrefix(subject, "_INBOX.")
}

// Match reports whether subject falls under pattern, with NATS's wildcards: `*` matches one token,
// a final `>` one or more.
func Match(pattern, subject string) bool {
	for {
		pt, prest, pmore := strings.Cut(pattern, ".")
		st, srest, smore := strings.Cut(subject, ".")
		switch {
		case pt == ">":
			return true
		case pt != "*" && pt != st:
			return false
		case !pmore || !smore:
			return pmore == smore
		}
		pattern, subject = prest, srest
	}
}
