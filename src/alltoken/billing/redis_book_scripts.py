"""The Lua scripts of the Redis credit book (billing/redis_book.py). Each runs atomically in Redis,
so a check and the hold it allows are one step across every process.

Keys, under the book's prefix P (all of one account's state is found from the account id):
  P cursor             id of the last ledger row applied to Redis (shared by every process)
  P acct:{a}           hash committed (ledger sum up to the cursor), pending, reserved
  P holds:{a}          hash request id -> "units\\nscope\\nscope..." (open holds)
  P hexp:{a}           sorted set request id -> expiry (ms): a crashed process's holds lapse
  P pend:{a}           hash request id -> units: charges settled, not yet applied from the ledger
  P pexp:{a}           sorted set request id -> expiry (ms) of those
  P req:{rid}          hash closed (settled or released), applied (its ledger row came first); short TTL
  P budget:{scope}     hash period, spent, reserved (a key's or a team member's limit)

Money is integer units; Lua numbers are doubles, exact below 2^53 (9e6 USD in 1e-9 units), and
`int()` writes them back without an exponent.
"""

_COMMON = """
local P = ARGV[1]
local function int(x) return string.format('%d', x) end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function close_hold(a, rid)
  local raw = redis.call('HGET', P .. 'holds:' .. a, rid)
  if not raw then return false end
  local units = nil
  for part in string.gmatch(raw, '[^\\n]+') do
    if units == nil then
      units = part
      redis.call('HINCRBY', P .. 'acct:' .. a, 'reserved', -tonumber(part))
    else
      redis.call('HINCRBY', P .. 'budget:' .. part, 'reserved', -tonumber(units))
    end
  end
  redis.call('HDEL', P .. 'holds:' .. a, rid)
  redis.call('ZREM', P .. 'hexp:' .. a, rid)
  return true
end
local function drop_pending(a, rid)
  local units = redis.call('HGET', P .. 'pend:' .. a, rid)
  if not units then return false end
  redis.call('HDEL', P .. 'pend:' .. a, rid)
  redis.call('ZREM', P .. 'pexp:' .. a, rid)
  redis.call('HINCRBY', P .. 'acct:' .. a, 'pending', -tonumber(units))
  return true
end
local function prune(a, now)
  for _, rid in ipairs(redis.call('ZRANGEBYSCORE', P .. 'hexp:' .. a, '-inf', now)) do close_hold(a, rid) end
  for _, rid in ipairs(redis.call('ZRANGEBYSCORE', P .. 'pexp:' .. a, '-inf', now)) do drop_pending(a, rid) end
end
"""

# ARGV: P, account, request id, units, credit line, hold ttl ms, budget count, then per budget:
# scope, limit ('' = none), spent at load, period ('' = never resets).
# -> {'load'} | {'credits', available} | {'limit', budget index (1-based), remaining}
#    | {'ok', reserved, spent of each budget}
RESERVE = _COMMON + """
local a, rid, units = ARGV[2], ARGV[3], tonumber(ARGV[4])
local acct = P .. 'acct:' .. a
if redis.call('EXISTS', acct) == 0 then return {'load'} end
local now = now_ms()
prune(a, now)
local f = redis.call('HMGET', acct, 'committed', 'pending', 'reserved')
local available = tonumber(f[1]) - tonumber(f[2] or 0) - tonumber(f[3] or 0)
if available + tonumber(ARGV[5]) < units then return {'credits', int(available + tonumber(ARGV[5]))} end
local count, spent, scopes, least, least_at = tonumber(ARGV[7]), {}, {}, nil, 0
for i = 1, count do
  local base = 7 + (i - 1) * 4
  local key = P .. 'budget:' .. ARGV[base + 1]
  local limit, at_load, period = ARGV[base + 2], ARGV[base + 3], ARGV[base + 4]
  local b = redis.call('HMGET', key, 'period', 'spent', 'reserved')
  if not b[2] or b[1] ~= period then  -- first use, or a new budget period: open holds still count
    redis.call('HSET', key, 'period', period, 'spent', at_load)
    b[2] = at_load
  end
  scopes[i], spent[i] = ARGV[base + 1], b[2]
  if limit ~= '' then
    local left = tonumber(limit) - tonumber(b[2]) - tonumber(b[3] or 0)
    if least == nil or left < least then least, least_at = left, i end
  end
end
if least ~= nil and least < units then return {'limit', least_at, int(least)} end
if redis.call('HEXISTS', P .. 'holds:' .. a, rid) == 0 then
  for i = 1, count do redis.call('HINCRBY', P .. 'budget:' .. scopes[i], 'reserved', ARGV[4]) end
  local hold = ARGV[4]
  if count > 0 then hold = hold .. '\\n' .. table.concat(scopes, '\\n') end
  redis.call('HSET', P .. 'holds:' .. a, rid, hold)
  redis.call('ZADD', P .. 'hexp:' .. a, now + tonumber(ARGV[6]), rid)
  redis.call('HINCRBY', acct, 'reserved', ARGV[4])
end
return {'ok', redis.call('HGET', acct, 'reserved'), unpack(spent)}
"""

