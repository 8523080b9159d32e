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
	case strings.HasPrefix(subject, "$"), tokens[0] == "_INBOX":
		return fmt.Errorf("subject %q is reserved for NATS itself ($... and _INBOX...)", subject)
	}
	for i, t := range tokens {
		if t == ">" && i != len(tokens)-1 {
			return fmt.Errorf("subject %q: '>' may only be the last token", subject)
		}
	}
	return nil
}

// tokenize splits a subject on dots and refuses empty tokens and blanks.
func tokenize(subject string) ([]string, error) {
	if subject == "" {
		return nil, errors.New("subject is empty")
	}
	if strings.IndexFunc(subject, unicode.IsSpace) >= 0 {
		return nil, fmt.Errorf("subject %q contains a blank", subject)
	}
	tokens := strings.Split(subject, ".")
	for _, t := range tokens {
		if t == "" {
			return nil, fmt.Errorf("subject %q has an empty token", subject)
		}
	}
	return tokens, nil
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
// handler does: no wildcards, no empty tokens, nothing reserved for NATS itself.
func ValidateSubject(subject string) error {
	tokens, err := tokenize(subject)
	if err != nil {
		return err
	}
	if strings.HasPrefix(subject, "$") || tokens[0] == "_INBOX" {
		return fmt.Errorf("subject %q is reserved for NATS itself ($... and _INBOX...)", subject)
	}
	for _, t := range tokens {
		if t == "*" || t == ">" {
			return fmt.Errorf("subject %q contains a wildcard", subject)
		}
	}
	return nil
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
