package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// What the scale mode reads of a running msgscript: memory from the kernel, which counts
// everything the process holds (Go heap, stacks, Lua states, freed memory not yet returned),
// goroutines and the Go heap from the runtime, through Caddy's admin API (/debug/pprof/), as an
// operator would read them.

// procMemory returns the resident set of process pid now and at its peak (VmRSS, VmHWM), in bytes.
func procMemory(pid int) (rss, peak int64, err error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, fmt.Errorf("reading memory (Linux /proc only): %v", err)
	}
	for line := range strings.Lines(string(data)) {
		name, value, ok := strings.Cut(line, ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc/%d/status: %s: %v", pid, line, err)
		}
		if name == "VmRSS" {
			rss = kb << 10
		} else {
			peak = kb << 10
		}
	}
	return rss, peak, nil
}

// procCPU is the CPU time process pid has spent, user and system (utime and stime of
// /proc/<pid>/stat, in clock ticks of 10 ms).
func procCPU(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("reading CPU time (Linux /proc only): %v", err)
	}
	// The command name, in parentheses, may hold spaces: the fields counted are after it.
	i := bytes.LastIndexByte(data, ')')
	fields := strings.Fields(string(data[i+1:]))
	if i < 0 || len(fields) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected %q", pid, data)
	}
	var ticks int64
	for _, f := range fields[11:13] { // utime, stime (fields 14 and 15 of the line)
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/stat: %v", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

// procWrites is how many write system calls process pid has made (syscw of /proc/<pid>/io): a
// server that sends each reply on its own makes one a request, one that batches them fewer.
func procWrites(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return 0, fmt.Errorf("reading write calls (Linux /proc only): %v", err)
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, "syscw:"); ok {
			return strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	return 0, fmt.Errorf("/proc/%d/io: no syscw in %q", pid, data)
}

// usage is what a process has spent so far: CPU time and write system calls.
type usage struct {
	cpu    time.Duration
	writes int64
}

func procUsage(pid int) (usage, error) {
	cpu, err := procCPU(pid)
	if err != nil {
		return usage{}, err
	}
	writes, err := procWrites(pid)
	return usage{cpu, writes}, err
}

var adminClient = &http.Client{Timeout: 30 * time.Second}

// adminGet reads path from the admin API at addr.
func adminGet(addr, path string) ([]byte, error) {
	resp, err := adminClient.Get("http://" + addr + path)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("admin %s: status %d: %s", path, resp.StatusCode, body)
	}
	return body, err
}

// adminGoroutines is the process's goroutine count, the first line of the text profile
// ("goroutine profile: total N").
func adminGoroutines(addr string) (int, error) {
	body, err := adminGet(addr, "/debug/pprof/goroutine?debug=1")
	if err != nil {
		return 0, err
	}
	line, _, _ := bytes.Cut(body, []byte("\n"))
	n, err := strconv.Atoi(string(bytes.TrimPrefix(line, []byte("goroutine profile: total "))))
	if err != nil {
		return 0, fmt.Errorf("goroutine profile starts %q", line)
	}
	return n, nil
}

// adminHeapInUse is the Go heap in use after a collection (the text heap profile ends with the
// runtime's MemStats; gc=1 collects first): what is live, beside RSS, which also holds what the
// runtime has not returned yet.
func adminHeapInUse(addr string) (int64, error) {
	body, err := adminGet(addr, "/debug/pprof/heap?debug=1&gc=1")
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "# HeapInuse = "); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, fmt.Errorf("no HeapInuse in the heap profile")
}

// saveProfiles writes the heap profile (for go tool pprof) and the goroutine profile (text) of
// the process at addr to dir, their names starting with prefix: what a number off its target is
// made of.
func saveProfiles(addr, dir, prefix string) error {
	for _, p := range []struct{ path, file string }{
		{"/debug/pprof/heap?gc=1", prefix + "-heap.pprof"},
		{"/debug/pprof/goroutine?debug=1", prefix + "-goroutines.txt"},
	} {
		body, err := adminGet(addr, p.path)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, p.file), body, 0o644); err != nil {
			return err
		}
	}
	return nil
}
