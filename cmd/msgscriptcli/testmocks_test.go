package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// mock_http answers the scripts' (and the test's) HTTP requests; a request no mock matches fails
// the test, even when the script swallows the error, and never reaches the network. Mocks last
// for one test (the file's top level sets them again for each).
func TestTestMockHTTP(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = w.Write([]byte("the network"))
	}))
	defer srv.Close()
	// The script fetches the URL it is given and answers with what came back, or the error.
	fetch := `--* subject: funcs.fetch
local http = require("http")
function OnMessage(s, url)
  local resp, err = http.post(url, {body = "sent", headers = {["X-Sent"] = "1"}})
  if not resp then return "error: " .. err end
  return resp.status_code .. " " .. resp.body .. " " .. (resp.headers["X-Mock"] or "")
end
`
	test := strings.ReplaceAll(`mock_http("URL/everywhere", 299, "everywhere")

function TestMocked()
  mock_http("URL/api", 201, "general", {["X-Mock"] = "yes"})
  mock_http("URL/api/special", 202, "special")
  expect(call("funcs.fetch", "URL/api/x").fetch).to_be("201 general yes")
  expect(call("funcs.fetch", "URL/api/special/y").fetch).to_be("202 special ")
  expect(call("funcs.fetch", "URL/everywhere").fetch).to_be("299 everywhere ")
  local r = http_requests()
  expect(#r).to_be(3)
  expect(r[1].method).to_be("POST")
  expect(r[1].url).to_be("URL/api/x")
  expect(r[1].body).to_be("sent")
  expect(r[1].headers["X-Sent"]).to_be("1")
  expect(require("http").get("URL/api/z").body).to_be("general")
end

function TestMocksAreGoneInTheNextTest()
  local reply = call("funcs.fetch", "URL/api/x")
  expect(reply.fetch).to_contain("error: ")
end

function TestLatestOfEqualPrefixesWins()
  mock_http("URL/api", 200, "first")
  mock_http("URL/api", 200, "second")
  expect(call("funcs.fetch", "URL/api").fetch).to_be("200 second ")
end

function TestTheTestsOwnRequest()
  expect(call("funcs.fetch", "URL/everywhere").fetch).to_be("299 everywhere ")
  local resp, err = require("http").get("URL/direct")
  expect(err).to_contain("no mock_http matches URL/direct")
end
`, "URL", srv.URL)
	wantReport(t, runTestFiles(t, map[string]string{"fetch.lua": fetch, "fetch_test.lua": test}), 1,
		"fetch_test.lua:19: TestMocksAreGoneInTheNextTest: unmocked HTTP request POST "+srv.URL+"/api/x: add a mock_http for it\n"+
			"fetch_test.lua:29: TestTheTestsOwnRequest: unmocked HTTP request GET "+srv.URL+"/direct: add a mock_http for it\n2 passed, 2 failed\n")
	if hits.Load() != 0 {
		t.Errorf("the network was reached %d times", hits.Load())
	}
}

// In the sandbox the scripts' URLs are still checked against --http-hosts, and a listed host is
// answered by the mocks.
func TestTestMockHTTPInTheSandbox(t *testing.T) {
	files := map[string]string{
		"fetch.lua": "--* subject: funcs.fetch\nfunction OnMessage(s, url)\n  local r, err = require('http').get(url)\n  return r and r.body or err\nend\n",
		"files.lua": "--* subject: funcs.files\nfunction OnMessage() return tostring(io.open('/etc/hostname')) end\n",
		"sandbox_test.lua": `mock_http("https://api.test/", 200, "mocked")
function TestListed()
  expect(call("funcs.fetch", "https://api.test/x").fetch).to_be("mocked")
end
function TestNotListed()
  expect(call("funcs.fetch", "https://other.test/x").fetch).to_be("mocked")
end
function TestNoFiles()
  local _, err = call("funcs.files", "")
  expect(err).to_be_nil()
end
`,
	}
	wantReport(t, runTestFiles(t, files, "--sandbox", "--http-hosts", "api.test"), 1,
		`sandbox_test.lua:6: TestNotListed: got "http: host \"other.test\" is not in the sandbox's http_hosts", want "mocked"
sandbox_test.lua:10: TestNoFiles: got "files: files.lua:2: io.open is not available in msgscript's sandbox", want nil
1 passed, 2 failed
`)
}

// mock_nats answers the scripts' nats.request: the latest mock matching a subject, wildcards
// included; with an error, as a failing msgscript script does. A mocked subject is answered by the
// mock even when a script listens on it; an unmocked script subject is answered by its script.
// Mocks, and the kv module's buckets, last for one test.
func TestTestMockNATS(t *testing.T) {
	wantReport(t, runTestFiles(t, map[string]string{
		"ask.lua": `--* subject: funcs.ask
local nats = require("nats")
function OnMessage(s, subject)
  local reply, err = nats.request(subject, "question", 1)
  return reply or err
end
`,
		"hello.lua": helloScript,
		"count.lua": `--* subject: funcs.count
local kv = require("kv")
function OnMessage()
  local n = tonumber(kv.get("n") or "0") + 1
  assert(kv.put("n", n))
  return n
end
`,
		"nats_test.lua": `function TestMocked()
  mock_nats("svc.*", "any")
  mock_nats("svc.upper", "UP")
  expect(call("funcs.ask", "svc.upper").ask).to_be("UP")
  expect(call("funcs.ask", "svc.other").ask).to_be("any")
  mock_nats("svc.upper", "UP again")
  expect(call("funcs.ask", "svc.upper").ask).to_be("UP again")
  mock_nats("svc.>", "latest")
  expect(call("funcs.ask", "svc.upper").ask).to_be("latest")
end

function TestMockedFailure()
  mock_nats("svc.down", "", "down: for maintenance")
  expect(call("funcs.ask", "svc.down").ask).to_be("nats: svc.down answered 500: down: for maintenance")
end

function TestScriptsAnswerTheirSubjects()
  expect(call("funcs.ask", "funcs.hello").ask).to_be('{"hello":"Processed subject: funcs.hello with payload: question"}')
  mock_nats("funcs.hello", "mocked hello")
  expect(call("funcs.ask", "funcs.hello").ask).to_be("mocked hello")
end

function TestMocksAreGoneInTheNextTest()
  expect(call("funcs.ask", "svc.upper").ask).to_be("UP")
end

function TestKV()
  expect(call("funcs.count", "").count).to_be("1")
  expect(call("funcs.count", "").count).to_be("2")
end

function TestKVStartsEmptyInEveryTest()
  expect(call("funcs.count", "").count).to_be("1")
end

function TestBadSubject()
  mock_nats("_INBOX.x", "")
end
`,
	}), 1, `nats_test.lua:24: TestMocksAreGoneInTheNextTest: got "nats: nats: no responders available for request", want "UP"
nats_test.lua:37: TestBadSubject: bad argument #1 to mock_nats (subject "_INBOX.x" is reserved for NATS itself ($... and _INBOX...))
5 passed, 2 failed
`)
}
