package engine

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/msgscript/msgscript/internal/testbin"
)

// The memory bombs of a hostile script, each run in a child process under a 4 GiB address space
// limit (a bomb that got through would end the child, not the test run), with a memory limit of
// 256 MiB: each call ends with a clear error, the hello script called meanwhile keeps answering,
// the process never holds twice the limit, and the memory is given back.
func TestMemoryBombs(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads the child's memory in /proc")
	}
	bin := testbin.BuildWithoutRace(t, "github.com/msgscript/msgscript/engine/internal/membomb")
	cases := []struct {
		bombs []string
		want  map[string]string // bomb -> what its error says
		idle  string            // how long the engine idles first
	}{
		{[]string{"rep", "width"}, map[string]string{"rep": "string.rep: a string of 2147483648 x 1 bytes is over", "width": "invalid format (width or precision too long)"}, ""},
		{[]string{"concat"}, map[string]string{"concat": "concatenation: the string would be over 67108864 bytes"}, ""},
		// One value of gigabytes at once, from a big string (see membomb); one bomb per child, as
		// three 60 MiB strings at once would meet the memory limit before the value bound.
		{[]string{"format"}, map[string]string{"format": "string.format: the string would be over 67108864 bytes"}, ""},
		{[]string{"concat40"}, map[string]string{"concat40": "concatenation: the string would be over 67108864 bytes"}, ""},
		{[]string{"json"}, map[string]string{"json": "the table would convert to more than 67108864 bytes"}, ""},
		{[]string{"gsub", "regsub", "template"}, map[string]string{
			"gsub":     "the result would be over 67108864 bytes",
			"regsub":   "re.gsub: the result would be over 67108864 bytes",
			"template": "a table that contains itself cannot be converted"}, ""},
		{[]string{"table"}, nil, ""},
		{[]string{"coroutines"}, nil, ""},
		{[]string{"global"}, nil, ""},
		{[]string{"table", "table#2", "coroutines"}, nil, ""}, // three at once
		// 48 at once, each under what one call may hold until the heap is far over the limit
		// (tables built in coroutines too, running or suspended), or making values of 30 and 60
		// MiB in one piece.
		{manyOf(8, "pairs", "cowrap", "cosuspended", "coresume", "reps", "grows"), map[string]string{"reps": anyMemoryLimit, "grows": anyMemoryLimit}, ""},
		// Memory a call's measure of itself only estimates, 16 calls at once: an array whose
		// first elements are small, a channel's buffer, a Go buffer.
		{manyOf(16, "sparse"), nil, ""},
		{manyOf(16, "chan"), nil, ""},
		{manyOf(16, "builder"), map[string]string{"builder": anyMemoryLimit}, ""},
		// Go code making large results: a template's text, which its values do not bound (its
		// bound stops it, or, in one run in 10 to 20 on a busy machine, the guard ends the call
		// first: mustache makes a copy of the 900 KiB value for each item it writes, garbage the
		// collector may not reach in time); 32 json.encode of 59 MB at once (some may be made, the
		// others are refused).
		{[]string{"tplbomb"}, map[string]string{"tplbomb": "template: the text would be over 67108864 bytes|" + endedByTheGuard}, ""},
		{manyOf(32, "jsonbig"), map[string]string{"jsonbig": ""}, ""},
		// 8 templates and 32 gsubs making up to 64 MiB each at once (some are made, the others
		// refused); one call of json.decode, yaml.decode or strings.split making gigabytes of
		// values of a short text.
		{manyOf(8, "tplmany"), map[string]string{"tplmany": ""}, ""},
		{manyOf(32, "gsubfat"), map[string]string{"gsubfat": ""}, ""},
		{[]string{"jdecode", "ydecode", "split"}, map[string]string{
			"jdecode": "json.decode: the text would make more than 67108864 bytes of values",
			"ydecode": "yaml.decode: the text would make more than 67108864 bytes of values",
			"split":   "strings.split: the text would make more than 67108864 bytes of values"}, ""},
		// One call each: string.format("%q") writing four bytes for one, a JSON decoder reading
		// "[],[],..." from a string, yaml.encode indenting a multi-line string 99 deep.
		{[]string{"fmtq", "jstream", "yamlindent"}, map[string]string{
			"fmtq":       "string.format: the string would be over 67108864 bytes",
			"jstream":    "json decoder: the text would make more than 67108864 bytes of values",
			"yamlindent": "the table would convert to more than 67108864 bytes"}, ""},
		// One call each: os.date of 32 million "%c", a reader's read(2^33).
		{[]string{"osdate", "readbig"}, map[string]string{
			"osdate":  "os.date: the string would be over 67108864 bytes",
			"readbig": "a read of more than 67108864 bytes"}, ""},
		// Memory ten tables deep, 16 calls at once; and one call holding 176 MiB
		// there beside a call holding 100 MiB, which must be left alone.
		{manyOf(16, "deep"), nil, ""},
		{[]string{"holder", "deephold"}, map[string]string{"holder": `"held 100"`}, ""},
		// No bombs: a call holding 100 MiB while 32 others make garbage is not ended for it.
		{append([]string{"holder"}, manyOf(32, "garbage")...), map[string]string{"holder": `"held 100"`, "garbage": `"garbage 184320000"`}, ""},
		// No bombs: two calls hold 200 MiB between them while they make garbage; the garbage
		// must not take the heap over the limit, where the guard would end one of them.
		{[]string{"keeper", "keeper#2"}, map[string]string{"keeper": `"kept 104857600"`}, ""},
		// After the heap's sampler went to sleep with no call running, the bomb's call wakes it.
		{[]string{"table"}, nil, "1500ms"},
	}
	for _, c := range cases {
		name := strings.Join(c.bombs, "+")
		if len(c.bombs) > 3 {
			first, _, _ := strings.Cut(c.bombs[0], "#")
			name = fmt.Sprintf("%s_and_more_%d_at_once", first, len(c.bombs))
		}
		t.Run(name+c.idle, func(t *testing.T) {
			args := []string{"-limit", "268435456", "-as", "4294967296"}
			if c.idle != "" {
				args = append(args, "-idle", c.idle)
			}
			cmd := exec.Command(bin, append(args, c.bombs...)...)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("the child died: %v\n%.2000s", err, stderr.String())
			}
			var r struct {
				Bombs       map[string]string `json:"bombs"`
				HelloOK     int64             `json:"hello_ok"`
				HelloFailed int64             `json:"hello_failed"`
				RSSAfter    uint64            `json:"rss_after"`
				RSSPeak     uint64            `json:"rss_peak"`
			}
			if err := json.Unmarshal(out, &r); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			for _, bomb := range c.bombs {
				want := endedByTheGuard
				kind, _, _ := strings.Cut(bomb, "#")
				if w, ok := c.want[kind]; ok {
					want = w
				}
				if !slices.ContainsFunc(strings.Split(want, "|"), func(w string) bool { return strings.Contains(r.Bombs[bomb], w) }) {
					t.Errorf("%s answered %q, want %q", bomb, r.Bombs[bomb], want)
				}
			}
			if r.HelloFailed > 0 {
				t.Errorf("hello failed %d times (answered %d) while the bombs went off", r.HelloFailed, r.HelloOK)
			}
			if r.RSSPeak > 512<<20 {
				t.Errorf("the child held %d MiB at most, twice its memory limit or more", r.RSSPeak>>20)
			}
			if r.RSSAfter > 128<<20 {
				t.Errorf("the child holds %d MiB after the bombs: the memory was not given back", r.RSSAfter>>20)
			}
		})
	}
}

