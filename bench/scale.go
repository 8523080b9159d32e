package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The scale mode's targets (the performance issue's): at 10,000 scripts, resident memory and
// goroutines bounded, and an edit going live about as fast as with 100.
const (
	targetScripts    = 10000
	targetRSS        = 300e6 // bytes
	targetGoroutines = 2000
	targetEditRatio  = 2.0 // edit→live at the largest count over the smallest, at most
)

// scaleConfig is what the scale mode's flags ask for.
type scaleConfig struct {
	sizes        []int
	stores       []string
	rounds       int
	edits        int
	binary       string
	startTimeout time.Duration
	profileDir   string
}

// scaleMain checks the scale mode's flags and runs it.
func scaleMain(scale, stores string, rounds, edits int, binary string, startTimeout time.Duration, profile string) error {
	cfg := scaleConfig{rounds: rounds, edits: edits, binary: binary, startTimeout: startTimeout, profileDir: profile}
	var err error
	if cfg.sizes, err = parseSizes(scale); err != nil {
		return err
	}
	if cfg.stores, err = parseStores(stores); err != nil {
		return err
	}
	// -rounds' default is the latency mode's; a scale round restarts msgscript for every count and
	// store, and three give a median with its spread.
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "rounds" })
	if !explicit {
		cfg.rounds = 3
	}
	if cfg.rounds < 1 || cfg.edits < 5 {
		return fmt.Errorf("-scale wants -rounds ≥ 1 and -edits ≥ 5")
	}
	return runScale(cfg)
}

// parseSizes reads -scale: script counts, comma-separated ("100,1000,10000").
func parseSizes(s string) ([]int, error) {
	var sizes []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-scale %q: want script counts such as 100,1000,10000", s)
		}
		sizes = append(sizes, n)
	}
	return sizes, nil
}

// parseStores reads -store.
func parseStores(s string) ([]string, error) {
	switch s {
	case storeDir, storeEtcd:
		return []string{s}, nil
	case "both":
		return []string{storeDir, storeEtcd}, nil
	}
	return nil, fmt.Errorf("-store %q: want dir, etcd or both", s)
}

