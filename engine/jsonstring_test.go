package engine

import (
	"encoding/json"
	"testing"
)

func checkJSONString(t *testing.T, s string) {
	t.Helper()
	ours := appendJSONString(nil, s)
	var got string
	if err := json.Unmarshal(ours, &got); err != nil {
		t.Fatalf("%q encodes to invalid JSON %s: %v", s, ours, err)
	}
	std, _ := json.Marshal(s)
	var want string
	_ = json.Unmarshal(std, &want)
	if got != want {
		t.Fatalf("%q: ours decodes to %q, encoding/json's to %q", s, got, want)
	}
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", `quote " and \ backslash`, "\n\r\t\x00\x1f\x7f", "<b>&amp;</b>",
		"héllo 世界 😀", "bad \xff\xfe utf8", "trunc \xe4\xb8", "\u2028\u2029"} {
		checkJSONString(t, s)
	}
	if got := string(appendJSONString([]byte("x"), "a\"b")); got != `x"a\"b"` {
		t.Fatalf("got %s", got)
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "a\"b", "\xff", "世界\u2028"} {
		f.Add(s)
	}
	f.Fuzz(checkJSONString)
}
