-- wrk script for bench/server-wrk.sh: POST /v1/events, one event per request,
-- each to its own recipient (a hard bounce), authenticated by REBOUND_KEY.
-- REBOUND_BATCH=N sends arrays of N events instead.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("REBOUND_KEY")
local batch = tonumber(os.getenv("REBOUND_BATCH") or "1")
local n = 0
local thread_tag = math.random(1, 1000000000)

local function event()
  n = n + 1
  return string.format(
    '{"channel":"email","recipient":"w%d-%d@example.com","event":"bounce","at":"2026-11-22T10:00:00Z","reply":"550 5.1.1 <x@example.com>: Recipient address rejected: User unknown"}',
    thread_tag, n)
end

request = function()
  local body
  if batch == 1 then
    body = event()
  else
    local parts = {}
    for i = 1, batch do parts[i] = event() end
    body = "[" .. table.concat(parts, ",") .. "]"
  end
  return wrk.format(nil, "/v1/events", nil, body)
end

done = function(summary, latency, requests)
  io.write(string.format("wrk: %d requests, %d errors (status), %.0f requests/s, %.0f events/s; latency p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
    summary.requests, summary.errors.status, summary.requests / (summary.duration / 1e6),
    batch * summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
