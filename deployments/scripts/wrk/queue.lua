-- wrk script for POST /queue (bench-compare.sh): checks every answer the way a
-- user would. Counts answers by status, 429s without Retry-After and 200s
-- without a GIFT- code, written with wrk's figures as one line of JSON
-- (report.lua); every code goes to the file named by WRK_CODES, one a line,
-- so the report finds a code answered twice across all sessions.
dofile("deployments/scripts/wrk/report.lua")
wrk.method = "POST"

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  codes, statuses, bad, no_retry_after = {}, {}, 0, 0
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status == 200 then
    local code = body:match('"gift_code"%s*:%s*"(GIFT%-[^"]+)"')
    if code then codes[#codes + 1] = code else bad = bad + 1 end
  elseif status == 429 and not (headers["Retry-After"] or headers["retry-after"]) then
    no_retry_after = no_retry_after + 1
  end
end

function done(summary, latency, requests)
  local bad_total, nra, by_status = 0, 0, {}
  local out = assert(io.open(os.getenv("WRK_CODES") or "/dev/null", "w"))
  for _, t in ipairs(threads) do
    out:write(table.concat(t:get("codes"), "\n"), "\n")
    for status, n in pairs(t:get("statuses")) do
      by_status[status] = (by_status[status] or 0) + n
    end
    bad_total = bad_total + t:get("bad")
    nra = nra + t:get("no_retry_after")
  end
  out:close()
  local parts = {}
  for status, n in pairs(by_status) do parts[#parts + 1] = string.format('"%d":%d', status, n) end
  write_result(summary, latency, string.format(
    ',"statuses":{%s},"bad_answers":%d,"429_without_retry_after":%d',
    table.concat(parts, ","), bad_total, nra))
end
