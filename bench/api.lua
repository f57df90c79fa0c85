-- wrk script for the officer API on the admin port, as a logged-in admin.
-- env BENCH_TOKEN (bearer token), BENCH_ENDPOINT = case_list | case_view, BENCH_CASES (default 20000)
local token = os.getenv("BENCH_TOKEN")
local endpoint = os.getenv("BENCH_ENDPOINT") or "case_list"
local ncases = tonumber(os.getenv("BENCH_CASES") or "20000")
local counter = 1
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end
function init(args)
  math.randomseed(1234 + tid)
  wrk.headers["Authorization"] = "Bearer " .. token
end
function request()
  if endpoint == "case_view" then
    return wrk.format("GET", "/api/v1/cases/" .. math.random(1, ncases))
  end
  return wrk.format("GET", "/api/v1/cases?queue=unhcr_protection")
end
function done(summary, latency, requests)
  io.write(string.format("BENCH_RESULT requests=%d duration_us=%d non2xx=%d errors_connect=%d errors_read=%d errors_write=%d errors_timeout=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d\n",
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max))
end
