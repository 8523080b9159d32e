// Command bench measures msgscript against plain Go, side by side in one run:
//
//	go run ./bench [-requests 5000] [-concurrency 32] [-duration 5s] [-rounds 5]
//
// It starts a NATS server on loopback, then two processes as they would run in production: a
// plain Go program that answers NATS requests with the same bytes as examples/hello.lua and
// bridges HTTP to NATS with net/http, and the msgscript binary (built from ./cmd/msgscript)
// serving ./examples with Caddy's msgscript handler in front. Two comparisons follow: NATS
// request/reply (msgscript vs the plain responder) and HTTP POST (Caddy's handler -> NATS ->
// msgscript vs net/http -> NATS -> the plain responder); a third, with no bar, measures Caddy's
// own share of the latter: the same reply written by Caddy's static_response and by net/http, in
// the same two processes, without NATS. Each measures the latency of sequential requests,
// alternating between the two so that any drift of the machine hits both alike, in several
// rounds, and the throughput of concurrent requesters, each on its own connection (NATS at
// -concurrency, HTTP at 8 and 64), in as many rounds with the two taking turns every half second,
// with the CPU time each process spent per request, and prints the ratios against msgscript's bars
// (README, Speed).
//
// With -scale it measures msgscript with many scripts instead:
//
//	go run ./bench -scale 100,1000,10000 [-store dir|etcd|both] [-rounds 3] [-edits 7] [-profile DIR]
//
// For each count N it writes N hello-sized scripts on distinct subjects (scale.s0 ...) to a
// folder, or to an etcd member run inside this program, and starts `msgscript serve` on them (the
// binary of -msgscript, else one built from ./cmd/msgscript), connected to a NATS server run
// inside this program, with Caddy's admin API on a free loopback port. It measures the time from
// the process's start until the last script answers (load) and until every script has answered
// once (start→ready); then, a second later, the process's resident memory (VmRSS, and its peak),
// its goroutines and Go heap (through the admin API's /debug/pprof/); then edit→live: a script
// rewritten (a saved file, an etcd put) until a request on its subject returns the new reply,
// polled every millisecond, -edits times. The counts and stores run in -rounds interleaved rounds
// (every count, then again), each on a fresh process; it prints the median and min–max of the
// rounds and checks the targets of the performance issue: at 10,000 scripts RSS ≤ 300 MB and
// ≤ 2,000 goroutines, and edit→live at the largest count within 2x the smallest's. -profile saves
// the heap and goroutine profiles of the largest count's last run to DIR, and a CPU profile of
// edits made after the measured ones. Linux only (/proc).
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
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

// target is one way of reaching a responder under test. connect opens what one requester needs
// (a NATS connection, an HTTP client) and returns its call. proc is the process that answers, whose
// CPU time is counted.
type target struct {
	name    string
	connect func() (call func() ([]byte, error), closeFn func(), err error)
	proc    *process
}

// natsTarget requests subject over its own NATS connection.
func natsTarget(name, url, subject string) target {
	return target{name: name, connect: func() (func() ([]byte, error), func(), error) {
		nc, err := nats.Connect(url)
		if err != nil {
			return nil, nil, err
		}
		return func() ([]byte, error) {
			m, err := nc.Request(subject, []byte(payload), 5*time.Second)
			if err != nil {
				return nil, err
			}
			return m.Data, nil
		}, nc.Close, nil
	}}
}

// httpTarget POSTs the payload to url over its own keep-alive HTTP connection.
func httpTarget(name, url string) target {
	return target{name: name, connect: func() (func() ([]byte, error), func(), error) {
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}, Timeout: 5 * time.Second}
		return func() ([]byte, error) {
			resp, err := client.Post(url, "text/plain", strings.NewReader(payload))
			if err != nil {
				return nil, err
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err == nil && resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("status %d: %s", resp.StatusCode, body)
			}
			return body, err
		}, client.CloseIdleConnections, nil
	}}
}

