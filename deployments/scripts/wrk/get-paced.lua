-- wrk script for GET / beside the flood (bench-compare.sh FLOOD=1): each
-- connection waits 10 ms between an answer and its next request, so the probe
-- measures GET / latency under the flood without being a second flood
-- itself (unpaced, ten connections took up to a sixth of the cores).
dofile("deployments/scripts/wrk/report.lua")

function delay()
  return 10
end

function done(summary, latency, requests)
  write_result(summary, latency)
end
