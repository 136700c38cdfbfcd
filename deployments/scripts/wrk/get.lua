-- wrk script for GET / (bench-compare.sh): no per-response Lua call, only the
-- figures wrk keeps anyway, written at the end.
dofile("deployments/scripts/wrk/report.lua")

function done(summary, latency, requests)
  write_result(summary, latency)
end
