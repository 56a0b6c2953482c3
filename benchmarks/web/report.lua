-- wrk script: at the end, one line of JSON with the counts and latency percentiles (µs).
-- With WRK_CACHE_BUST=<a token unique to this wrk run> every request names a distinct host
-- (`<token>-<thread>-<n>.bench.localhost`, which the bench settings allow), so a cache keyed
-- by the absolute URL never answers: the view computes every response. Not an extra query
-- parameter: the API refuses one it does not publish (unknown_parameter). The token keeps
-- warm-up and later rounds from repeating the URLs of an earlier run (which the cache would
-- answer).
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end

local bust = os.getenv("WRK_CACHE_BUST") or ""
-- benchmarks/web/settings.py allows its subdomains (CACHE_MISS_DOMAIN)
MISS_DOMAIN = "bench.localhost"
if bust ~= "" then
  local sent = 0
  request = function()
    sent = sent + 1
    local headers = {}
    for name, value in pairs(wrk.headers) do
      headers[name] = value
    end
    headers["Host"] = bust .. "-" .. thread_id .. "-" .. sent .. "." .. MISS_DOMAIN
    return wrk.format(nil, nil, headers)
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
