/**
 * The Lua scripts of the Redis registry. Each write that must compare before it changes something runs
 * as one script, so a heartbeat, a reconnect and a late close of the same device cannot interleave.
 *
 * KEYS[1] is the user's hash (`<prefix>user:{<userId>}`: fields `d:<deviceId>` and `seen`),
 * KEYS[2] the lease hash (`<prefix>gateways`: field `<gatewayId>`). Times arrive as decimal strings
 * from the caller's clock, so the scripts agree with the in-memory registry and with the readers.
 * `deadline` repeats `deviceDeadlineMs` of liveness.ts: keep the two identical.
 */

const HELPERS = `
local function deadline(entry, leasesKey)
  local since = tonumber(entry.s)
  local exp = tonumber(entry.e)
  if type(entry.i) ~= 'string' then return exp end
  local raw = redis.call('HGET', leasesKey, entry.g)
  if not raw then return since end
  local ok, lease = pcall(cjson.decode, raw)
  if not ok then return since end
  local leaseEnd
  if lease.i == entry.i then leaseEnd = tonumber(lease.e) else leaseEnd = tonumber(lease.s) end
  local d = math.min(exp, leaseEnd)
  if d < since then d = since end
  return d
end

local function raiseSeen(userKey, ms)
  local current = tonumber(redis.call('HGET', userKey, 'seen') or '-1')
  if ms > current then redis.call('HSET', userKey, 'seen', string.format('%.0f', ms)) end
end

-- Removes the user's dead device entries and folds their deadlines into 'seen'.
local function prune(userKey, leasesKey, now)
  local all = redis.call('HGETALL', userKey)
  local latest = nil
  for idx = 1, #all, 2 do
    local field = all[idx]
    if string.sub(field, 1, 2) == 'd:' then
      local ok, entry = pcall(cjson.decode, all[idx + 1])
      if not ok or type(entry) ~= 'table' then
        redis.call('HDEL', userKey, field)
      else
        local d = deadline(entry, leasesKey)
        if d <= now then
          redis.call('HDEL', userKey, field)
          if latest == nil or d > latest then latest = d end
        end
      end
    end
  end
  if latest ~= nil then raiseSeen(userKey, latest) end
end

local function keepFor(userKey, ttlMs)
  redis.call('PEXPIRE', userKey, ttlMs)
end
`;

/**
 * ARGV: field, entry JSON, now, keyTtlMs. Prunes, then writes the entry (replacing any earlier
 * connection of the device). Returns 1 when the new entry is online now.
 */
export const REGISTER_DEVICE_LUA = `${HELPERS}
local now = tonumber(ARGV[3])
prune(KEYS[1], KEYS[2], now)
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
keepFor(KEYS[1], ARGV[4])
if deadline(cjson.decode(ARGV[2]), KEYS[2]) > now then return 1 end
return 0
`;

/**
 * ARGV: field, connectionId, new expiresAtMs, now, keyTtlMs. Returns 1 when the entry of this
 * connection was live and is extended, 0 when it is absent, replaced, or its own TTL has run out
 * (then it is removed and its deadline folded into last seen, so a refresh never revives it).
 */
export const REFRESH_DEVICE_LUA = `${HELPERS}
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local ok, entry = pcall(cjson.decode, raw)
if not ok or type(entry) ~= 'table' or entry.c ~= ARGV[2] then return 0 end
local now = tonumber(ARGV[4])
if tonumber(entry.e) <= now then
  redis.call('HDEL', KEYS[1], ARGV[1])
  raiseSeen(KEYS[1], tonumber(entry.e))
  return 0
end
entry.e = ARGV[3]
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(entry))
keepFor(KEYS[1], ARGV[5])
return 1
`;

/**
 * ARGV: field, connectionId, now, keyTtlMs. Compare-and-delete on the connection id: a late close of
 * an old socket leaves the newer connection alone. Returns 1 when it removed the entry.
 */
export const UNREGISTER_DEVICE_LUA = `${HELPERS}
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local ok, entry = pcall(cjson.decode, raw)
if ok and type(entry) == 'table' and entry.c ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
local now = tonumber(ARGV[3])
prune(KEYS[1], KEYS[2], now)
raiseSeen(KEYS[1], now)
keepFor(KEYS[1], ARGV[4])
return 1
`;

/**
 * KEYS[1]: lease hash. ARGV: gatewayId, instanceId, now, expiresAtMs. Takes the lease whoever holds it;
 * the same instance keeps its original start. Returns the previous instance id, or nil.
 */
export const ACQUIRE_GATEWAY_LUA = `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
local previous = nil
local since = ARGV[3]
if raw then
  local ok, lease = pcall(cjson.decode, raw)
  if ok and type(lease) == 'table' and type(lease.i) == 'string' then
    previous = lease.i
    if lease.i == ARGV[2] and lease.s then since = lease.s end
  end
end
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode({ i = ARGV[2], s = since, e = ARGV[4] }))
return previous
`;

/**
 * KEYS[1]: lease hash. ARGV: gatewayId, instanceId, now, expiresAtMs.
 * Returns 'renewed', 'resumed' (it had lapsed), 'lost' (another instance holds it) or 'missing'
 * (no lease at all); nothing is written in the last two cases.
 */
export const REFRESH_GATEWAY_LUA = `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 'missing' end
local ok, lease = pcall(cjson.decode, raw)
if not ok or type(lease) ~= 'table' or type(lease.i) ~= 'string' then return 'missing' end
if lease.i ~= ARGV[2] then return 'lost' end
local status = 'renewed'
if tonumber(lease.e) <= tonumber(ARGV[3]) then status = 'resumed' end
lease.e = ARGV[4]
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(lease))
return status
`;

/**
 * KEYS[1]: lease hash. ARGV: gatewayId, instanceId, now. Ends the lease now if this instance holds it.
 * Returns 1 when held by this instance. The field stays, so last seen of its devices is the release time.
 */
export const RELEASE_GATEWAY_LUA = `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local ok, lease = pcall(cjson.decode, raw)
if not ok or type(lease) ~= 'table' or lease.i ~= ARGV[2] then return 0 end
if tonumber(lease.e) > tonumber(ARGV[3]) then
  lease.e = ARGV[3]
  redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(lease))
end
return 1
`;
