--* subject: web.site
--* name: website
--* http: true

-- HTTP mode: through the handler on :7643, GET /web.site/any/path?name=Ann calls GET with
-- url "/any/path?name=Ann", the body, and req (method, path, query, headers, remote_addr).
-- It returns body, status, headers, written out as they are.

local function escape(s)
    return (s:gsub("[<>&\"']", { ["<"] = "&lt;", [">"] = "&gt;", ["&"] = "&amp;", ['"'] = "&quot;", ["'"] = "&#39;" }))
end

function GET(url, body, req)
    local name = req.query.name or "world"
    return "<!doctype html><h1>Hello, " .. escape(name) .. "!</h1><p>You asked for " .. escape(req.path) .. "</p>\n",
        200, { ["Content-Type"] = "text/html; charset=utf-8" }
end

-- POST echoes the body back with its content type, answering 201 Created.
function POST(url, body, req)
    return body, 201, { ["Content-Type"] = req.headers["Content-Type"] or "application/octet-stream" }
end
