-- wrk script for the benchmarks (bench/wrk.py): POST a pool of requests made beforehand, each once.
--
-- wrk's Lua has no HMAC, so the Python script signs the requests and writes them one per line of the pool
-- file: "<path and query>\t<Header: value>\t...\t<body>" (no tab or newline inside a field). Thread i of n
-- sends lines i, i+n, i+2n, ... in turn, and starts over at the end of its share (counted as "wrapped": the
-- script makes the pool large enough that this does not happen in a run).
--
--   WRK_RESULT_FILE=out.json wrk -t2 -c32 -d10s -s bench/pool_wrk.lua http://127.0.0.1:PORT -- POOL_FILE 2
--
-- done() writes one JSON object to $WRK_RESULT_FILE: requests, seconds, status counts, socket errors,
-- latency percentiles (ms) and how often a thread wrapped around its share of the pool.

local threads = {}

function setup(thread)
  thread:set("thread_index", #threads)
  table.insert(threads, thread)
end

function init(args)
  local pool, nthreads = args[1], tonumber(args[2])
  items = {}
  local n = 0
  for line in io.lines(pool) do
    if n % nthreads == thread_index then
      local fields = {}
      for field in (line .. "\t"):gmatch("([^\t]*)\t") do
        fields[#fields + 1] = field
      end
      local headers = {}
      for i = 2, #fields - 1 do
        local name, value = fields[i]:match("^([^:]+): (.*)$")
        headers[name] = value
      end
      items[#items + 1] = wrk.format("POST", fields[1], headers, fields[#fields])
    end
    n = n + 1
  end
  position = 0
  wrapped = 0
  statuses = {}
end

function request()
  position = position + 1
  if position > #items then
    position = 1
    wrapped = wrapped + 1
  end
  return items[position]
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts, wraps = {}, 0
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      counts[status] = (counts[status] or 0) + count
    end
    wraps = wraps + thread:get("wrapped")
  end
  local parts = {}
  for status, count in pairs(counts) do
    parts[#parts + 1] = string.format('"%d": %d', status, count)
  end
  local e = summary.errors
  local out = io.open(os.getenv("WRK_RESULT_FILE"), "w")
  out:write(string.format(
    '{"requests": %d, "seconds": %.6f, "statuses": {%s}, "socket_errors": {"connect": %d, "read": %d, ' ..
    '"write": %d, "timeout": %d}, "non_2xx_3xx": %d, "latency_ms": {"p50": %.3f, "p90": %.3f, "p95": %.3f, ' ..
    '"p99": %.3f, "max": %.3f, "mean": %.3f}, "wrapped": %d}\n',
    summary.requests, summary.duration / 1e6, table.concat(parts, ", "), e.connect, e.read, e.write, e.timeout,
    e.status, latency:percentile(50) / 1e3, latency:percentile(90) / 1e3, latency:percentile(95) / 1e3,
    latency:percentile(99) / 1e3, latency.max / 1e3, latency.mean / 1e3, wraps))
  out:close()
end
