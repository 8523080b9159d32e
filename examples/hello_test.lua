-- Tests of the example scripts, run by `msgscriptcli test examples`. Every global function named
-- Test... is a test, run on a fresh Lua state; the server ignores *_test.lua files.

function TestHello()
    local reply, err = call("funcs.hello", "John")
    expect(err).to_be_nil()
    -- The reply is the JSON object the caller gets, decoded: script name -> what it returned.
    expect(reply).to_be({ hello = "Processed subject: funcs.hello with payload: John" })
end

function TestGreetUsesItsLibrary()
    expect(call("funcs.greet", "Ann").greet).to_be("Hello, Ann!")
    expect(call("funcs.greet", "").greet).to_be("Hello, stranger!")
end

function TestFailIsReported()
    -- A failing script is left out of the reply; its error comes second, the code third.
    local reply, err, code = call("funcs.fail", "x")
    expect(reply).to_be({})
    expect(err).to_contain("fail.lua:7: something went wrong") -- name: file:line: message
    expect(code).to_be(500)
end

function TestJSON()
    local json = require("json")
    local reply = call("funcs.json", json.encode({ name = "Ann", items = { 1, 2, 3 } }))
    expect(json.decode(reply.json)).to_be({ greeting = "Hello, Ann", sum = 6 })
    local _, err = call("funcs.json", "not json")
    expect(err).to_contain("payload is not JSON")
end

function TestChainAsksHello()
    -- Nothing mocked: funcs.hello is answered by hello.lua, as on the server.
    expect(call("funcs.chain", "Bob").chain).to_be("hello said Processed subject: funcs.hello with payload: Bob")
end

function TestChainWithHelloMocked()
    mock_nats("funcs.hello", '{"hello":"mocked"}')
    expect(call("funcs.chain", "Bob").chain).to_be("hello said mocked")
end

function TestChainWhenHelloFails()
    mock_nats("funcs.hello", "{}", "hello: down for maintenance")
    local _, err = call("funcs.chain", "Bob")
    expect(err).to_contain("funcs.hello answered 500: hello: down for maintenance")
end
