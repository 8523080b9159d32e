--* subject: funcs.hello
--* name: hello

-- The reply to a request on funcs.hello is a JSON object from script name to what OnMessage
-- returned: {"hello":"Processed subject: funcs.hello with payload: John"}
function OnMessage(subject, payload)
    local response = "Processed subject: " .. subject .. " with payload: " .. payload

    return response
end
