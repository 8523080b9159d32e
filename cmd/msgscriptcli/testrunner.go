package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/msgscript/msgscript/engine"
)

// testOptions are the flags of msgscriptcli test.
type testOptions struct {
	verbose     bool
	run         string // a regular expression the names of the tests to run match
	sandbox     bool
	httpHosts   []string
	testTimeout time.Duration
}

// testRun runs test files against the scripts of one folder, and counts.
type testRun struct {
	g     *globals
	opts  testOptions
	match *regexp.Regexp // nil: every test
	root  string         // the scripts' folder
	out   io.Writer

	reg      *engine.Registry
	patterns []string          // the subject patterns that have a script serving, sorted
	testEnv  func(*lua.LState) // the modules of the test files' own states

	world          atomic.Pointer[testWorld] // the running test's; nil between tests
	passed, failed int
}

// current is the running test's world.
func (r *testRun) current() *testWorld { return r.world.Load() }

// testFunc is one test of a file: a global function named Test..., and the line it starts on.
type testFunc struct {
	name string
	line int
}

// testFile is a test file, compiled once; every test runs it again on a state of its own.
type testFile struct {
	path  string
	proto *lua.FunctionProto
}

// runFile runs the tests of one file, in the order they are defined. An error is the runner's
// own (the NATS server did not start), not a failure.
func (r *testRun) runFile(path string) error {
	text, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	tf, fail := compileTestFile(path, text)
	if fail != nil {
		r.report(*fail)
		r.failed++
		return nil
	}
	var tests []testFunc
	failures, err := r.inWorld(tf, testFunc{}, func(L *lua.LState) error {
		L.G.Global.ForEach(func(k, v lua.LValue) {
			name, _ := k.(lua.LString)
			if fn, ok := v.(*lua.LFunction); ok && fn.Proto != nil && strings.HasPrefix(string(name), "Test") {
				tests = append(tests, testFunc{name: string(name), line: fn.Proto.LineDefined})
			}
		})
		return nil
	})
	if err != nil {
		return err
	}
	if len(failures) > 0 { // its top level failed: so would every test
		for _, f := range failures {
			r.report(f)
		}
		r.failed++
		return nil
	}
	if len(tests) == 0 && r.match == nil {
		r.report(testFailure{location: location{file: path}, msg: "no tests: define global functions named Test..."})
		r.failed++
		return nil
	}
	sort.Slice(tests, func(i, j int) bool {
		if tests[i].line != tests[j].line {
			return tests[i].line < tests[j].line
		}
		return tests[i].name < tests[j].name
	})
	for _, t := range tests {
		if r.match != nil && !r.match.MatchString(t.name) {
			continue
		}
		failures, err := r.inWorld(tf, t, func(L *lua.LState) error {
			L.Push(L.GetGlobal(t.name))
			return L.PCall(0, 0, nil)
		})
		if err != nil {
			return err
		}
		status := "PASS"
		if len(failures) == 0 {
			r.passed++
		} else {
			r.failed++
			status = "FAIL"
		}
		if r.opts.verbose {
			fmt.Fprintf(r.out, "%s %s %s\n", status, path, t.name)
		}
		for _, f := range failures {
			r.report(f)
		}
	}
	return nil
}

