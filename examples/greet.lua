--* subject: funcs.greet
--* name: greet
--* require: greeting

-- greeting() comes from examples/libs/greeting.lua, prepended to this script.
function OnMessage(subject, payload)
    return greeting(payload)
end
