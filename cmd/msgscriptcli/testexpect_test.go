package main

import "testing"

// Every check says what it got and what it wanted, at the line of the test file that made it;
// a check that passes says nothing.
func TestTestExpectMessages(t *testing.T) {
	wantReport(t, runTestFiles(t, map[string]string{"checks_test.lua": `function TestDeep()
  expect({1, 2, {a = "x"}}).to_be({1, 2, {a = "y"}})
end
function TestDeepExtraKey()
  expect({a = 1}).to_be({a = 1, b = 2})
end
function TestNever()
  expect(1).never.to_be(1)
end
function TestContainString()
  expect("hello").to_contain("xyz")
end
function TestContainTable()
  expect({"a", "b"}).to_contain("c")
end
function TestNeverContain()
  expect({"a", "b"}).never.to_contain("b")
end
function TestContainWrongType()
  expect(5).to_contain("5")
end
function TestNil()
  expect(false).to_be_nil()
end
function TestNeverNil()
  expect(nil).never.to_be_nil()
end
function TestTruthy()
  expect(nil).to_be_truthy()
end
function TestNeverTruthy()
  expect(0).never.to_be_truthy()
end
function TestPcallCannotHideAFailure()
  local ok = pcall(function()
    expect(1).to_be(2)
  end)
  expect(ok).to_be(false)
end
local function check_hello(v)
  expect(v).to_be("hello")
end
function TestInAHelper()
  check_hello("bye")
end
function TestFirstFailureEndsTheTest()
  expect(1).to_be(2)
  expect(3).to_be(4)
end
function TestPasses()
  expect({a = {b = {1}}, [5] = true}).to_be({a = {b = {1}}, [5] = true})
  expect({"a", {k = 1}}).to_contain({k = 1})
  expect("hello").to_contain("ell")
  expect({"a"}).never.to_contain("b")
  expect("x").never.to_be("y")
  expect(nil).to_be_nil()
  expect(0).to_be_truthy()
  expect(false).never.to_be_truthy()
  expect(3):to_be(3)
  local cycle = {}
  cycle.self = cycle
  local other = {}
  other.self = other
  expect(cycle).to_be(other)
end
`}), 1, `checks_test.lua:2: TestDeep: got {1, 2, {a = "x"}}, want {1, 2, {a = "y"}}
checks_test.lua:5: TestDeepExtraKey: got {a = 1}, want {a = 1, b = 2}
checks_test.lua:8: TestNever: got 1, want anything else
checks_test.lua:11: TestContainString: got "hello", want it to contain "xyz"
checks_test.lua:14: TestContainTable: got {"a", "b"}, want it to contain "c"
checks_test.lua:17: TestNeverContain: got {"a", "b"}, want it not to contain "b"
checks_test.lua:20: TestContainWrongType: to_contain: got 5, want a string or a table
checks_test.lua:23: TestNil: got false, want nil
checks_test.lua:26: TestNeverNil: got nil, want a value
checks_test.lua:29: TestTruthy: got nil, want a true value (not nil or false)
checks_test.lua:32: TestNeverTruthy: got 0, want nil or false
checks_test.lua:36: TestPcallCannotHideAFailure: got 1, want 2
checks_test.lua:41: TestInAHelper: got "bye", want "hello"
checks_test.lua:47: TestFirstFailureEndsTheTest: got 1, want 2
1 passed, 14 failed
`)
}