// inWorld runs the file's top level, then body, on a new state in a new world (t is the test,
// or none while the tests are listed), and returns the failures: those recorded (checks, requests
// nothing mocked), then the error that ended it, unless a check raised it.
func (r *testRun) inWorld(tf *testFile, t testFunc, body func(L *lua.LState) error) ([]testFailure, error) {
	w, err := newTestWorld(tf.path, t.name, t.line, r.reg, r.patterns)
	if err != nil {
		return nil, err
	}
	r.world.Store(w)
	ctx, cancel := context.WithTimeout(context.Background(), r.opts.testTimeout)
	L := r.newTestState(ctx)
	L.Push(L.NewFunctionFromProto(tf.proto))
	runErr := L.PCall(0, 0, nil)
	if runErr == nil {
		runErr = body(L)
	}
	timedOut := ctx.Err() != nil
	cancel()
	L.Close()
	w.close() // before the world goes: what the test left running may still record failures
	r.world.Store(nil)

	failures := w.failures
	if runErr != nil {
		msg := runErr.Error()
		var ae *lua.ApiError
		if errors.As(runErr, &ae) && ae.Object != nil {
			msg = ae.Object.String() // without the stack trace
		}
		if msg != w.raised {
			at := location{tf.path, t.line}
			if line, rest, ok := splitPosition(msg, tf.path); ok {
				at.line, msg = line, rest
			}
			if timedOut {
				msg = fmt.Sprintf("timed out after %s (--test-timeout)", r.opts.testTimeout)
			}
			failures = append(failures, testFailure{location: at, test: t.name, msg: msg})
		}
	}
	return failures, nil
}

// newTestState is a Lua state for a test file: Lua's libraries, msgscript's modules, and the
// test API.
func (r *testRun) newTestState(ctx context.Context) *lua.LState {
	L := lua.NewState()
	r.testEnv(L)
	L.SetContext(ctx) // the test's deadline, even in an endless loop
	if os, ok := L.GetGlobal("os").(*lua.LTable); ok {
		// It would end msgscriptcli itself.
		os.RawSetString("exit", L.NewFunction(func(L *lua.LState) int {
			L.RaiseError("os.exit is not available in tests: fail with error() or expect")
			return 0
		}))
	}
	L.SetGlobal("print", L.NewFunction(func(L *lua.LState) int {
		parts := make([]string, L.GetTop())
		for i := range parts {
			parts[i] = L.ToStringMeta(L.Get(i + 1)).String()
		}
		fmt.Fprintln(r.out, strings.Join(parts, "\t"))
		return 0
	}))
	for name, fn := range map[string]lua.LGFunction{
		"call":          r.luaCall,
		"call_http":     r.luaCallHTTP,
		"expect":        r.luaExpect,
		"mock_http":     r.luaMockHTTP,
		"mock_nats":     r.luaMockNATS,
		"http_requests": r.luaHTTPRequests,
	} {
		L.SetGlobal(name, L.NewFunction(fn))
	}
	return L
}

// compileTestFile compiles a test file as a script is compiled (the same syntax checks first,
// the same messages); a failure says where.
func compileTestFile(path string, text []byte) (*testFile, *testFailure) {
	proto, err := engine.CompileChunk(path, text)
	if err != nil {
		var ce *engine.CompileError
		if errors.As(err, &ce) {
			return nil, &testFailure{location: location{path, ce.Line}, msg: ce.Msg}
		}
		return nil, &testFailure{location: location{path, 0}, msg: err.Error()}
	}
	return &testFile{path: path, proto: proto}, nil
}

// splitPosition splits "file:line: message", the form of a Lua error raised in the file.
func splitPosition(msg, file string) (line int, rest string, ok bool) {
	after, found := strings.CutPrefix(msg, file+":")
	if !found {
		return 0, "", false
	}
	num, rest, found := strings.Cut(after, ": ")
	n, err := strconv.Atoi(num)
	if !found || err != nil {
		return 0, "", false
	}
	return n, rest, true
}

// report writes one failure: file:line: test: message (without the parts it lacks). A message of
// several lines is indented after the first, so that each failure starts a line of its own.
func (r *testRun) report(f testFailure) {
	var b strings.Builder
	if f.file != "" {
		b.WriteString(f.file)
		if f.line > 0 {
			b.WriteString(":" + strconv.Itoa(f.line))
		}
		b.WriteString(": ")
	}
	if f.test != "" {
		b.WriteString(f.test + ": ")
	}
	b.WriteString(strings.ReplaceAll(strings.TrimRight(f.msg, "\n"), "\n", "\n    "))
	fmt.Fprintln(r.out, b.String())
}