// endedByTheGuard is what a call the memory guard ended says.
const endedByTheGuard = "memory limit: the server's memory went over its memory_limit (256 MiB) while this call ran, and this call was ended"

// anyMemoryLimit is what every memory limit error says: a call ended, or a value refused.
const anyMemoryLimit = "memory_limit (256 MiB)"

// manyOf names n bombs of each kind: kind#1, kind#2...
func manyOf(n int, kinds ...string) []string {
	var names []string
	for _, kind := range kinds {
		for i := 1; i <= n; i++ {
			names = append(names, fmt.Sprintf("%s#%d", kind, i))
		}
	}
	return names
}

// The heap's sampler sleeps while no call runs, and a call starting wakes it; a call already
// running keeps it awake.
func TestMemoryGuardSleepsUntilACallStarts(t *testing.T) {
	g := newMemoryGuard()
	d := &deadline{}
	g.add(d)
	// parked runs park, and closes what it returns once park does.
	parked := func() chan struct{} {
		woke := make(chan struct{})
		go func() {
			g.park()
			close(woke)
		}()
		return woke
	}
	d.armedAt.Store(1) // a call runs
	select {
	case <-parked():
	case <-time.After(5 * time.Second):
		t.Fatal("the sampler slept while a call ran")
	}
	d.armedAt.Store(0)
	woke := parked()
	eventually(t, "the sampler asleep", g.parked.Load)
	select {
	case <-woke:
		t.Fatal("the sampler woke with no call")
	default:
	}
	d.armedAt.Store(1)
	g.callStarted()
	select {
	case <-woke:
	case <-time.After(5 * time.Second):
		t.Fatal("a call started and the sampler slept on")
	}
}

// What a call may hold falls as the heap goes over the limit: half the limit under it, less the
// further over, 1 MiB a quarter over, nothing half over (every call ends at its next measure).
func TestSelfBoundFallsOverTheLimit(t *testing.T) {
	ballast := make([]byte, 64<<20) // a heap large enough for the bounds to differ
	defer runtime.KeepAlive(ballast)
	runtime.GC()
	used := heap()
	for _, c := range []struct {
		name  string
		limit uint64
		check func(limit, bound int64) bool
	}{
		{"heap far under", used * 100, func(l, b int64) bool { return b == l/2 }},
		{"a tenth over", used * 10 / 11, func(l, b int64) bool { return b > minSelfBound && b < l/2 }},
		{"a third over", used * 3 / 4, func(l, b int64) bool { return b == minSelfBound }},
		{"twice over", used / 2, func(l, b int64) bool { return b == 0 }},
	} {
		g := newMemoryGuard()
		g.limit.Store(c.limit)
		if b := g.selfBound(); !c.check(int64(c.limit), b) {
			t.Errorf("%s (heap %d, limit %d): a call may hold %d", c.name, used, c.limit, b)
		}
	}
}
