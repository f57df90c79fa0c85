-- wrk script: cycles through pre-signed, unique webhook bodies (gen_bodies), one file per thread.
-- Usage: wrk -t T -c C -d D -s bench/webhook.lua URL -- PREFIX
--   thread k reads PREFIX_k.txt ("sha256=<hex>\t<json body>" per line)
local counter = 1
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end

local sigs, bodies, n, idx = {}, {}, 0, 0
wrapped = 0

function init(args)
  local path = args[1] .. "_" .. tid .. ".txt"
  local f = assert(io.open(path, "r"))
  for line in f:lines() do
    local tab = line:find("\t", 1, true)
    n = n + 1
    sigs[n] = line:sub(1, tab - 1)
    bodies[n] = line:sub(tab + 1)
  end
  f:close()
end

function request()
  idx = idx + 1
  if idx > n then
    idx = 1
    wrapped = wrapped + 1
  end
  return wrk.format("POST", nil, {["Content-Type"] = "application/json", ["X-Hub-Signature-256"] = sigs[idx]}, bodies[idx])
end

function done(summary, latency, requests)
  -- machine-readable line for run_all.sh (latency in microseconds)
  io.write(string.format("BENCH_RESULT requests=%d duration_us=%d non2xx=%d errors_connect=%d errors_read=%d errors_write=%d errors_timeout=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d\n",
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max))
end
