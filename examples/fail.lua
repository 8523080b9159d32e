--* subject: funcs.fail
--* name: fail

-- A script that fails: the reply leaves it out ({}) and carries the NATS micro error headers
-- Nats-Service-Error-Code: 500 and Nats-Service-Error: fail: <file>:<line>: something went wrong
function OnMessage(subject, payload)
    error("something went wrong")
end
