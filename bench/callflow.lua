-- wrk script of bench/callflow.py: IVR call flows, or one request type of the flow, with every answer checked.
--
-- Run wrk with as many threads as connections (wrk -t16 -c16): each thread has its own Lua state, so each
-- connection walks its own flow, reading the ids it needs from the answers:
--   identify -> start service -> start state -> transition -> start task -> complete task -> complete service
--   -> the customer's active services.
-- Environment: CUSTOMERS (customers B0000000.. with phone +1555NNNNNNN), STEP (one request type instead of the
-- flow: identify, start_service, start_state, transition, start_task, complete_task, complete_service,
-- active_services, profile_by_id, server_status), IDS and THREADS (prepared ids for the STEP types that need
-- items: a file of lines "service_id [state_id|task_id]", spread over THREADS threads).
-- An answer with another status than the step's is counted and its first lines printed; the flow then starts
-- over. done() prints one machine-readable line that bench/callflow.py reads, and in the flow one line per step
-- with that step's latency percentiles (each request timed from its making, just before wrk writes it, to its
-- answer, on the monotonic clock), so a reader sees which steps the flow's tail is made of.

local customers = tonumber(os.getenv("CUSTOMERS") or "100000")
local function env(name)
  local v = os.getenv(name)
  if v == "" then return nil end
  return v
end
local only = env("STEP")
local idfile = env("IDS")
local nthreads = tonumber(os.getenv("THREADS") or "1")

-- Counters of this thread, read by done() through thread:get.
flows, failures, exhausted = 0, 0, 0
-- Latencies of this thread's answered requests in the flow, in microseconds: one flat array per step, global
-- `took_<step>` (wrk's thread:get copies a flat table; a table of tables crashes wrk 4.1).

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } callflow_timespec;
  int clock_gettime(int clock_id, callflow_timespec *tp);
]]
local clock = ffi.new("callflow_timespec")
local function now_us()
  ffi.C.clock_gettime(1, clock)  -- CLOCK_MONOTONIC
  return tonumber(clock.tv_sec) * 1000000 + tonumber(clock.tv_nsec) / 1000
end
local sent = 0

local threads = {}
local made = 0

function setup(thread)
  made = made + 1
  thread:set("slot", made)
  table.insert(threads, thread)
end

local JSON = { ["Content-Type"] = "application/json" }
local n, cid, sid, st, st2, tk  -- the flow in progress
local mine, next_id = {}, 1       -- prepared ids (STEP modes)
local at = 1                      -- index of the flow's next step

function init(args)
  math.randomseed(slot * 7919 + os.time())
  if idfile then
    local f = assert(io.open(idfile, "r"))
    local i = 0
    for line in f:lines() do
      if i % nthreads == slot - 1 then
        local a, b = line:match("^(%d+)%s*(%d*)")
        table.insert(mine, { a, b })
      end
      i = i + 1
    end
    f:close()
  end
end

local function pick()
  n = math.random(0, customers - 1)
  cid = string.format("B%07d", n)
end

local function post(path, body)
  return wrk.format("POST", path, JSON, body)
end

