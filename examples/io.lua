--* subject: funcs.io
--* name: io

-- Lua's io library (not available with the app's sandbox on): write the payload to a temporary
-- file and read it back.
function OnMessage(subject, payload)
    local path = os.tmpname()
    local f = assert(io.open(path, "w"))
    f:write(payload)
    f:close()
    f = assert(io.open(path, "r"))
    local content = f:read("*a")
    f:close()
    os.remove(path)
    return "read back " .. #content .. " bytes: " .. content
end
