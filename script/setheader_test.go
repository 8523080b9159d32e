package script

import "testing"

func TestSetHeader(t *testing.T) {
	cases := []struct{ src, key, value, want string }{
		{"--* subject: a\nbody\n", "subject", "b", "--* subject: b\nbody\n"},
		{"x = 1\n  --* Name: old\ny = 2", "name", "new", "x = 1\n--* name: new\ny = 2"},
		{"body\n", "subject", "s", "--* subject: s\nbody\n"},
		{"", "name", "n", "--* name: n\n"},
		{"--* subject: a", "subject", "b", "--* subject: b"},
	}
	for _, c := range cases {
		got := string(SetHeader([]byte(c.src), c.key, c.value))
		if got != c.want {
			t.Errorf("SetHeader(%q, %s, %s) = %q, want %q", c.src, c.key, c.value, got, c.want)
		}
		h, _ := ParseHeaders([]byte(got))
		if (c.key == "subject" && h.Subject != c.value) || (c.key == "name" && h.Name != c.value) {
			t.Errorf("%q does not read back as %s=%s", got, c.key, c.value)
		}
	}
}
