-- wrk script: POSTs JSON bodies in rotation and prints one JSON line of results when the run ends.
-- Usage: wrk -t T -c C -d Ds --timeout 10s -s wrk_post.lua URL -- BODIES_FILE
-- BODIES_FILE holds one request body per line (sent in order, each connection thread cycling through them).

local bodies = {}
local index = 0
local headers = {["Content-Type"] = "application/json"}
-- WRK_AUTHORIZATION (optional): sent as the Authorization header, for the keyed gateway.
if os.getenv("WRK_AUTHORIZATION") then headers["Authorization"] = os.getenv("WRK_AUTHORIZATION") end

function init(args)
  local file = assert(io.open(args[1], "r"), "cannot open bodies file " .. tostring(args[1]))
  for line in file:lines() do
    if #line > 0 then table.insert(bodies, line) end
  end
  file:close()
  assert(#bodies > 0, "the bodies file is empty")
end

function request()
  index = index % #bodies + 1
  return wrk.format("POST", nil, headers, bodies[index])
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "mean_us": %.1f, ' ..
    '"errors_connect": %d, "errors_read": %d, "errors_write": %d, "errors_status": %d, "errors_timeout": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.mean, errors.connect, errors.read, errors.write, errors.status, errors.timeout))
end
