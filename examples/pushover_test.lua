-- Tests of pushover.lua. mock_http answers its requests: nothing reaches api.pushover.net (a
-- request no mock answers fails the test).

function TestSendsTheNotification()
    mock_http("https://api.pushover.net/", 200, '{"status":1}')
    local reply, err = call("notify.pushover", "Disk almost full")
    expect(err).to_be_nil()
    expect(reply.pushover).to_be("sent")
    -- What the script sent.
    local requests = http_requests()
    expect(#requests).to_be(1)
    expect(requests[1].method).to_be("POST")
    expect(requests[1].url).to_be("https://api.pushover.net/1/messages.json")
    expect(requests[1].body).to_contain("message=Disk+almost+full")
end

function TestReportsARefusal()
    mock_http("https://api.pushover.net/", 400, '{"user":"invalid"}')
    local _, err, code = call("notify.pushover", "hi")
    expect(code).to_be(500)
    expect(err).to_contain('pushover answered 400: {"user":"invalid"}')
end
