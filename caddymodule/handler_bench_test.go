//go:build unix

package caddymodule

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/msgscript/msgscript/internal/testfiles"
	"github.com/msgscript/msgscript/internal/testnet"
)

// BenchmarkHandlerHello is POST /funcs.hello through Caddy's handler, NATS (embedded) and the
// engine, all in this process, from parallel keep-alive clients: its allocations per op are the
// whole path's, client and NATS server included, and so is its cpu-µs/op (the process's CPU time
// per request, steadier than ns/op on a shared machine).
func BenchmarkHandlerHello(b *testing.B) {
	dir := testfiles.Dir(b, map[string]string{"hello.lua": helloScript})
	site := testnet.FreeAddr(b)
	loadCaddyfile(b, fmt.Sprintf("{\n\tadmin off\n\tlog {\n\t\tlevel ERROR\n\t}\n\tmsgscript {\n\t\tembedded_nats %s\n\t\tstore dir %s\n\t}\n}\nhttp://%s {\n\tmsgscript\n}\n",
		testnet.FreeAddr(b), dir, site))
	url := "http://" + site + "/funcs.hello"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	post := func() error {
		resp, err := client.Post(url, "text/plain", strings.NewReader("John"))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err == nil && string(body) != helloHTTP {
			err = fmt.Errorf("%d %q", resp.StatusCode, body)
		}
		return err
	}
	if err := post(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetParallelism(4) // 8 clients on 2 cores
	b.ResetTimer()
	cpu := cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := post(); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(cpuTime()-cpu)/float64(time.Microsecond)/float64(b.N), "cpu-µs/op")
}

// cpuTime is the CPU time this process has spent, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
