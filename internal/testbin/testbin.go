// Package testbin builds the project's commands for end-to-end tests, once per test process, with
// -race when the test itself runs with it (so that the build shares the test's compile cache).
package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sync"
	"testing"
)

var (
	mu     sync.Mutex
	built  = map[string]string{} // package -> binary
	failed = map[string]error{}
)

// Build compiles the main package pkg (an import path such as
// github.com/msgscript/msgscript/cmd/msgscript) and returns the binary's path.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	return build(t, pkg, raceEnabled)
}

// BuildWithoutRace is Build without -race, for a child that runs under an address space limit:
// the race detector's shadow memory cannot live with one.
func BuildWithoutRace(t testing.TB, pkg string) string {
	t.Helper()
	return build(t, pkg, false)
}

func build(t testing.TB, pkg string, race bool) string {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	key := fmt.Sprintf("%s race=%v", pkg, race)
	if bin, ok := built[key]; ok {
		return bin
	}
	if err, ok := failed[key]; ok {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "msgscript-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, path.Base(pkg))
	args := []string{"build", "-o", bin}
	if race {
		args = append(args, "-race")
	}
	if out, err := exec.Command("go", append(args, pkg)...).CombinedOutput(); err != nil {
		failed[key] = fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
		t.Fatal(failed[key])
	}
	built[key] = bin
	return bin
}
