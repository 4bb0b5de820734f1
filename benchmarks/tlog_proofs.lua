-- wrk script for benchmarks/tlog_bench.py: each wrk thread is one client, with its own
-- address in X-Forwarded-For and HTTPS in X-Forwarded-Proto (as the proxy forwards a
-- request), asking for inclusion proofs of random entries of the tree of SIZE leaves.
-- Usage: wrk -tN -cN -s benchmarks/tlog_proofs.lua URL -- SIZE
-- Prints its statistics as one JSON line (milliseconds).

local clients = 0

function setup(thread)
  clients = clients + 1
  thread:set("client", clients)
end

function init(args)
  size = tonumber(args[1])
  math.randomseed(client)
  headers = {
    ["X-Forwarded-For"] = string.format("10.0.%d.1", client),
    ["X-Forwarded-Proto"] = "https",
  }
end

function request()
  local path = string.format(
    "/api/v1/log/proof/inclusion/?seq=%d&tree_size=%d", math.random(1, size), size)
  return wrk.format("GET", path, headers)
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '{"requests": %d, "mean": %.4f, "median": %.4f, "p95": %.4f, "p99": %.4f, ' ..
    '"max": %.4f, "failed": %d}\n',
    summary.requests, latency.mean / 1000, latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    errors.status + errors.connect + errors.read + errors.write + errors.timeout))
end
