-- A library: prepended to every script that says `--* require: greeting`.
local default_name = "stranger"

function greeting(name)
    if name == nil or name == "" then
        name = default_name
    end
    return "Hello, " .. name .. "!"
end
