package luaenv_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// outsideEnv makes the test binary, run again, a plain web server answering "reached", in a
// process of its own: the sandbox tells msgscript's own listeners (this process's) from the
// services around it, which live in other processes.
const outsideEnv = "LUAENV_TEST_OUTSIDE_SERVER"

// outsideServer starts such a server and returns its URL.
func outsideServer(t *testing.T) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestOutsideServerProcess$")
	cmd.Env = append(os.Environ(), outsideEnv+"=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("the outside server did not start: %v", err)
	}
	return "http://" + strings.TrimSpace(line)
}

// TestOutsideServerProcess is the outside server when outsideEnv is set, and nothing otherwise.
func TestOutsideServerProcess(t *testing.T) {
	if os.Getenv(outsideEnv) == "" {
		return
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.Exit(1)
	}
	fmt.Println(l.Addr().String())
	_ = http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("reached"))
	}))
}
