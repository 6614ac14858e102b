-- wrk script for bench/load_bench.py: POSTs one JSON event per request on keep-alive connections, checks
-- every answer (status 200, no X-Amz-Function-Error, an "ok": true body) and prints one JSON line of results
-- prefixed with "WRK_JSON " once the run ends. Latencies are in microseconds.
--
--   wrk -t1 -c1 -d5s --latency -s bench/wrk_invoke.lua http://127.0.0.1:PORT/2015-03-31/functions/NAME/invocations

wrk.method = "POST"
wrk.body = '{"hello":"world","n":42}'
wrk.headers["Content-Type"] = "application/json"
-- WRK_HEADERS: extra "Name: value" lines (load_bench.py's SigV4 signature of this exact request).
for line in string.gmatch(os.getenv("WRK_HEADERS") or "", "[^\n]+") do
  local name, value = string.match(line, "^([^:]+):%s*(.*)$")
  if name then wrk.headers[name] = value end
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

-- WRK_CHECK=status (the bare floors, which echo the event) checks the status only.
local status_only = os.getenv("WRK_CHECK") == "status"

-- Per thread (each wrk thread has its own Lua state).
bad = 0
function response(status, headers, body)
  if status ~= 200 then
    bad = bad + 1
  elseif not status_only and (headers["X-Amz-Function-Error"] ~= nil or not string.find(body, '"ok":%s*true')) then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local errors = 0
  for _, thread in ipairs(threads) do
    errors = errors + (thread:get("bad") or 0)
  end
  local e = summary.errors
  local socket_errors = e.connect + e.read + e.write + e.timeout
  local seconds = summary.duration / 1e6
  local parts = {
    string.format('"requests":%d', summary.requests),
    string.format('"seconds":%.3f', seconds),
    string.format('"rate":%.1f', summary.requests / seconds),
    string.format('"errors":%d', errors + socket_errors),
    string.format('"socket_errors":%d', socket_errors),
    string.format('"mean_us":%.1f', latency.mean),
    string.format('"min_us":%d', latency.min),
    string.format('"max_us":%d', latency.max),
  }
  for _, p in ipairs({ 50, 90, 99, 99.9 }) do
    table.insert(parts, string.format('"p%s_us":%d', tostring(p):gsub("%.", "_"), latency:percentile(p)))
  end
  io.write("WRK_JSON {" .. table.concat(parts, ",") .. "}\n")
end
