package main

import "testing"

// call runs the scripts of a subject as the server does: libraries from libs/ (test files there
// are tests, not libraries), every script on the subject with the replies merged, a failing one
// left out and reported second, wildcard subjects; a subject no script (or two patterns) answers
// is a mistake of the test. A *_test.lua file is no script, whatever its headers.
func TestTestCall(t *testing.T) {
	wantReport(t, runTestFiles(t, map[string]string{
		"libs/greeting.lua": "--* require: punct\nfunction greeting(who) return 'Hello, ' .. who .. bang() end\n",
		"libs/punct.lua":    "function bang() return '!' end\n",
		"greet.lua":         "--* subject: funcs.greet\n--* require: greeting\nfunction OnMessage(s, p) return greeting(p) end\n",
		"a.lua":             "--* subject: funcs.multi\n--* name: a\nfunction OnMessage(s, p) return 'A ' .. p end\n",
		"b.lua":             "--* subject: funcs.multi\n--* name: b\nfunction OnMessage(s, p)\n  error('B failed')\nend\n",
		"c.lua":             "--* subject: funcs.multi\n--* name: c\nfunction OnMessage(s, p) return 'C ' .. s end\n",
		"any.lua":           "--* subject: any.*\nfunction OnMessage(s, p) return s end\n",
		"one.lua":           "--* subject: any.one\nfunction OnMessage(s, p) return 'one' end\n",
		"libs/greeting_test.lua": `--* subject: funcs.fake
function TestGreetingThroughAScript()
  expect(call("funcs.greet", "Ann")).to_be({greet = "Hello, Ann!"})
end
`,
		"call_test.lua": `function TestMergedReply()
  local reply, err, code = call("funcs.multi", "x")
  expect(reply).to_be({a = "A x", c = "C funcs.multi"})
  expect(err).to_be("b: b.lua:4: B failed")
  expect(code).to_be(500)
end

function TestWildcard()
  expect(call("any.two", "").any).to_be("any.two")
end

function TestTwoPatterns()
  call("any.one", "")
end

function TestNoScript()
  call("funcs.fake", "")
end

function TestBadSubject()
  call("funcs.*", "")
end
--* subject: funcs.fake
`,
	}), 1, `call_test.lua:13: TestTwoPatterns: call: any.one is under several subjects that have scripts (any.*, any.one): the server would answer with whichever replied first
call_test.lua:17: TestNoScript: call: funcs.fake: no script listens on it
call_test.lua:21: TestBadSubject: bad argument #1 to call (subject "funcs.*" contains a wildcard)
3 passed, 3 failed
`)
}

// call_http answers as the server's HTTP handler does: the script's status, body and headers in
// HTTP mode, the JSON object otherwise, and the handler's own statuses.
func TestTestCallHTTP(t *testing.T) {
	wantReport(t, runTestFiles(t, map[string]string{
		"page.lua": `--* subject: web.page
--* http: true
function GET(url, body, req)
  return req.method .. " " .. url .. " " .. req.path .. " " .. (req.query.name or "") .. " " .. (req.headers["X-Test"] or "") .. " " .. req.remote_addr,
    203, {["Content-Type"] = "text/plain", ["Set-Cookie"] = {"a=1", "b=2"}}
end
function POST(url, body, req)
  return "got " .. body
end
function PUT()
  error("cannot put")
end
`,
		"hello.lua": helloScript,
		"http_test.lua": `function TestGet()
  local resp = call_http("GET", "/web.page/a/b?name=Ann", "", {["X-Test"] = "yes"})
  expect(resp.status).to_be(203)
  expect(resp.body).to_be("GET /a/b?name=Ann /a/b Ann yes 127.0.0.1:1234")
  expect(resp.headers["Content-Type"]).to_be("text/plain")
  expect(resp.headers["Set-Cookie"]).to_be("a=1, b=2")
end

function TestPost()
  local resp = call_http("post", "/web.page", "the body")
  expect(resp.status).to_be(200)
  expect(resp.body).to_be("got the body")
end

function TestStatuses()
  local resp = call_http("DELETE", "/web.page")
  expect(resp.status).to_be(405)
  expect(resp.headers.Allow).to_be("GET, POST, PUT")
  resp = call_http("PUT", "/web.page")
  expect(resp.status).to_be(500)
  expect(resp.body).to_be("page: page.lua:11: cannot put\n")
  expect(call_http("GET", "/web.nothing").status).to_be(404)
  expect(call_http("GET", "/web..page").status).to_be(400)
  expect(call_http("POST", "/web.page", string.rep("x", 1024 * 1024 + 1)).status).to_be(413)
end

function TestNormalModeOverHTTP()
  local resp = call_http("POST", "/funcs.hello", "Ann")
  expect(resp.status).to_be(200)
  expect(resp.headers["Content-Type"]).to_be("application/json")
  expect(resp.body).to_contain('{"hello":"Processed subject: funcs.hello with payload: Ann"}')
end

function TestWrong()
  expect(call_http("GET", "/web.page").status).to_be(200)
end
`,
	}), 1, "http_test.lua:35: TestWrong: got 203, want 200\n4 passed, 1 failed\n")
}
