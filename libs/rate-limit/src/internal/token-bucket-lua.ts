/**
 * One take from a token bucket kept in a Redis hash {tokens, atMs}, atomically (a script runs alone).
 * KEYS[1] the bucket; ARGV: ratePerSecond, burst, cost, nowMs. Returns {allowed 0/1, tokens * 1000
 * (integer, since Lua numbers become integer replies), retryAfterMs}. The key expires once the bucket
 * would be full again, so idle users cost no memory. Time comes from the callers, so takes from hosts
 * with skewed clocks never refill backwards (`atMs` only moves forward).
 */
export const TAKE_TOKENS_LUA = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'atMs')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = burst
  at = now
end
if now > at then
  tokens = math.min(burst, tokens + (now - at) * rate / 1000)
  at = now
end
local allowed = 0
local retry = 0
if tokens >= cost then
  allowed = 1
  tokens = tokens - cost
else
  retry = math.ceil((cost - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'atMs', tostring(at))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) * 1000 / rate) + 1000)
return {allowed, math.floor(tokens * 1000), retry}
`;
