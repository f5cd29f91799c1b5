-- wrk script: POST the GraphQL document in DOC (no double quotes or backslashes; bench/customer360.py gives it)
-- with the variable id, a random customer id in 1..ROWS
local rows = tonumber(os.getenv("ROWS") or "2000")
local doc = assert(os.getenv("DOC"), "DOC: the GraphQL document")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  local id = string.format("%016d", math.random(1, rows))
  return wrk.format(nil, nil, nil, '{"query":"' .. doc .. '","variables":{"id":"' .. id .. '"}}')
end