func main() {
	requests := flag.Int("requests", 5000, "sequential requests per target and round, for the latency figures")
	rounds := flag.Int("rounds", 5, "latency rounds; the ratio reported is the median of the rounds' (with -scale: interleaved rounds, default 3)")
	concurrency := flag.Int("concurrency", 32, "concurrent requesters for the NATS throughput figures (HTTP runs at 8 and 64)")
	duration := flag.Duration("duration", 5*time.Second, "how long each throughput run lasts")
	examples := flag.String("examples", "./examples", "folder of scripts msgscript serves (must hold hello.lua)")
	binary := flag.String("msgscript", "", "msgscript binary to measure (default: build ./cmd/msgscript)")
	scale := flag.String("scale", "", "measure msgscript with these numbers of scripts instead, e.g. 100,1000,10000")
	stores := flag.String("store", "both", "with -scale: the store of the scripts, dir, etcd or both")
	edits := flag.Int("edits", 7, "with -scale: edits a run, for edit→live (at least 5)")
	startTimeout := flag.Duration("start-timeout", 10*time.Minute, "with -scale: how long msgscript may take until every script answers")
	profile := flag.String("profile", "", "with -scale: save the heap and goroutine profiles of the largest count's last run here, and a CPU profile of edits")
	plainURL := flag.String("serve-plain", "", "internal: run the plain responder against this NATS URL")
	bridge := flag.String("bridge", "", "internal: with -serve-plain, serve the plain HTTP bridge on this address")
	flag.Parse()

	if *plainURL != "" {
		servePlain(*plainURL, *bridge)
		return
	}
	if *scale != "" {
		if err := scaleMain(*scale, *stores, *rounds, *edits, *binary, *startTimeout, *profile); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*requests, *rounds, *concurrency, *duration, *examples, *binary); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// startNATS runs a NATS server on a free loopback port, in this process.
func startNATS() (*server.Server, error) {
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		return nil, err
	}
	go ns.Start()
	if !ns.ReadyForConnections(5 * time.Second) {
		ns.Shutdown()
		return nil, fmt.Errorf("nats-server did not start")
	}
	return ns, nil
}

