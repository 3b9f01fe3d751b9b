-- Each request comes from one of CALLERS client addresses (X-Forwarded-For).
local callers = tonumber(os.getenv("CALLERS") or "1")
request = function()
  local i = math.random(0, callers - 1)
  local address = string.format("10.%d.%d.%d", math.floor(i / 65536) % 256, math.floor(i / 256) % 256, i % 256)
  return wrk.format("GET", "/api/v1/no-such-thing", { ["X-Forwarded-For"] = address })
end
