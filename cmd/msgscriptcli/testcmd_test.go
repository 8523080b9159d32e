package main

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/msgscript/msgscript/internal/testbin"
	"github.com/msgscript/msgscript/internal/testfiles"
)

// Tests of msgscriptcli test. Most run the command in-process (run, as main does) in a folder of
// scripts and test files, so that the report's paths are relative and can be compared exactly.

// runTestsIn runs `msgscriptcli test args...` from dir.
func runTestsIn(t *testing.T, dir string, args ...string) result {
	t.Helper()
	t.Chdir(dir)
	var stdout, stderr bytes.Buffer
	code := run(append([]string{"test"}, args...), &stdout, &stderr)
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

// runTestFiles writes files into a new folder and runs `msgscriptcli test args...` there.
func runTestFiles(t *testing.T, files map[string]string, args ...string) result {
	t.Helper()
	return runTestsIn(t, testfiles.Dir(t, files), args...)
}

// wantReport checks the exit status and the whole report.
func wantReport(t *testing.T, r result, code int, want string) {
	t.Helper()
	if r.code != code || r.stdout != want {
		t.Errorf("exit %d, report:\n%s\nwant exit %d, report:\n%s\nstderr:\n%s", r.code, r.stdout, code, want, r.stderr)
	}
}

// One line per failure, at the line of the test file where it happened, then the counts; tests
// run in the order the file defines them.
func TestTestReport(t *testing.T) {
	files := map[string]string{
		"hello.lua": helloScript,
		"a_test.lua": `function TestPasses()
  expect(call("funcs.hello", "Ann").hello).to_be("Processed subject: funcs.hello with payload: Ann")
end

function TestFails()
  expect(call("funcs.hello", "Ann").hello).to_be("nope")
end

function TestLuaError()
  local t = nil
  return t.x
end

function TestError()
  error("plain error")
end

function TestErrorWithoutPosition()
  error("no position", 0)
end
`,
		"sub/b_test.lua": "function TestB() end\nfunction helper() end\n",
	}
	wantReport(t, runTestFiles(t, files), 1, `a_test.lua:6: TestFails: got "Processed subject: funcs.hello with payload: Ann", want "nope"
a_test.lua:11: TestLuaError: attempt to index a non-table object(nil) with key 'x'
a_test.lua:15: TestError: plain error
a_test.lua:18: TestErrorWithoutPosition: no position
2 passed, 4 failed
`)
	wantReport(t, runTestFiles(t, files, "-v"), 1, `PASS a_test.lua TestPasses
FAIL a_test.lua TestFails
a_test.lua:6: TestFails: got "Processed subject: funcs.hello with payload: Ann", want "nope"
FAIL a_test.lua TestLuaError
a_test.lua:11: TestLuaError: attempt to index a non-table object(nil) with key 'x'
FAIL a_test.lua TestError
a_test.lua:15: TestError: plain error
FAIL a_test.lua TestErrorWithoutPosition
a_test.lua:18: TestErrorWithoutPosition: no position
PASS sub/b_test.lua TestB
2 passed, 4 failed
`)
	wantReport(t, runTestFiles(t, files, "--run", "Pass|B$"), 0, "2 passed, 0 failed\n")
}

// A test file that does not compile, one whose top level fails and one without tests are
// failures at their file and line; so is a script the server would not load. The rest runs.
func TestTestFilesAndScriptsThatDoNotLoad(t *testing.T) {
	wantReport(t, runTestFiles(t, map[string]string{
		"hello.lua":       helloScript,
		"broken.lua":      "--* subject: funcs.broken\nfunction OnMessage(s, p)\n  return p +\nend\n",
		"badhdr.lua":      "--* subject: funcs.hdr\n--* timeout: soon\nfunction OnMessage() end\n",
		"badsubject.lua":  "--* subject: funcs..x\n",
		"needslib.lua":    "--* subject: funcs.lib\n--* require: missing\nfunction OnMessage() end\n",
		"broken_test.lua": "function TestA()\n  local x =\nend\n",
		"top_test.lua":    "local x = 1\nerror('top boom')\nfunction TestA() end\n",
		// Held to the limits of scripts: gopher-lua would jump to the wrong place in it.
		"loops_test.lua":   "function TestLoop()\n  local n = 0\n  repeat n = n + 1\n" + strings.Repeat("x = 1 ", 70000) + "\n  until n >= 2\nend\n",
		"none_test.lua":    "local function TestHidden() end\n",
		"working_test.lua": "function TestHello() expect(call('funcs.hello', '').hello).to_contain('funcs.hello') end\n",
	}), 1, `badsubject.lua:1: subject "funcs..x" has an empty token
broken.lua:4: syntax error near 'end'
badhdr.lua:2: header "timeout" wants a positive duration such as 5s or 250ms, got "soon"
needslib.lua: requires library "missing", which does not exist
broken_test.lua:3: syntax error near 'end'
loops_test.lua:1: a function that branches or loops over more than 131071 instructions, which gopher-lua's jumps cannot reach across; split it into functions
none_test.lua: no tests: define global functions named Test...
top_test.lua:2: top boom
1 passed, 8 failed
`)
}

// The exit status: 0 when everything passed, 1 when something failed or there is nothing to
// test, 2 when the command was called wrongly.
func TestTestExitStatus(t *testing.T) {
	wantReport(t, runTestFiles(t, map[string]string{"hello.lua": helloScript, "ok_test.lua": "function TestOK() end\n"}), 0, "1 passed, 0 failed\n")

	r := runTestFiles(t, map[string]string{"hello.lua": helloScript, ".hidden/x_test.lua": "function TestX() end\n"})
	if r.code != 1 || r.stderr != "msgscriptcli: no test files (*_test.lua) in .\n" || r.stdout != "" {
		t.Errorf("no test files: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	r = runTestFiles(t, map[string]string{"hello.lua": helloScript}, "hello.lua")
	if r.code != 1 || !strings.Contains(r.stderr, "hello.lua is not a folder") {
		t.Errorf("a file: exit %d, stderr %q", r.code, r.stderr)
	}
	r = runTestFiles(t, map[string]string{"ok_test.lua": "function TestOK() end\n"}, "--run", "(")
	if r.code != 2 || !strings.Contains(r.stderr, "--run: error parsing regexp") {
		t.Errorf("a bad --run: exit %d, stderr %q", r.code, r.stderr)
	}
	r = runTestFiles(t, map[string]string{"ok_test.lua": "function TestOK() end\n"}, "a", "b")
	if r.code != 2 {
		t.Errorf("two folders: exit %d, stderr %q", r.code, r.stderr)
	}
}

// A script past its deadline is a 504 reply the test sees; a test past --test-timeout fails.
func TestTestTimeouts(t *testing.T) {
	wantReport(t, runTestFiles(t, map[string]string{
		"loop.lua": "--* subject: funcs.loop\n--* timeout: 100ms\nfunction OnMessage() while true do end end\n",
		"loop_test.lua": `function TestScriptTimesOut()
  local reply, err, code = call("funcs.loop", "")
  expect(code).to_be(504)
  expect(err).to_contain("loop: timed out after 100ms")
  expect(reply).to_be({})
end

function TestTestTimesOut()
  while true do end
end
`,
	}, "--test-timeout", "300ms"), 1, "loop_test.lua:9: TestTestTimesOut: timed out after 300ms (--test-timeout)\n1 passed, 1 failed\n")
}

// `msgscriptcli test examples`, the built command from the repository's root, passes: the
// examples' own tests.
func TestTestExamples(t *testing.T) {
	cmd := exec.Command(testbin.Build(t, "github.com/msgscript/msgscript/cmd/msgscriptcli"), "test", "-v", "examples")
	cmd.Dir = filepath.Join("..", "..")
	for _, kv := range cmd.Environ() {
		if !strings.HasPrefix(kv, "PUSHOVER_URL=") { // pushover.lua's mocks are for its default URL
			cmd.Env = append(cmd.Env, kv)
		}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"PASS examples/hello_test.lua TestHello\n", "PASS examples/pushover_test.lua TestSendsTheNotification\n",
		"PASS examples/website_test.lua TestPage\n", " passed, 0 failed\n"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the report lacks %q:\n%s", want, out)
		}
	}
}

// A test file's print writes to the report; its os.exit fails the test instead of ending
// msgscriptcli.
func TestTestPrintAndExit(t *testing.T) {
	wantReport(t, runTestFiles(t, map[string]string{"exit_test.lua": `function TestPrint()
  print("a", 1, nil)
end
function TestExit()
  os.exit(3)
end
`}), 1, "a\t1\tnil\nexit_test.lua:5: TestExit: os.exit is not available in tests: fail with error() or expect\n1 passed, 1 failed\n")
}
