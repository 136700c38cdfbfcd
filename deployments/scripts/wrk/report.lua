-- Shared by the wrk scripts of bench-compare.sh: write_result(summary, latency,
-- extra) writes one line of JSON to the file named by WRK_RESULT: requests,
-- rate, latency percentiles in µs, errors, and the caller's extra fields.
function write_result(summary, latency, extra)
  local e = summary.errors
  local f = assert(io.open(os.getenv("WRK_RESULT") or "/dev/stdout", "w"))
  f:write(string.format(
    '{"requests":%d,"seconds":%.3f,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"non_2xx_3xx":%d,"socket_errors":%d%s}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.status, e.connect + e.read + e.write + e.timeout,
    extra or ""))
  f:close()
end
