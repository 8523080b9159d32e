package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// scaleResult is what one run of msgscript on n scripts measured.
type scaleResult struct {
	load       time.Duration // process start until the last script first answers
	ready      time.Duration // process start until every script has answered
	rss, peak  int64         // resident set after every script answered once and a settle; its peak
	heap       int64         // Go heap in use then, after a collection
	goroutines int
	turnCPU    time.Duration // msgscript's CPU per call of a pass calling every script in turn
	edit       time.Duration // median of the edits' edit→live
	editGaps   int           // requests that failed while an edit went live (none expected)
}

// scaleRun is one run: n scripts in the store kind, a fresh msgscript process on them (NATS at
// natsURL, the admin API on a free port), measured from start to stop. profileDir, when set,
// receives the process's heap and goroutine profiles once every script has answered.
type scaleRun struct {
	binary, natsURL, kind string
	n, edits, round       int
	startTimeout          time.Duration
	profileDir            string
}

// settleTime lets what answering every script once started finish (a collection, idle states
// being closed) before memory and goroutines are read.
const settleTime = time.Second

// turnCalls is how many calls at least measure the CPU of a call when every script is called in
// turn.
const turnCalls = 10_000

func (sr scaleRun) run() (res scaleResult, err error) {
	work, err := os.MkdirTemp("", "msgscript-scale-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(work)
	st, err := newScaleStore(sr.kind, work)
	if err != nil {
		return res, err
	}
	defer st.close()
	if err := st.write(sr.n); err != nil {
		return res, err
	}
	admin, err := freeAddr()
	if err != nil {
		return res, err
	}
	nc, err := nats.Connect(sr.natsURL)
	if err != nil {
		return res, err
	}
	defer nc.Close()

	// msgscript's quick command, as a user starts it, on the bench's NATS so that the process
	// measured holds msgscript alone; Caddy's data and config folders in this run's folder.
	args := append([]string{"serve"}, st.serveArgs()...)
	args = append(args, "-natsurl", sr.natsURL, "--listen", "off", "--admin", admin, "--log", "warn")
	env := append(os.Environ(), "XDG_DATA_HOME="+filepath.Join(work, "data"), "XDG_CONFIG_HOME="+filepath.Join(work, "config"))
	started := time.Now()
	p, err := startEnv(env, sr.binary, args...)
	if err != nil {
		return res, err
	}
	defer p.stop()
	fail := func(err error) (scaleResult, error) {
		return res, fmt.Errorf("%s, %d scripts: %v; msgscript's output:\n%s", sr.kind, sr.n, err, tail(p.output(), 4000))
	}

	deadline := started.Add(sr.startTimeout)
	if _, err := awaitReply(nc, sr.n-1, initialReply(sr.n-1), deadline, p, time.Millisecond); err != nil {
		return fail(err)
	}
	res.load = time.Since(started)
	if err := confirmAll(nc, sr.n, deadline, p); err != nil {
		return fail(err)
	}
	res.ready = time.Since(started)

	time.Sleep(settleTime)
	if res.rss, res.peak, err = procMemory(p.cmd.Process.Pid); err != nil {
		return fail(err)
	}
	if res.goroutines, err = adminGoroutines(admin); err != nil {
		return fail(err)
	}
	if res.heap, err = adminHeapInUse(admin); err != nil {
		return fail(err)
	}
	// Once every script has answered, each call of a pass through all of them comes after the
	// others': what a server whose traffic spreads over its scripts spends on a call. Passes make
	// 10,000 calls at least, many more than the CPU clock's 10 ms ticks.
	passes := max(1, turnCalls/sr.n)
	before, err := procCPU(p.cmd.Process.Pid)
	if err != nil {
		return fail(err)
	}
	for range passes {
		if err := confirmAll(nc, sr.n, time.Now().Add(sr.startTimeout), p); err != nil {
			return fail(err)
		}
	}
	after, err := procCPU(p.cmd.Process.Pid)
	if err != nil {
		return fail(err)
	}
	res.turnCPU = (after - before) / time.Duration(passes*sr.n)
	if sr.profileDir != "" {
		if err := saveProfiles(admin, sr.profileDir, fmt.Sprintf("%s-%d", sr.kind, sr.n)); err != nil {
			return fail(err)
		}
	}

	if res.edit, res.editGaps, err = sr.editLive(nc, st, p); err != nil {
		return fail(err)
	}
	if sr.profileDir != "" {
		if err := sr.profileEdits(admin, nc, st, p); err != nil {
			return fail(err)
		}
	}
	return res, nil
}

// profileEdits records a CPU profile of msgscript while scripts are edited one after another, as
// editLive does, after the measured edits so that profiling does not slow them: what an edit costs
// with this many scripts.
func (sr scaleRun) profileEdits(admin string, nc *nats.Conn, st scaleStore, p *process) error {
	const seconds = 3
	type result struct {
		body []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		body, err := adminGet(admin, fmt.Sprintf("/debug/pprof/profile?seconds=%d", seconds))
		done <- result{body, err}
	}()
	for e := 0; ; e++ {
		select {
		case r := <-done:
			if r.err != nil {
				return r.err
			}
			return os.WriteFile(filepath.Join(sr.profileDir, fmt.Sprintf("%s-%d-edits-cpu.pprof", sr.kind, sr.n)), r.body, 0o644)
		default:
		}
		i := (e*7919 + 1) % sr.n
		reply := fmt.Sprintf("profiled edit %d of s%d", e, i)
		if err := st.edit(i, reply); err != nil {
			return err
		}
		if _, err := awaitReply(nc, i, reply, time.Now().Add(30*time.Second), p, time.Millisecond); err != nil {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// editLive rewrites sr.edits scripts, spread over the n, one at a time, and returns the median
// time from the start of the write until a request on the script's subject returns its new
// reply, polled every millisecond.
func (sr scaleRun) editLive(nc *nats.Conn, st scaleStore, p *process) (time.Duration, int, error) {
	var times []time.Duration
	gaps := 0
	for e := range sr.edits {
		i := (e*sr.n/sr.edits + sr.round) % sr.n
		reply := fmt.Sprintf("edit %d.%d of s%d", sr.round, e, i)
		start := time.Now()
		if err := st.edit(i, reply); err != nil {
			return 0, 0, err
		}
		failed, err := awaitReply(nc, i, reply, start.Add(30*time.Second), p, time.Millisecond)
		if err != nil {
			return 0, 0, fmt.Errorf("edit of %s: %v", scaleSubject(i), err)
		}
		times = append(times, time.Since(start))
		gaps += failed
		// Edits one after another in a burst would be one batch to the folder store: let this
		// one's settling pass.
		time.Sleep(100 * time.Millisecond)
	}
	slices.Sort(times)
	return times[len(times)/2], gaps, nil
}

// awaitReply requests script i's subject every poll until the reply holds want (a JSON string),
// the process ends or the deadline passes, and returns how many requests failed meanwhile.
func awaitReply(nc *nats.Conn, i int, want string, deadline time.Time, p *process, poll time.Duration) (int, error) {
	quoted := []byte(`"` + want + `"`)
	failed := 0
	for {
		m, err := nc.Request(scaleSubject(i), []byte(payload), 2*time.Second)
		if err == nil && bytes.Contains(m.Data, quoted) {
			return failed, nil
		}
		if err != nil {
			failed++
		}
		if p.exited() {
			return failed, fmt.Errorf("msgscript ended")
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("answered %q", m.Data)
			}
			return failed, fmt.Errorf("%s: no %q before the deadline (%v)", scaleSubject(i), want, err)
		}
		time.Sleep(poll)
	}
}

// confirmAll asks every script once, a few requests in flight (its replies are what a user's
// first call of each gets: a state made, the script run), retrying a script that does not answer
// yet.
func confirmAll(nc *nats.Conn, n int, deadline time.Time, p *process) error {
	const inFlight = 16
	var next atomic.Int64
	var first error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range inFlight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if _, err := awaitReply(nc, i, initialReply(i), deadline, p, 10*time.Millisecond); err != nil {
					mu.Lock()
					first = errors.Join(first, err)
					mu.Unlock()
					next.Store(int64(n)) // stop the others
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// tail is the end of s, at most n bytes.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
