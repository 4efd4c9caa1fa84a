-- wrk script for bench/taxii.sh: each request POSTs a new TAXII envelope of 100 STIX 2.1
-- indicators with ids unique to this thread and request (so every object is new).
-- Needs env TOKEN and ROUND; each wrk thread gets a distinct prefix.
local counter = 0
local prefix = 0
local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  -- ROUND (set by bench/taxii.sh for each wrk run) and the thread id keep ids unique across
  -- runs: wrk's Lua random generator starts from the same seed every run.
  prefix = ((tonumber(os.getenv("ROUND") or "0") * 16) + id) * 1000000
  wrk.method = "POST"
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
  wrk.headers["Content-Type"] = "application/taxii+json;version=2.1"
  wrk.headers["Accept"] = "application/taxii+json;version=2.1"
end

local function uuid(n)
  local hex = string.format("%012x", n)
  return "6ba7b810-9dad-41d1-80b4-" .. hex
end

function request()
  counter = counter + 1
  local parts = {}
  for i = 1, 100 do
    local n = (prefix + counter) * 100 + i
    parts[i] = string.format(
      '{"type":"indicator","spec_version":"2.1","id":"indicator--%s",' ..
      '"created":"2026-11-25T00:00:00.000Z","modified":"2026-11-25T00:00:00.000Z",' ..
      '"name":"bench %d","indicator_types":["malicious-activity"],' ..
      '"pattern":"[domain-name:value = \'h%d.bench.example\']","pattern_type":"stix",' ..
      '"valid_from":"2026-11-25T00:00:00Z",' ..
      '"object_marking_refs":["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"]}',
      uuid(n), n, n)
  end
  return wrk.format(nil, nil, nil, '{"objects":[' .. table.concat(parts, ",") .. ']}')
end

function done(summary, latency, requests)
  io.write(string.format("objects/s: %.0f\n", summary.requests / (summary.duration / 1e6) * 100))
  for _, p in ipairs({50, 90, 99}) do
    io.write(string.format("p%d: %.2f ms\n", p, latency:percentile(p) / 1000))
  end
  io.write(string.format("non-2xx: %d\n", summary.errors.status))
end
