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
  P gexp:{a}           sorted set promo grant id -> expiry (ms): grants with an expiry not written off yet
  P gamt:{a}           hash promo grant id -> amount: past its expiry, a grant counts as spent whole until
                       its write-off is applied (`due`); `now` for that is the gateway's clock (ARGV), the
                       clock the write-off itself is decided by

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
      redis.call('HINCRBY', P .. 'acct:' .. a, 'reserved', int(-tonumber(part)))  -- int: never '-0'
    else
      redis.call('HINCRBY', P .. 'budget:' .. part, 'reserved', int(-tonumber(units)))
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
  redis.call('HINCRBY', P .. 'acct:' .. a, 'pending', int(-tonumber(units)))
  return true
end
local function prune(a, now)
  for _, rid in ipairs(redis.call('ZRANGEBYSCORE', P .. 'hexp:' .. a, '-inf', now)) do close_hold(a, rid) end
  for _, rid in ipairs(redis.call('ZRANGEBYSCORE', P .. 'pexp:' .. a, '-inf', now)) do drop_pending(a, rid) end
end
local function due(a, at_ms)
  local total = 0
  for _, grant in ipairs(redis.call('ZRANGEBYSCORE', P .. 'gexp:' .. a, '-inf', at_ms)) do
    total = total + tonumber(redis.call('HGET', P .. 'gamt:' .. a, grant) or 0)
  end
  return total
end
local function track_grant(a, grant, expires_ms, amount)
  redis.call('ZADD', P .. 'gexp:' .. a, expires_ms, grant)
  redis.call('HSET', P .. 'gamt:' .. a, grant, amount)
end
local function untrack_grant(a, grant)
  redis.call('ZREM', P .. 'gexp:' .. a, grant)
  redis.call('HDEL', P .. 'gamt:' .. a, grant)
end
"""

# ARGV: P, account, request id, units, credit line, hold ttl ms, gateway now ms, '1' to ask for expired
# grants to be written off first ('0': count them as spent), budget count, then per budget:
# scope, limit ('' = none), spent at load, period ('' = never resets).
# -> {'load'} | {'expire'} | {'credits', available} | {'limit', budget index (1-based), remaining}
#    | {'ok', reserved, spent of each budget}
RESERVE = _COMMON + """
local a, rid, units = ARGV[2], ARGV[3], tonumber(ARGV[4])
local acct = P .. 'acct:' .. a
if redis.call('EXISTS', acct) == 0 then return {'load'} end
local now = now_ms()
prune(a, now)
local expired = due(a, ARGV[7])
if expired > 0 and ARGV[8] == '1' then return {'expire'} end
local f = redis.call('HMGET', acct, 'committed', 'pending', 'reserved')
local available = tonumber(f[1]) - tonumber(f[2] or 0) - tonumber(f[3] or 0) - expired
if available + tonumber(ARGV[5]) < units then return {'credits', int(available + tonumber(ARGV[5]))} end
local count, spent, scopes, least, least_at = tonumber(ARGV[9]), {}, {}, nil, 0
for i = 1, count do
  local base = 9 + (i - 1) * 4
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

# ARGV: P, account, request id, cost ('' = release), request-marker ttl ms, pending ttl ms, credit line,
# gateway now ms, then per budget: scope, limit ('' = none).
# -> {0} if the request was already settled or released, else {1, charged, what capped it: 0 the balance,
#    i budget i, -1 nothing}. The charge is the cost, or less: what the balance (less other holds and
#    expired grants, down to -credit line) and every budget (less other holds) can still take, at least 0.
SETTLE = _COMMON + """
local a, rid, cost = ARGV[2], ARGV[3], ARGV[4]
local req = P .. 'req:' .. rid
if redis.call('HEXISTS', req, 'closed') == 1 then return {0} end
redis.call('HSET', req, 'closed', 1)
redis.call('PEXPIRE', req, ARGV[5])
close_hold(a, rid)
if cost == '' then return {1, 0, -1} end
local charged, capped = tonumber(cost), -1
local acct = P .. 'acct:' .. a
local f = redis.call('HMGET', acct, 'committed', 'pending', 'reserved')
if f[1] then
  local room = tonumber(f[1]) - tonumber(f[2] or 0) - tonumber(f[3] or 0) - due(a, ARGV[8]) + tonumber(ARGV[7])
  if room < charged then charged, capped = math.max(room, 0), 0 end
end
local budgets = (#ARGV - 8) / 2
for i = 1, budgets do
  local limit = ARGV[8 + 2 * i]
  if limit ~= '' then
    local b = redis.call('HMGET', P .. 'budget:' .. ARGV[7 + 2 * i], 'spent', 'reserved')
    local room = tonumber(limit) - tonumber(b[1] or 0) - tonumber(b[2] or 0)
    if room < charged then charged, capped = math.max(room, 0), i end
  end
end
if charged ~= 0 then
  for i = 1, budgets do redis.call('HINCRBY', P .. 'budget:' .. ARGV[7 + 2 * i], 'spent', int(charged)) end
  -- the charge counts as pending until its ledger row is applied (unless that happened first)
  if redis.call('HEXISTS', req, 'applied') == 0 and f[1] then
    redis.call('HSET', P .. 'pend:' .. a, rid, int(charged))
    redis.call('ZADD', P .. 'pexp:' .. a, now_ms() + tonumber(ARGV[6]), rid)
    redis.call('HINCRBY', acct, 'pending', int(charged))
  end
end
return {1, int(charged), capped}
"""

