-- Tests of website.lua in HTTP mode: call_http sends the request the server's HTTP handler
-- would, and returns the response {status=, body=, headers=}.

function TestPage()
    local resp = call_http("GET", "/web.site/docs?name=Ann")
    expect(resp.status).to_be(200)
    expect(resp.headers["Content-Type"]).to_be("text/html; charset=utf-8")
    expect(resp.body).to_contain("<h1>Hello, Ann!</h1>")
    expect(resp.body).to_contain("You asked for /docs")
end

function TestPageEscapesTheName()
    local resp = call_http("GET", "/web.site/?name=%3Cb%3E")
    expect(resp.body).to_contain("Hello, &lt;b&gt;!")
    expect(resp.body).never.to_contain("<b>")
end

function TestPostEchoesTheBody()
    local resp = call_http("POST", "/web.site/echo", '{"a":1}', { ["Content-Type"] = "application/json" })
    expect(resp.status).to_be(201)
    expect(resp.body).to_be('{"a":1}')
    expect(resp.headers["Content-Type"]).to_be("application/json")
end

function TestOtherVerbsAreNotAllowed()
    local resp = call_http("DELETE", "/web.site/x")
    expect(resp.status).to_be(405)
    expect(resp.headers["Allow"]).to_be("GET, POST")
end
