package engine

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/msgscript/msgscript/luaenv"
)

// children lists the processes whose parent is this one.
func children(t *testing.T) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Skip("no /proc here")
	}
	me := strconv.Itoa(os.Getpid())
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold blanks, so read after its closing parenthesis.
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(fields) > 1 && fields[1] == me {
			pids = append(pids, pid)
		}
	}
	return pids
}

func openFiles(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc here")
	}
	return len(entries)
}

// Processes and files a call opens and leaves open are gone when it ends: no zombie, no process
// living on, no descriptor held until a garbage collection.
func TestWhatACallOpensIsClosedWhenItEnds(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("counts processes and descriptors in /proc")
	}
	dir := t.TempDir()
	t.Setenv("LEAK_DIR", dir)
	p := newTestProgram(t, `function OnMessage(s, payload)
    local f = io.popen("sleep 30")
    local g = io.open(os.getenv("LEAK_DIR") .. "/" .. payload, "w")
    g:write("x")
    local h = io.tmpfile()
    for line in io.lines(os.getenv("LEAK_DIR") .. "/" .. payload) do break end
    io.output(os.getenv("LEAK_DIR") .. "/out")
    return "left open"
end`, nil, Options{PoolSize: 1})
	before, fds := children(t), openFiles(t)
	for i := range 50 {
		onMessage(t, p, strconv.Itoa(i))
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(children(t)) > len(before) || openFiles(t) > fds {
		if time.Now().After(deadline) {
			t.Fatalf("%d child processes (before: %d), %d descriptors (before: %d)", len(children(t)), len(before), openFiles(t), fds)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := onMessage(t, newTestProgram(t, `function OnMessage() return tostring(io.output() == io.stdout) end`, nil, Options{}), ""); got != "true" {
		t.Errorf("io's default output after a call that switched it: %s", got)
	}
}

// The server's standard files are every call's: a call cannot close them (it closed the server's
// log, fd 2) nor buffer them (every later call's output stayed in its buffer), and no file gets a
// buffer of any size (1 TB ended the process).
func TestStandardFilesStayOpen(t *testing.T) {
	p := newTestProgram(t, `function OnMessage(s, p)
    local f = io.tmpfile()
    local attempts = {
        function() return io.stdout:close() end, function() return io.stderr:close() end,
        function() return io.stdin:close() end, function() return io.close() end,
        function() return io.close(io.stdout) end, function() return io.stdout:setvbuf("full", 1024) end,
        function() return f:setvbuf("full", 1099511627776) end,
    }
    local refused = 0
    for _, attempt in ipairs(attempts) do
        if not pcall(attempt) then refused = refused + 1 end
    end
    local ok = f:setvbuf("full", 4096) and f:write("x") and io.stdout:write("")
    f:close()
    return refused .. " " .. tostring(ok ~= nil)
end`, nil, Options{PoolSize: 1})
	for range 2 { // the second call on the same state finds them open
		if got := onMessage(t, p, ""); got != "7 true" {
			t.Fatalf("got %q, want all 7 refused and the files usable", got)
		}
	}
}

// io.popen keeps Lua's contract: read the command's output or write its input, and close waits
// for it and gives its exit status.
func TestPopen(t *testing.T) {
	out := filepath.Join(t.TempDir(), "written")
	t.Setenv("POPEN_OUT", out)
	p := newTestProgram(t, `function OnMessage()
    local r = io.popen("echo hello; echo world; exit 3")
    local text = r:read("*a")
    local status = r:close()
    local w = io.popen("cat > $POPEN_OUT", "w")
    w:write("through the pipe")
    local wstatus = io.close(w)
    local again = pcall(w.close, w)
    return text .. status .. " " .. wstatus .. " " .. tostring(again)
end`, nil, Options{})
	if got := onMessage(t, p, ""); got != "hello\nworld\n3 0 false" {
		t.Fatalf("got %q", got)
	}
	if b, err := os.ReadFile(out); err != nil || string(b) != "through the pipe" {
		t.Fatalf("the command's input: %q %v", b, err)
	}
	// A command still running when the deadline passes is ended, with what it started.
	p = newTestProgram(t, "--* timeout: 200ms\nfunction OnMessage() return io.popen('sleep 30 & sleep 30'):close() end", nil, Options{})
	start := time.Now()
	callError(t, p, "")
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("close waited %s past the deadline", d)
	}
}

// A connection of the tcp module the script leaves open is closed when the call ends.
func TestTCPConnectionClosedWhenTheCallEnds(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	preload, err := luaenv.New(luaenv.Policy{}, luaenv.Services{})
	if err != nil {
		t.Fatal(err)
	}
	p := newTestProgram(t, `function OnMessage(s, addr) local c = assert(require("tcp").open(addr)) c:write("hi") return "left open" end`, nil,
		Options{Preload: []Preloader{preload}})
	onMessage(t, p, l.Addr().String())
	conn, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(conn)
	if err != nil || string(b) != "hi" {
		t.Fatalf("read %q, %v: want the connection closed after the call", b, err)
	}
}
