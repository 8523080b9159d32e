// Command bench measures msgscript against a plain Go NATS responder, side by side in one run:
//
//	go run ./bench [-requests 5000] [-concurrency 32] [-duration 5s] [-rounds 5]
//
// It starts a NATS server on loopback, then two responders, each in its own process as they
// would run in production: a plain Go program answering with the same bytes as
// examples/hello.lua, and the msgscript binary (built from ./cmd/msgscript) serving ./examples.
// It measures the latency of sequential requests, alternating between the two so that any drift
// of the machine hits both alike, in several rounds, and the throughput of concurrent requesters,
// each on its own connection. It prints both, their ratios and the bars of DESIGN.md §4.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

const (
	payload    = "John"
	helloReply = `{"hello":"Processed subject: funcs.hello with payload: John"}`
)

// target is one responder under test.
type target struct {
	name    string
	subject string
}

func main() {
	requests := flag.Int("requests", 5000, "sequential requests per target and round, for the latency figures")
	rounds := flag.Int("rounds", 5, "latency rounds; the ratio reported is the median of the rounds'")
	concurrency := flag.Int("concurrency", 32, "concurrent requesters for the throughput figures")
	duration := flag.Duration("duration", 5*time.Second, "how long each throughput run lasts")
	examples := flag.String("examples", "./examples", "folder of scripts msgscript serves (must hold hello.lua)")
	binary := flag.String("msgscript", "", "msgscript binary to measure (default: build ./cmd/msgscript)")
	plainURL := flag.String("serve-plain", "", "internal: run the plain responder against this NATS URL")
	flag.Parse()

	if *plainURL != "" {
		servePlain(*plainURL)
		return
	}
	if err := run(*requests, *rounds, *concurrency, *duration, *examples, *binary); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(requests, rounds, concurrency int, duration time.Duration, examples, binary string) error {
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		return err
	}
	go ns.Start()
	if !ns.ReadyForConnections(5 * time.Second) {
		return fmt.Errorf("nats-server did not start")
	}
	defer ns.Shutdown()
	url := ns.ClientURL()

	work, err := os.MkdirTemp("", "msgscript-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	plain, err := startPlain(url)
	if err != nil {
		return err
	}
	defer plain.stop()
	ms, err := startMsgscript(url, examples, binary, work)
	if err != nil {
		return err
	}
	defer ms.stop()

	targets := []target{
		{"plain Go responder", "bench.plain"},
		{"msgscript", "funcs.hello"},
	}
	nc, err := nats.Connect(url)
	if err != nil {
		return err
	}
	defer nc.Close()
	for i, tg := range targets {
		p := []*process{plain, ms}[i]
		if err := waitForAnswer(nc, tg, p); err != nil {
			return err
		}
	}

	fmt.Printf("msgscript bench: NATS request/reply on loopback, each responder in its own process, %d CPUs, %s\n",
		runtime.NumCPU(), runtime.Version())

	fmt.Printf("\nlatency of sequential requests (%d rounds of %d per responder, alternating)\n", rounds, requests)
	fmt.Printf("%-8s %22s %22s %8s\n", "round", targets[0].name+" p50", targets[1].name+" p50", "ratio")
	var all [2][]time.Duration
	var ratios []float64
	for r := range rounds {
		lat, err := latencies(nc, targets, requests)
		if err != nil {
			return err
		}
		ratio := float64(percentile(lat[1], 50)) / float64(percentile(lat[0], 50))
		ratios = append(ratios, ratio)
		fmt.Printf("%-8d %22s %22s %7.2fx\n", r+1, percentile(lat[0], 50), percentile(lat[1], 50), ratio)
		all[0] = append(all[0], lat[0]...)
		all[1] = append(all[1], lat[1]...)
	}

	rates := make([]float64, len(targets))
	for i, tg := range targets {
		if rates[i], err = throughput(url, tg, concurrency, duration); err != nil {
			return err
		}
	}

	fmt.Printf("\n%-20s %10s %10s %10s %14s\n", "all rounds", "p50", "p90", "p99", fmt.Sprintf("req/s (c=%d)", concurrency))
	for i, tg := range targets {
		fmt.Printf("%-20s %10s %10s %10s %14.0f\n", tg.name,
			percentile(all[i], 50), percentile(all[i], 90), percentile(all[i], 99), rates[i])
	}
	slices.Sort(ratios)
	p50 := ratios[len(ratios)/2]
	tput := rates[1] / rates[0]
	fmt.Printf("\nmsgscript / plain: p50 %.2fx, median of the rounds (bar ≤ 1.30x: %s); throughput %.2fx (bar ≥ 0.60x: %s)\n",
		p50, verdict(p50 <= 1.3), tput, verdict(tput >= 0.6))
	return nil
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

// waitForAnswer waits until the target answers correctly, or its process ends.
func waitForAnswer(nc *nats.Conn, tg target, p *process) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		m, err := nc.Request(tg.subject, []byte(payload), 2*time.Second)
		if err == nil {
			if string(m.Data) != helloReply {
				return fmt.Errorf("%s answered %q, want %q", tg.name, m.Data, helloReply)
			}
			return nil
		}
		if p.exited() || time.Now().After(deadline) {
			return fmt.Errorf("%s does not answer (%v); its output:\n%s", tg.name, err, p.output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// latencies sends n sequential requests to each target, alternating which goes first, after a
// warm-up.
func latencies(nc *nats.Conn, targets []target, n int) ([][]time.Duration, error) {
	out := make([][]time.Duration, len(targets))
	for i := range targets {
		out[i] = make([]time.Duration, 0, n)
	}
	const warmup = 200
	order := []int{0, 1}
	for i := range warmup + n {
		order[0], order[1] = order[1], order[0]
		for _, t := range order {
			start := time.Now()
			if _, err := nc.Request(targets[t].subject, []byte(payload), 5*time.Second); err != nil {
				return nil, fmt.Errorf("%s: %v", targets[t].name, err)
			}
			if i >= warmup {
				out[t] = append(out[t], time.Since(start))
			}
		}
	}
	return out, nil
}

// throughput runs c requesters, each on its own connection, for d and returns requests per second.
func throughput(url string, tg target, c int, d time.Duration) (float64, error) {
	conns := make([]*nats.Conn, c)
	for i := range conns {
		nc, err := nats.Connect(url)
		if err != nil {
			return 0, err
		}
		defer nc.Close()
		conns[i] = nc
	}
	var done atomic.Int64
	var failure atomic.Value
	var wg sync.WaitGroup
	stop := time.Now().Add(d)
	start := time.Now()
	for _, nc := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				if _, err := nc.Request(tg.subject, []byte(payload), 5*time.Second); err != nil {
					failure.CompareAndSwap(nil, err)
					return
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	if err, _ := failure.Load().(error); err != nil {
		return 0, fmt.Errorf("%s: %v", tg.name, err)
	}
	return float64(done.Load()) / time.Since(start).Seconds(), nil
}

func percentile(d []time.Duration, p int) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[(len(s)-1)*p/100].Round(time.Microsecond)
}
