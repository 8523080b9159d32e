--* subject: notify.pushover
--* name: pushover
--* timeout: 10s

-- Sends the payload as a Pushover notification with the http module (gluahttp's API). The token
-- and user come from the environment; PUSHOVER_URL points elsewhere for tests.
local http = require("http")

function OnMessage(subject, payload)
    local url = os.getenv("PUSHOVER_URL") or "https://api.pushover.net/1/messages.json"
    local resp, err = http.post(url, {
        form = {
            token = os.getenv("PUSHOVER_TOKEN") or "",
            user = os.getenv("PUSHOVER_USER") or "",
            message = payload,
        },
        timeout = 5,
    })
    if err then
        error("pushover: " .. err)
    end
    if resp.status_code ~= 200 then
        error("pushover answered " .. resp.status_code .. ": " .. resp.body)
    end
    return "sent"
end