local function take()
  local got = mine[next_id]
  if got == nil then
    exhausted = exhausted + 1
    wrk.thread:stop()
    got = mine[#mine]
  else
    next_id = next_id + 1
  end
  return got[1], got[2]
end

-- Each step: build the request, the status it must answer, and what to read from the body.
local steps = {
  { name = "identify", status = 200,
    make = function()
      pick()
      return wrk.format("GET", string.format("/profiles?PhoneNumber=%%2B1555%07d", n))
    end,
    read = function(body)
      cid = body:match('"customer_id"%s*:%s*"([^"]+)"')
      return cid ~= nil
    end },
  { name = "start_service", status = 201,
    make = function()
      return post("/services/start", string.format(
        '{"service_type":1,"customer_id":"%s","interaction_id":"ixn%d","media_type":1}', cid, n))
    end,
    read = function(body)
      sid = body:match('"service_id"%s*:%s*(%d+)')
      return sid ~= nil
    end },
  { name = "start_state", status = 201,
    make = function()
      return post("/services/" .. sid .. "/states/start",
        string.format('{"state_type":1,"interaction_id":"ixn%d"}', n))
    end,
    read = function(body)
      st = body:match('"state_id"%s*:%s*(%d+)')
      return st ~= nil
    end },
  { name = "transition", status = 201,
    make = function()
      return post("/services/" .. sid .. "/states/transition",
        '{"from":{"state_id":' .. st .. ',"disposition":1},"to":{"state_type":8}}')
    end,
    read = function(body)
      st2 = body:match('"state_id"%s*:%s*(%d+)')
      return st2 ~= nil
    end },
  { name = "start_task", status = 201,
    make = function()
      return post("/services/" .. sid .. "/tasks/start", '{"task_type":1,"state_id":' .. st2 .. '}')
    end,
    read = function(body)
      tk = body:match('"task_id"%s*:%s*(%d+)')
      return tk ~= nil
    end },
  { name = "complete_task", status = 204,
    make = function()
      return post("/services/" .. sid .. "/tasks/" .. tk .. "/end", '{"disposition":1}')
    end },
  { name = "complete_service", status = 204,
    make = function()
      return post("/services/" .. sid .. "/end", '{"disposition":1}')
    end },
  { name = "active_services", status = 200,
    make = function()
      return wrk.format("GET", "/customers/" .. cid .. "/services/active")
    end,
    read = function(body)
      return body:sub(1, 1) == "["
    end },
}

-- One request type at a time: the step's own request on random customers or prepared items.
local single = {
  identify = steps[1],
  start_service = { name = "start_service", status = 201,
    make = function() pick(); return steps[2].make() end },
  start_state = { name = "start_state", status = 201,
    make = function()
      if sid == nil then sid = take() end
      n = slot
      return steps[3].make()
    end },
  transition = { name = "transition", status = 201,
    make = function()
      if sid == nil then sid, st = take() end
      return steps[4].make()
    end,
    read = function(body)
      st = body:match('"state_id"%s*:%s*(%d+)')  -- the next transition leaves the state this one entered
      return st ~= nil
    end },
  start_task = { name = "start_task", status = 201,
    make = function()
      if sid == nil then sid, st2 = take() end
      return steps[5].make()
    end },
  complete_task = { name = "complete_task", status = 204,
    make = function()
      sid, tk = take()
      return steps[6].make()
    end },
  complete_service = { name = "complete_service", status = 204,
    make = function()
      sid = take()
      return steps[7].make()
    end },
  active_services = { name = "active_services", status = 200,
    make = function() pick(); return steps[8].make() end, read = steps[8].read },
  profile_by_id = { name = "profile_by_id", status = 200,
    make = function() pick(); return wrk.format("GET", "/profiles/" .. cid) end },
  server_status = { name = "server_status", status = 200,
    make = function() return wrk.format("GET", "/server/status") end },
}

local current = nil

function request()
  if only then
    current = single[only]
    if current == nil then
      io.stderr:write("callflow.lua: unknown STEP " .. only .. "\n")
      os.exit(2)
    end
  else
    current = steps[at]
  end
  local made = current.make()
  sent = now_us()
  return made
end

function response(status, headers, body)
  if not only then
    local name = "took_" .. current.name
    local took = _G[name]
    if took == nil then
      took = {}
      _G[name] = took
    end
    took[#took + 1] = math.floor(now_us() - sent)
  end
  local ok = status == current.status
  if ok and current.read then
    ok = current.read(body)
  end
  if not ok then
    failures = failures + 1
    if failures <= 3 then
      io.stderr:write(string.format("callflow.lua: %s answered %d: %s\n", current.name, status,
        (body or ""):sub(1, 300)))
    end
    at = 1
    sid = nil
    return
  end
  if only then
    flows = flows + 1
    return
  end
  at = at + 1
  if at > #steps then
    flows = flows + 1
    at = 1
  end
end

function done(summary, latency, requests)
  local f, bad, ex = 0, 0, 0
  for _, t in ipairs(threads) do
    f = f + t:get("flows")
    bad = bad + t:get("failures")
    ex = ex + t:get("exhausted")
  end
  local e = summary.errors
  io.write(string.format(
    "CALLFLOW requests=%d duration_us=%d completed=%d failures=%d exhausted=%d connect=%d read=%d write=%d " ..
    "timeout=%d status=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d\n",
    summary.requests, summary.duration, f, bad, ex, e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
  if only then
    return
  end
  local all = {}
  for _, step in ipairs(steps) do
    local into = {}
    for _, t in ipairs(threads) do
      for _, us in ipairs(t:get("took_" .. step.name) or {}) do
        into[#into + 1] = us
      end
    end
    all[step.name] = into
  end
  local function pct(sorted, p)
    return sorted[math.max(1, math.ceil(#sorted * p / 100))]
  end
  for _, step in ipairs(steps) do
    local took = all[step.name]
    if took ~= nil and #took > 0 then
      table.sort(took)
      io.write(string.format("CALLSTEP name=%s count=%d p50_us=%d p99_us=%d max_us=%d\n", step.name, #took,
        pct(took, 50), pct(took, 99), took[#took]))
    end
  end
end