# ARGV: P, request-marker ttl ms, then per ledger row: id, account, amount, request id ('' = none),
# expiry in ms of a promotional grant ('' = none).
# Rows at or below the shared cursor were applied already (by any process) and are skipped.
# -> the new cursor, or -1 if the cursor is not set yet.
APPLY = _COMMON + """
local cursor = redis.call('GET', P .. 'cursor')
if not cursor then return -1 end
cursor = tonumber(cursor)
for i = 3, #ARGV, 5 do
  local id = tonumber(ARGV[i])
  if id > cursor then
    cursor = id
    local a, rid = ARGV[i + 1], ARGV[i + 3]
    local acct = P .. 'acct:' .. a
    if redis.call('EXISTS', acct) == 1 then  -- an account not loaded reads the sum, this row included, on load
      redis.call('HINCRBY', acct, 'committed', ARGV[i + 2])
      if ARGV[i + 4] ~= '' then track_grant(a, ARGV[i], ARGV[i + 4], ARGV[i + 2]) end
      if string.sub(rid, 1, 7) == 'expiry:' then untrack_grant(a, string.sub(rid, 8)) end
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

# ARGV: P, account, cursor, ledger sum up to that cursor, then per promotional grant with an expiry not
# written off up to it: grant id, expiry ms, amount -> 1 loaded (or already), 0 the cursor moved.
LOAD = _COMMON + """
local a = ARGV[2]
local acct = P .. 'acct:' .. a
if redis.call('EXISTS', acct) == 1 then return 1 end
if redis.call('GET', P .. 'cursor') ~= ARGV[3] then return 0 end
redis.call('HSET', acct, 'committed', ARGV[4], 'pending', 0, 'reserved', 0)
for i = 5, #ARGV, 3 do track_grant(a, ARGV[i], ARGV[i + 1], ARGV[i + 2]) end
return 1
"""

# ARGV: P, account, gateway now ms -> {committed, pending, reserved, due} after lapsed holds and pending
# charges are dropped (due: the amount of grants past their expiry not written off yet), or {} when the
# account is not loaded.
READ = _COMMON + """
local a = ARGV[2]
local acct = P .. 'acct:' .. a
if redis.call('EXISTS', acct) == 0 then return {} end
prune(a, now_ms())
local f = redis.call('HMGET', acct, 'committed', 'pending', 'reserved')
return {f[1], f[2], f[3], int(due(a, ARGV[3]))}
"""

# ARGV: P, account, gateway now ms -> {cursor, pending, grant ids past their expiry...}, read together so
# the pending charges are exactly those the ledger does not have up to that cursor ({} if not loaded).
SNAPSHOT = _COMMON + """
local a = ARGV[2]
local acct = P .. 'acct:' .. a
if redis.call('EXISTS', acct) == 0 then return {} end
prune(a, now_ms())
local grants = redis.call('ZRANGEBYSCORE', P .. 'gexp:' .. a, '-inf', ARGV[3])
return {redis.call('GET', P .. 'cursor') or '0', redis.call('HGET', acct, 'pending') or '0', unpack(grants)}
"""

# ARGV: P, account, grant ids: no longer tracked (written off, or spent before they expired).
UNTRACK = _COMMON + """
for i = 3, #ARGV do untrack_grant(ARGV[2], ARGV[i]) end
return 1
"""
