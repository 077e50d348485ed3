-- POST /v1/presence for the users whose tokens are in TOKENS_FILE (one per line), turning
-- each one's camera on and off, so every request is a change (one presence.update each).
-- DELAY_MS: pause after each answer, per connection, to hold a rate below the maximum.
-- Each wrk thread takes its own share of the users, so two requests for one user are never
-- in flight at once and every one turns the camera the other way.
local tokens = {}
local counter = 0
local pause = tonumber(os.getenv("DELAY_MS") or "0")
local next_thread = 0

function setup(thread)
  thread:set("share", next_thread)
  next_thread = next_thread + 1
end

function init(args)
  local threads = tonumber(os.getenv("THREADS") or "2")
  local index = 0
  for line in io.lines(os.getenv("TOKENS_FILE")) do
    if index % threads == share then
      tokens[#tokens + 1] = line
    end
    index = index + 1
  end
end

function request()
  counter = counter + 1
  local token = tokens[(counter % #tokens) + 1]
  local camera = (math.floor(counter / #tokens) % 2 == 0) and "true" or "false"
  local body = '{"presence_mode":"party","is_camera_on":' .. camera .. '}'
  local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}
  return wrk.format("POST", "/v1/presence", headers, body)
end

function delay()
  return pause
end
