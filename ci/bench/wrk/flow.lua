-- create -> transition -> end, one connection per thread so each flow stays in order.
local token = os.getenv("TOKEN")
local step, current = "create", nil
local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}

request = function()
  if step == "create" then
    return wrk.format("POST", "/v1/sessions", headers, '{"mode":"party"}')
  elseif step == "transition" then
    return wrk.format("POST", "/v1/sessions/" .. current .. "/transition", headers, '{"to_mode":"sniffers"}')
  else
    return wrk.format("POST", "/v1/sessions/" .. current .. "/end", headers, "")
  end
end

response = function(status, _, body)
  if step == "create" and status == 201 then
    current = body:match('"id":"([^"]+)"')
    step = "transition"
  elseif step == "transition" and status == 201 then
    current = body:match('"session":{"id":"([^"]+)"')
    step = "end"
  else
    step = "create"
  end
end
