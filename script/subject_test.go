package script

import (
	"errors"
	"strings"
	"testing"
)

func TestValidatePattern(t *testing.T) {
	ok := []string{"funcs.hello", "funcs.*", "funcs.>", "a.*.c", "single", "a.b*c"}
	for _, s := range ok {
		if err := ValidatePattern(s); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	bad := []string{"", ">", "*", "*.>", "*.a", "a..b", ".a", "a.", "a b", "a.>.b", "$SYS.x", "_INBOX.x", "a.b\t"}
	for _, s := range bad {
		if err := ValidatePattern(s); err == nil {
			t.Errorf("%q: accepted, want an error", s)
		}
	}
}

func TestValidateName(t *testing.T) {
	for _, s := range []string{"hello", "hello-world", "a.b", "with space"} {
		if err := ValidateName(s); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	for _, s := range []string{"", " a", "a ", "a/b", "a\nb"} {
		if err := ValidateName(s); err == nil {
			t.Errorf("%q: accepted, want an error", s)
		}
	}
}

func TestValidateSubject(t *testing.T) {
	for _, s := range []string{"funcs.hello", "single", "a.b*c", "a-b.c_d"} {
		if err := ValidateSubject(s); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	for _, s := range []string{"", "funcs.*", "funcs.>", "a..b", ".a", "a.", "a b", "$SYS.x", "$JS.API.x", "_INBOX.x", ">"} {
		if err := ValidateSubject(s); err == nil {
			t.Errorf("%q: accepted, want an error", s)
		}
	}
}

func TestMatch(t *testing.T) {
	cases := []struct {
		pattern, subject string
		want             bool
	}{
		{"funcs.hello", "funcs.hello", true},
		{"funcs.hello", "funcs.hell", false},
		{"funcs.hello", "funcs.hello.x", false},
		{"funcs.*", "funcs.hello", true},
		{"funcs.*", "funcs.hello.x", false},
		{"funcs.*", "funcs", false},
		{"funcs.>", "funcs.a.b.c", true},
		{"funcs.>", "funcs", false},
		{"*.x", "a.x", true},
		{"a.*.c", "a.b.c", true},
		{"a.*.c", "a.b.d", false},
		{"web", "web", true},
		{"web", "webx", false},
	}
	for _, c := range cases {
		if got := Match(c.pattern, c.subject); got != c.want {
			t.Errorf("Match(%q, %q) = %v, want %v", c.pattern, c.subject, got, c.want)
		}
	}
}

// A subject that would not fit a NATS protocol line is refused everywhere, with an error that
// says so without repeating it.
func TestSubjectLength(t *testing.T) {
	long := "web." + strings.Repeat("a", MaxSubjectLen)
	for name, check := range map[string]func(string) error{"pattern": ValidatePattern, "subject": ValidateSubject, "publish": ValidatePublish} {
		err := check(long)
		if !errors.Is(err, ErrSubjectTooLong) || len(err.Error()) > 100 {
			t.Errorf("%s: %v", name, err)
		}
		if err := check("web." + strings.Repeat("a", MaxSubjectLen-4)); err != nil {
			t.Errorf("%s at the limit: %v", name, err)
		}
	}
}

func TestValidatePublish(t *testing.T) {
	for _, s := range []string{"funcs.hello", "$SYS.REQ.SERVER.PING", "_INBOX.abc", "a.b*c"} {
		if err := ValidatePublish(s); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	for _, s := range []string{"", "funcs.*", "funcs.>", "a..b", "a b", "a\r\nPUB x 1"} {
		if err := ValidatePublish(s); err == nil {
			t.Errorf("%q: accepted, want an error", s)
		}
	}
	for s, want := range map[string]bool{"$SYS.x": true, "$JS.API.x": true, "_INBOX": true, "_INBOX.x": true, "_INBOXES.x": false, "funcs.$x": false} {
		if Reserved(s) != want {
			t.Errorf("Reserved(%q) = %v", s, !want)
		}
	}
}
