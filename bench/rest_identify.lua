-- wrk script: identify by phone, GET /profiles?PhoneNumber=+1555nnnnnnn with a random customer in 1..ROWS
local rows = tonumber(os.getenv("ROWS") or "100000")
request = function()
  return wrk.format("GET", "/profiles?PhoneNumber=%2B1555" .. string.format("%07d", math.random(1, rows)))
end
