package caddymodule

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"
)

// slowPost opens a connection to site and sends a POST to path declaring length bytes of body,
// and the first sent of them; the rest is for the caller to send.
func slowPost(t *testing.T, site, path string, length, sent int) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", site)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n\r\n%s", path, site, length, strings.Repeat("x", sent)); err != nil {
		t.Fatal(err)
	}
	return c
}

// waitHeld waits until the bodies being read hold want bytes of the budget.
func waitHeld(t *testing.T, want int64) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); bodiesHeld.Load() != want; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("bodies hold %d bytes, want %d", bodiesHeld.Load(), want)
		}
	}
}

// A request body takes memory as its bytes arrive, and the bodies being read (but small ones) share a budget:
// 2,000 connections that declared 1 MiB and sent nothing took 2 GB and ended the process, and
// slow clients sending almost 1 MiB each took every call's memory.
func TestSlowBodiesHoldWhatTheySent(t *testing.T) {
	s := startHandlerConfig(t)
	defer func(b int64) { bodiesBudget = b }(bodiesBudget)
	bodiesBudget = 256 << 10
	hello := func() (int, string) {
		resp, err := http.Post("http://"+s.plain+"/funcs.hello", "text/plain", strings.NewReader("John"))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}

	// Declared, not sent: each holds the first buffer's bytes, not its 1 MiB.
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	const idle = 300
	conns := make([]net.Conn, idle)
	for i := range conns {
		conns[i] = slowPost(t, s.plain, "/web.echo", 1<<20, 1)
	}
	waitHeld(t, idle*firstBodyBuffer)
	runtime.GC()
	var during runtime.MemStats
	runtime.ReadMemStats(&during)
	if grown := int64(during.HeapAlloc) - int64(before.HeapAlloc); grown > idle<<20/4 {
		t.Errorf("%d connections that sent 1 byte of 1 MiB grew the heap by %d MiB", idle, grown>>20)
	}
	if status, body := hello(); status != 200 {
		t.Errorf("hello beside them: %d %s", status, body)
	}
	for _, c := range conns {
		c.Close()
	}
	waitHeld(t, 0)

	// Sent, slowly: one body may take the whole budget, the next is told to come back.
	const size = 600 << 10
	a := slowPost(t, s.plain, "/web.echo", size, 200<<10)
	waitHeld(t, 256<<10)
	b := slowPost(t, s.plain, "/web.echo", 1<<20, 1000)
	resp, err := http.ReadResponse(bufio.NewReader(b), nil)
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 503 || !strings.Contains(string(msg), "as many request bodies as it has room for") {
		t.Errorf("a second large body beside the first: %d %q", resp.StatusCode, msg)
	}
	// A small body is read outside the budget: slow clients filling it do not refuse webhooks.
	if status, body := hello(); status != 200 {
		t.Errorf("hello while the budget is full: %d %s", status, body)
	}
	if _, err := io.WriteString(a, strings.Repeat("y", size-200<<10)); err != nil {
		t.Fatal(err)
	}
	resp, err = http.ReadResponse(bufio.NewReader(a), nil)
	if err != nil {
		t.Fatal(err)
	}
	echoed, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(echoed) != strings.Repeat("x", 200<<10)+strings.Repeat("y", size-200<<10) {
		t.Errorf("the first body, sent in full: %d, %d bytes", resp.StatusCode, len(echoed))
	}
	waitHeld(t, 0)
	if status, body := hello(); status != 200 {
		t.Errorf("hello after: %d %s", status, body)
	}
}
