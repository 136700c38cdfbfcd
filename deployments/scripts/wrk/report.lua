-- Shared by the wrk scripts of bench-compare.sh: write_result(summary, latency,
-- extra) writes one line of JSON to the file named by WRK_RESULT: requests,
-- seconds, errors, the caller's extra fields, and the latency quantile
-- function sampled at 1,000 points (µs), so the report can pool several
-- wrk sessions into exact-enough percentiles.
function write_result(summary, latency, extra)
  local e = summary.errors
  local q = {}
  for k = 1, 1000 do q[k] = string.format("%d", latency:percentile((k - 0.5) / 10)) end
  local f = assert(io.open(os.getenv("WRK_RESULT") or "/dev/stdout", "w"))
  f:write(string.format(
    '{"requests":%d,"seconds":%.3f,"max_us":%d,"non_2xx_3xx":%d,"socket_errors":%d,"quantiles_us":[%s]%s}\n',
    summary.requests, summary.duration / 1e6, latency.max, e.status,
    e.connect + e.read + e.write + e.timeout, table.concat(q, ","), extra or ""))
  f:close()
end
