--* subject: funcs.hello_plugin
--* name: hello_plugin

-- A module from a Go plugin (plugins/hello), built into msgscript.
local hello = require("hello")

function OnMessage(subject, payload)
    return hello.print()
end