# ARGV: P, account, request id, cost ('' = release), request-marker ttl ms, pending ttl ms, scopes...
# -> 1 if this call closed the request, 0 if it was already settled or released.
SETTLE = _COMMON + """
local a, rid, cost = ARGV[2], ARGV[3], ARGV[4]
local req = P .. 'req:' .. rid
if redis.call('HEXISTS', req, 'closed') == 1 then return 0 end
redis.call('HSET', req, 'closed', 1)
redis.call('PEXPIRE', req, ARGV[5])
close_hold(a, rid)
if cost ~= '' and tonumber(cost) ~= 0 then
  for i = 7, #ARGV do redis.call('HINCRBY', P .. 'budget:' .. ARGV[i], 'spent', cost) end
  local acct = P .. 'acct:' .. a
  -- the charge counts as pending until its ledger row is applied (unless that happened first)
  if redis.call('HEXISTS', req, 'applied') == 0 and redis.call('EXISTS', acct) == 1 then
    redis.call('HSET', P .. 'pend:' .. a, rid, cost)
    redis.call('ZADD', P .. 'pexp:' .. a, now_ms() + tonumber(ARGV[6]), rid)
    redis.call('HINCRBY', acct, 'pending', cost)
  end
end
return 1
"""

# ARGV: P, request-marker ttl ms, then per ledger row: id, account, amount, request id ('' = none).
# Rows at or below the shared cursor were applied already (by any process) and are skipped.
# -> the new cursor, or -1 if the cursor is not set yet.
APPLY = _COMMON + """
local cursor = redis.call('GET', P .. 'cursor')
if not cursor then return -1 end
cursor = tonumber(cursor)
for i = 3, #ARGV, 4 do
  local id = tonumber(ARGV[i])
  if id > cursor then
    cursor = id
    local a, rid = ARGV[i + 1], ARGV[i + 3]
    local acct = P .. 'acct:' .. a
    if redis.call('EXISTS', acct) == 1 then  -- an account not loaded reads the sum, this row included, on load
      redis.call('HINCRBY', acct, 'committed', ARGV[i + 2])
    end
    if rid ~= '' and not drop_pending(a, rid) then
      redis.call('HSET', P .. 'req:' .. rid, 'applied', 1)
      redis.call('PEXPIRE', P .. 'req:' .. rid, ARGV[2])
    end
  end
end
redis.call('SET', P .. 'cursor', int(cursor))
return int(cursor)
"""

# ARGV: P, account, cursor, ledger sum up to that cursor -> 1 loaded (or already), 0 the cursor moved.
LOAD = _COMMON + """
local acct = P .. 'acct:' .. ARGV[2]
if redis.call('EXISTS', acct) == 1 then return 1 end
if redis.call('GET', P .. 'cursor') ~= ARGV[3] then return 0 end
redis.call('HSET', acct, 'committed', ARGV[4], 'pending', 0, 'reserved', 0)
return 1
"""

# ARGV: P, account -> {committed, pending, reserved} after lapsed holds and pending charges are dropped,
# or {} when the account is not loaded.
READ = _COMMON + """
local acct = P .. 'acct:' .. ARGV[2]
if redis.call('EXISTS', acct) == 0 then return {} end
prune(ARGV[2], now_ms())
return redis.call('HMGET', acct, 'committed', 'pending', 'reserved')
"""
