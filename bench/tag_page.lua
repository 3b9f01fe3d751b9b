-- (c) GET 20 published articles carrying one tag; tags at random.
math.randomseed(2)
request = function()
  return wrk.format("GET", "/api/v1/tags/topic-" .. math.random(0, 199) .. "/articles?limit=20")
end
