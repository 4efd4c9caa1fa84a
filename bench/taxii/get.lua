-- wrk script for bench/taxii.sh: each request GETs one page of LIMIT objects starting at a
-- random position of the collection (the `next` cursor is the arrival sequence), as many
-- clients paging through a large collection would. Needs env TOKEN, COLLECTION, MAX_SEQ, LIMIT.
function init(args)
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
  wrk.headers["Accept"] = "application/taxii+json;version=2.1"
  math.randomseed(os.time() + math.random(1, 100000))
end

local collection = os.getenv("COLLECTION")
local max_seq = tonumber(os.getenv("MAX_SEQ"))
local limit = os.getenv("LIMIT") or "100"

function request()
  local next = math.random(0, max_seq - 200)
  return wrk.format("GET", "/taxii2/api/collections/" .. collection ..
    "/objects/?limit=" .. limit .. "&next=" .. next)
end

function done(summary, latency, requests)
  io.write(string.format("requests/s: %.0f\n", summary.requests / (summary.duration / 1e6)))
  for _, p in ipairs({50, 90, 99}) do
    io.write(string.format("p%d: %.2f ms\n", p, latency:percentile(p) / 1000))
  end
  io.write(string.format("non-2xx: %d\n", summary.errors.status))
end