// runScale measures msgscript with many scripts: every count with every store, a fresh process
// each time, in interleaved rounds (all counts, then all again) so that a drift of the machine
// touches every figure alike, and prints each figure's median with its min–max over the rounds.
func runScale(cfg scaleConfig) error {
	ns, err := startNATS()
	if err != nil {
		return err
	}
	defer ns.Shutdown()

	work, err := os.MkdirTemp("", "msgscript-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	binary, err := buildMsgscript(cfg.binary, work)
	if err != nil {
		return err
	}
	if cfg.profileDir != "" {
		if err := os.MkdirAll(cfg.profileDir, 0o755); err != nil {
			return err
		}
	}

	fmt.Printf("msgscript bench, scale: hello-sized scripts on distinct subjects, `msgscript serve` on an outside NATS, %d CPUs, %s\n",
		runtime.NumCPU(), runtime.Version())
	fmt.Printf("%d rounds of %v scripts, stores %v; edit→live: median of %d edits a run\n\n",
		cfg.rounds, cfg.sizes, cfg.stores, cfg.edits)
	fmt.Printf("%-6s %-5s %7s %10s %10s %9s %9s %9s %6s %9s %10s\n",
		"round", "store", "scripts", "load", "ready", "RSS", "peak RSS", "Go heap", "gor.", "CPU/call", "edit→live")
	results := map[runKey][]scaleResult{}
	largest := slices.Max(cfg.sizes)
	for r := range cfg.rounds {
		for _, n := range cfg.sizes {
			for _, kind := range cfg.stores {
				sr := scaleRun{binary: binary, natsURL: ns.ClientURL(), kind: kind, n: n, edits: cfg.edits,
					round: r, startTimeout: cfg.startTimeout}
				if r == cfg.rounds-1 && n == largest {
					sr.profileDir = cfg.profileDir
				}
				res, err := sr.run()
				if err != nil {
					return err
				}
				fmt.Printf("%-6d %-5s %7d %10s %10s %9s %9s %9s %6d %9s %10s\n", r+1, kind, n,
					fmtDuration(res.load), fmtDuration(res.ready), fmtMB(res.rss), fmtMB(res.peak), fmtMB(res.heap),
					res.goroutines, fmtDuration(res.turnCPU), fmtDuration(res.edit))
				if res.editGaps > 0 {
					fmt.Printf("       %d requests failed while the edits went live\n", res.editGaps)
				}
				results[runKey{kind, n}] = append(results[runKey{kind, n}], res)
			}
		}
	}
	printScaleTable(cfg, results)
	printScaleTargets(cfg, results)
	return nil
}

type runKey struct {
	store string
	n     int
}

// printScaleTable prints the medians and min–max over the rounds, as a Markdown table.
func printScaleTable(cfg scaleConfig, results map[runKey][]scaleResult) {
	fmt.Printf("\nmedian [min–max] of %d rounds; load: start until the last script first answers; ready: until every script has answered once;\n", cfg.rounds)
	fmt.Printf("RSS, Go heap (in use after a collection) and goroutines %v after that; CPU/call: msgscript's CPU per call of a pass\n", settleTime)
	fmt.Printf("calling every script in turn, 16 at once; edit→live: a round's median of %d edits\n\n", cfg.edits)
	fmt.Println("| store | scripts | load | start→ready | RSS | peak RSS | Go heap | goroutines | CPU/call, every script in turn | edit→live |")
	fmt.Println("| --- | ---: | --- | --- | --- | --- | --- | --- | --- | --- |")
	for _, kind := range cfg.stores {
		for _, n := range cfg.sizes {
			rs := results[runKey{kind, n}]
			fmt.Printf("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s |\n", kind, n,
				spread(rs, func(r scaleResult) float64 { return float64(r.load) }, fmtDurationF),
				spread(rs, func(r scaleResult) float64 { return float64(r.ready) }, fmtDurationF),
				spread(rs, func(r scaleResult) float64 { return float64(r.rss) }, fmtMBF),
				spread(rs, func(r scaleResult) float64 { return float64(r.peak) }, fmtMBF),
				spread(rs, func(r scaleResult) float64 { return float64(r.heap) }, fmtMBF),
				spread(rs, func(r scaleResult) float64 { return float64(r.goroutines) }, func(v float64) string { return fmt.Sprintf("%.0f", v) }),
				spread(rs, func(r scaleResult) float64 { return float64(r.turnCPU) }, fmtDurationF),
				spread(rs, func(r scaleResult) float64 { return float64(r.edit) }, fmtDurationF))
		}
	}
}

// printScaleTargets checks the medians against the targets.
func printScaleTargets(cfg scaleConfig, results map[runKey][]scaleResult) {
	fmt.Println("\ntargets:")
	smallest, largest := slices.Min(cfg.sizes), slices.Max(cfg.sizes)
	for _, kind := range cfg.stores {
		if rs := results[runKey{kind, targetScripts}]; rs != nil {
			rss := median(rs, func(r scaleResult) float64 { return float64(r.rss) })
			gor := median(rs, func(r scaleResult) float64 { return float64(r.goroutines) })
			fmt.Printf("  %-4s %d scripts: RSS %s (≤ %s): %s; goroutines %.0f (≤ %d): %s\n", kind, targetScripts,
				fmtMBF(rss), fmtMBF(targetRSS), passFail(rss <= targetRSS), gor, targetGoroutines, passFail(gor <= targetGoroutines))
		} else {
			fmt.Printf("  %-4s memory and goroutines are targets at %d scripts: not measured\n", kind, targetScripts)
		}
		if smallest == largest {
			continue
		}
		small := median(results[runKey{kind, smallest}], func(r scaleResult) float64 { return float64(r.edit) })
		large := median(results[runKey{kind, largest}], func(r scaleResult) float64 { return float64(r.edit) })
		fmt.Printf("  %-4s edit→live at %d scripts %s, at %d %s: %.2fx (≤ %.0fx): %s\n", kind,
			largest, fmtDurationF(large), smallest, fmtDurationF(small), large/small, targetEditRatio, passFail(large <= targetEditRatio*small))
	}
}

func passFail(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

// median and spread summarize one figure of the rounds.
func median(rs []scaleResult, f func(scaleResult) float64) float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	return medianOf(v)
}

// medianOf is the median of v (the mean of the middle two when there are an even number).
func medianOf(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func spread(rs []scaleResult, f func(scaleResult) float64, format func(float64) string) string {
	lo, hi := f(rs[0]), f(rs[0])
	for _, r := range rs[1:] {
		lo, hi = min(lo, f(r)), max(hi, f(r))
	}
	return fmt.Sprintf("%s [%s–%s]", format(median(rs, f)), format(lo), format(hi))
}

func fmtDuration(d time.Duration) string { return fmtDurationF(float64(d)) }

// fmtDurationF shows a duration (in nanoseconds) with three significant digits or so.
func fmtDurationF(ns float64) string {
	switch d := time.Duration(ns); {
	case d >= 10*time.Second:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= 10*time.Millisecond:
		return fmt.Sprintf("%.0f ms", ns/1e6)
	case d < time.Millisecond:
		return fmt.Sprintf("%.0f µs", ns/1e3)
	default:
		return fmt.Sprintf("%.1f ms", ns/1e6)
	}
}

func fmtMB(b int64) string { return fmtMBF(float64(b)) }

// fmtMBF shows bytes in MB (10^6 bytes, as the targets are written).
func fmtMBF(b float64) string { return fmt.Sprintf("%.0f MB", b/1e6) }
