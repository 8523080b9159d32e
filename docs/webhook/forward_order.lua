--* subject: webhooks.orders
--* name: forward_order
--* stream: WEBHOOKS
--* max_deliver: 5
--* backoff: 1s, 10s, 1m, 5m
--* timeout: 10s
-- Forwards each order webhook to the orders API. The webhook is stored in the WEBHOOKS stream
-- before its sender gets its 200, so an API that is down loses nothing: a failed call is tried
-- again after 1s, 10s, 1m and 5m, then the webhook goes to msgscript.dead.webhooks.orders with
-- the last error.
local API = "http://127.0.0.1:9000/orders"

function OnMessage(subject, payload)
  local http = require("http")
  local resp, err = http.post(API, { body = payload, headers = { ["Content-Type"] = "application/json" } })
  if not resp then
    error("orders API unreachable: " .. err)
  end
  if resp.status_code >= 300 then
    error("orders API answered " .. resp.status_code .. ": " .. resp.body)
  end
  return "forwarded"
end
