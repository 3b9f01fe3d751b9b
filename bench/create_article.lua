-- (e) POST one whole article: 3 tags, 3 citations, 8 key points. Titles (and so
-- slugs) are unique across threads and runs.
local threads = 0
setup = function(thread)
  thread:set("thread_id", threads)
  threads = threads + 1
end
init = function()
  run_id = os.time()
  n = 0
end
request = function()
  n = n + 1
  local body = string.format([[{"title": "Bench article %d %d %d",
    "body": "Text [1] [2] [3].",
    "key_point_lists": [{"points": ["a","b","c","d","e","f","g","h"]}],
    "citations": [{"title": "S1"}, {"title": "S2"}, {"title": "S3"}],
    "tags": ["Topic 1", "Topic 2", "Topic 3"]}]], run_id, thread_id, n)
  return wrk.format("POST", "/api/v1/articles", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. os.getenv("TOKEN"),
  }, body)
end
