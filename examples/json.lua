--* subject: funcs.json
--* name: json

-- The json module (gopher-lua-libs): decode the payload, answer JSON.
--   nats request funcs.json '{"name":"Ann","items":[1,2,3]}'
local json = require("json")

function OnMessage(subject, payload)
    local data, err = json.decode(payload)
    if err then
        error("payload is not JSON: " .. err)
    end
    local sum = 0
    for _, n in ipairs(data.items or {}) do
        sum = sum + n
    end
    return json.encode({ greeting = "Hello, " .. (data.name or "nobody"), sum = sum })
end
