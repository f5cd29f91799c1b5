-- wrk script: POST the GraphQL by-id profile query (one document, the id as a variable), random id in 1..ROWS
local rows = tonumber(os.getenv("ROWS") or "100000")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local doc = 'query($id: String!) { profile(customerId: $id) { customerId attributes } }'
request = function()
  local id = string.format("%016d", math.random(1, rows))
  return wrk.format(nil, nil, nil, '{"query":"' .. doc .. '","variables":{"id":"' .. id .. '"}}')
end
