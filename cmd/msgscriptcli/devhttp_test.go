package main

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/msgscript/msgscript/internal/testbin"
	"github.com/msgscript/msgscript/internal/testfiles"
	"github.com/msgscript/msgscript/internal/testnet"
)

func TestDevHTTP(t *testing.T) {
	dir := testfiles.Dir(t, map[string]string{
		"page.lua": "--* subject: web.page\n--* http: true\nfunction GET(url, body, req)\n" +
			"  return 'v1 ' .. url .. ' ' .. req.method, 200, {['Content-Type'] = 'text/plain'}\nend\n",
		"plain.lua": helloScript,
	})
	port := testnet.FreePort(t)
	cmd := exec.Command(testbin.Build(t, "github.com/msgscript/msgscript/cmd/msgscriptcli"), "devhttp", "page.lua", "--port", strconv.Itoa(port))
	cmd.Dir = dir
	var out testbin.Output
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	base := "http://127.0.0.1:" + strconv.Itoa(port)

	get := func(method, path string) (int, string, http.Header) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			req, _ := http.NewRequest(method, base+path, strings.NewReader("body"))
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				return resp.StatusCode, string(b), resp.Header
			}
			if time.Now().After(deadline) {
				t.Fatalf("devhttp does not answer: %v\n%s", err, out.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// The server's path, /<subject>/rest, and any other path as the rest.
	if code, body, h := get("GET", "/web.page/a?x=1"); code != 200 || body != "v1 /a?x=1 GET" || h.Get("Content-Type") != "text/plain" {
		t.Fatalf("GET: %d %q %v", code, body, h)
	}
	if code, body, _ := get("GET", "/other/path"); code != 200 || body != "v1 /other/path GET" {
		t.Fatalf("GET another path: %d %q", code, body)
	}
	if code, _, h := get("POST", "/web.page"); code != 405 || h.Get("Allow") != "GET" {
		t.Fatalf("POST: %d %v", code, h)
	}

	// Every request reads the file again: an edit is live, a broken file is a 500 with file:line.
	write := func(text string) {
		if err := os.WriteFile(filepath.Join(dir, "page.lua"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("--* subject: web.page\n--* http: true\nfunction GET(url) return 'v2 ' .. url end\n")
	if code, body, _ := get("GET", "/web.page/b"); code != 200 || body != "v2 /b" {
		t.Fatalf("after the edit: %d %q", code, body)
	}
	write("--* subject: web.page\nfunction GET(url)\n  return 'v3'\n")
	if code, body, _ := get("GET", "/web.page"); code != 500 || !strings.Contains(body, "page.lua:3: syntax error") {
		t.Fatalf("broken: %d %q", code, body)
	}

	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		done <- err
		if err != nil {
			t.Fatalf("devhttp did not exit cleanly on Ctrl-C: %v\n%s", err, out.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("devhttp still running 10s after Ctrl-C")
	}
}