func run(requests, rounds, concurrency int, duration time.Duration, examples, binary string) error {
	ns, err := startNATS()
	if err != nil {
		return err
	}
	defer ns.Shutdown()
	url := ns.ClientURL()

	work, err := os.MkdirTemp("", "msgscript-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	bridgeAddr, err := freeAddr()
	if err != nil {
		return err
	}
	httpAddr, err := freeAddr()
	if err != nil {
		return err
	}
	plain, err := startPlain(url, bridgeAddr)
	if err != nil {
		return err
	}
	defer plain.stop()
	ms, err := startMsgscript(url, httpAddr, examples, binary, work)
	if err != nil {
		return err
	}
	defer ms.stop()

	natsTargets := []target{
		natsTarget("plain Go responder", url, "bench.plain"),
		natsTarget("msgscript", url, "funcs.hello"),
	}
	httpTargets := []target{
		httpTarget("net/http bridge", "http://"+bridgeAddr+"/bench.plain"),
		httpTarget("Caddy + msgscript", "http://"+httpAddr+"/funcs.hello"),
	}
	// What Caddy itself costs a request, which the HTTP figures include.
	staticTargets := []target{
		httpTarget("net/http", "http://"+bridgeAddr+staticPath),
		httpTarget("Caddy", "http://"+httpAddr+staticPath),
	}
	for i := range 2 {
		natsTargets[i].proc = []*process{plain, ms}[i]
		httpTargets[i].proc = natsTargets[i].proc
		staticTargets[i].proc = natsTargets[i].proc
	}
	for _, tg := range slices.Concat(natsTargets, httpTargets, staticTargets) {
		if err := waitForAnswer(tg, tg.proc); err != nil {
			return err
		}
	}

	fmt.Printf("msgscript bench: each responder in its own process, NATS on loopback, %d CPUs, %s\n",
		runtime.NumCPU(), runtime.Version())
	fmt.Printf("\n== NATS request/reply: msgscript vs a plain Go responder\n")
	// The bars: README, Speed (NATS p50 ≤ 1.1x and throughput ≥ 0.85x the plain responder; HTTP
	// p50 ≤ 1.2x and throughput ≥ 0.8x the plain bridge).
	natsBars := bars{p50: 1.1, tput: 0.85, cpu: 1.5}
	if err := compare(natsTargets, rounds, requests, []int{concurrency}, duration, natsBars); err != nil {
		return err
	}
	fmt.Printf("\n== HTTP POST: Caddy's msgscript handler -> NATS -> msgscript, vs a plain Go net/http -> NATS -> plain responder bridge\n")
	if err := compare(httpTargets, rounds, requests, httpConcurrency, duration, bars{p50: 1.2, tput: 0.8}); err != nil {
		return err
	}
	fmt.Printf("\n== Caddy's own share: the same reply written by Caddy's static_response vs by net/http, no NATS, same processes\n")
	return compare(staticTargets, rounds, requests, httpConcurrency, duration, bars{})
}

// httpConcurrency are the requesters at once of the HTTP throughput runs: the bar holds at both.
var httpConcurrency = []int{8, 64}

// bars are what msgscript must hold against the plain responder: p50 at most p50 times, throughput
// at least tput times, CPU time per request at most cpu times (0: no bar).
type bars struct{ p50, tput, cpu float64 }

// compare measures two targets side by side and prints the ratios of the second to the first
// against the bars: latency of sequential requests in rounds, then throughput at each of
// concurrencies in as many rounds, the two targets taking turns in each (throughputRound), with
// the CPU time their processes spent per request.
func compare(targets []target, rounds, requests int, concurrencies []int, duration time.Duration, bar bars) error {
	fmt.Printf("latency of sequential requests (%d rounds of %d per target, alternating)\n", rounds, requests)
	fmt.Printf("%-8s %26s %26s %8s\n", "round", targets[0].name+" p50", targets[1].name+" p50", "ratio")
	var all [2][]time.Duration
	var p50s []float64
	for r := range rounds {
		lat, err := latencies(targets, requests)
		if err != nil {
			return err
		}
		ratio := float64(percentile(lat[1], 50)) / float64(percentile(lat[0], 50))
		p50s = append(p50s, ratio)
		fmt.Printf("%-8d %26s %26s %7.2fx\n", r+1, percentile(lat[0], 50), percentile(lat[1], 50), ratio)
		all[0] = append(all[0], lat[0]...)
		all[1] = append(all[1], lat[1]...)
	}
	fmt.Printf("\n%-20s %10s %10s %10s\n", "all rounds", "p50", "p90", "p99")
	for i, tg := range targets {
		fmt.Printf("%-20s %10s %10s %10s\n", tg.name, percentile(all[i], 50), percentile(all[i], 90), percentile(all[i], 99))
	}
	fmt.Printf("\n%s / %s: p50 %s", targets[1].name, targets[0].name, ratios(p50s))
	if bar.p50 > 0 {
		fmt.Printf(" (bar ≤ %.2fx: %s)", bar.p50, verdict(medianOf(p50s) <= bar.p50))
	}
	fmt.Println()

	for _, c := range concurrencies {
		fmt.Printf("\nthroughput, %d requesters at once (%d rounds of %s per target, taking turns every %s)\n", c, rounds, duration, throughputSlice)
		fmt.Printf("%-8s %16s %16s %8s %12s %12s %8s %12s %12s\n", "round", "req/s", "req/s", "ratio", "CPU/req", "CPU/req", "ratio", "writes/req", "writes/req")
		var tputs, cpus []float64
		for r := range rounds {
			m, err := throughputRound(targets, c, duration)
			if err != nil {
				return err
			}
			tputs = append(tputs, m[1].rate()/m[0].rate())
			cpus = append(cpus, m[1].cpuPer()/m[0].cpuPer())
			fmt.Printf("%-8d %16.0f %16.0f %7.2fx %10.1fµs %10.1fµs %7.2fx %12.2f %12.2f\n", r+1, m[0].rate(), m[1].rate(), tputs[r],
				m[0].cpuPer(), m[1].cpuPer(), cpus[r], m[0].writesPer(), m[1].writesPer())
		}
		fmt.Printf("%s / %s at c=%d: throughput %s", targets[1].name, targets[0].name, c, ratios(tputs))
		if bar.tput > 0 {
			fmt.Printf(" (bar ≥ %.2fx: %s)", bar.tput, verdict(medianOf(tputs) >= bar.tput))
		}
		fmt.Printf("; CPU per request %s", ratios(cpus))
		if bar.cpu > 0 {
			fmt.Printf(" (bar ≤ %.2fx: %s)", bar.cpu, verdict(medianOf(cpus) <= bar.cpu))
		}
		fmt.Println()
	}
	return nil
}

// ratios prints the median of the rounds' ratios and their range.
func ratios(x []float64) string {
	return fmt.Sprintf("%.2fx [%.2f-%.2f]", medianOf(x), slices.Min(x), slices.Max(x))
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

// waitForAnswer waits until the target answers correctly, or its process ends.
func waitForAnswer(tg target, p *process) error {
	call, closeFn, err := tg.connect()
	if err != nil {
		return err
	}
	defer closeFn()
	deadline := time.Now().Add(60 * time.Second)
	for {
		data, err := call()
		if err == nil {
			if strings.TrimSuffix(string(data), "\n") != helloReply { // JSON over HTTP ends with a newline
				return fmt.Errorf("%s answered %q, want %q", tg.name, data, helloReply)
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
func latencies(targets []target, n int) ([][]time.Duration, error) {
	out := make([][]time.Duration, len(targets))
	calls := make([]func() ([]byte, error), len(targets))
	for i, tg := range targets {
		out[i] = make([]time.Duration, 0, n)
		call, closeFn, err := tg.connect()
		if err != nil {
			return nil, err
		}
		defer closeFn()
		calls[i] = call
	}
	const warmup = 200
	order := []int{0, 1}
	for i := range warmup + n {
		order[0], order[1] = order[1], order[0]
		for _, t := range order {
			start := time.Now()
			if _, err := calls[t](); err != nil {
				return nil, fmt.Errorf("%s: %v", targets[t].name, err)
			}
			if i >= warmup {
				out[t] = append(out[t], time.Since(start))
			}
		}
	}
	return out, nil
}

// load is what throughput measured of a target: requests done, the time they took, and the
// target process's CPU time (user and system) and write system calls meanwhile.
type load struct {
	n       int64
	elapsed time.Duration
	cpu     time.Duration
	writes  int64
}

func (l *load) add(o load) {
	l.n += o.n
	l.elapsed += o.elapsed
	l.cpu += o.cpu
	l.writes += o.writes
}

func (l load) rate() float64      { return float64(l.n) / l.elapsed.Seconds() }
func (l load) cpuPer() float64    { return float64(l.cpu.Microseconds()) / float64(max(l.n, 1)) }
func (l load) writesPer() float64 { return float64(l.writes) / float64(max(l.n, 1)) }

// throughputSlice is how long one target runs at a time in a throughput round: the two take turns
// for the round's duration, so that a spell of the host taking the CPU away (seconds long on a
// shared machine) falls on both rather than on whichever ran then.
const throughputSlice = 500 * time.Millisecond

// throughputRound runs c requesters on each target, each on its own connection kept for the round,
// the targets taking turns in slices until each has run for d.
func throughputRound(targets []target, c int, d time.Duration) ([2]load, error) {
	var m [2]load
	var calls [2][]func() ([]byte, error)
	for i, tg := range targets {
		for range c {
			call, closeFn, err := tg.connect()
			if err != nil {
				return m, err
			}
			defer closeFn()
			calls[i] = append(calls[i], call)
		}
	}
	for left := d; left > 0; left -= throughputSlice {
		for i, tg := range targets {
			l, err := throughput(tg, calls[i], min(left, throughputSlice))
			if err != nil {
				return m, err
			}
			m[i].add(l)
		}
	}
	return m, nil
}

// throughput runs the requesters' calls at once for d and measures the target's load.
func throughput(tg target, calls []func() ([]byte, error), d time.Duration) (load, error) {
	pid := tg.proc.cmd.Process.Pid
	before, err := procUsage(pid)
	if err != nil {
		return load{}, err
	}
	var done atomic.Int64
	var failure atomic.Value
	var wg sync.WaitGroup
	stop := time.Now().Add(d)
	start := time.Now()
	for _, call := range calls {
		wg.Go(func() {
			for time.Now().Before(stop) {
				if _, err := call(); err != nil {
					failure.CompareAndSwap(nil, err)
					return
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err, _ := failure.Load().(error); err != nil {
		return load{}, fmt.Errorf("%s: %v", tg.name, err)
	}
	after, err := procUsage(pid)
	if err != nil {
		return load{}, err
	}
	return load{n: done.Load(), elapsed: elapsed, cpu: after.cpu - before.cpu, writes: after.writes - before.writes}, nil
}

// freeAddr finds a free loopback port.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func percentile(d []time.Duration, p int) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[(len(s)-1)*p/100].Round(time.Microsecond)
}
