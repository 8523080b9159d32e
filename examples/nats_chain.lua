--* subject: funcs.chain
--* name: chain

-- Scripts calling scripts over NATS, on msgscript's own connection: publish an event, then ask
-- funcs.hello and pass its answer on.
local nats = require("nats")
local json = require("json")

function OnMessage(subject, payload)
    local ok, err = nats.publish("events.chain", payload)
    if not ok then
        error(err)
    end
    local reply, err = nats.request("funcs.hello", payload, 2)
    if err then
        error(err)
    end
    return "hello said " .. json.decode(reply).hello
end
