/**
 * Herald's Redis contract as a Redis Functions library (Redis >= 7). Once it is
 * loaded, any client in any language publishes with a plain `FCALL`;
 * docs/redis-contract.md documents every key and argument. Gateways and this
 * SDK load it (functions.ts) at startup and again whenever Redis answers
 * "Function not found", for example after a restart without persistence.
 *
 * The loader writes into the code when the library came into an empty dataset
 * (`DATASET_SINCE_MS`): Redis keeps functions with the data, so a library that
 * is gone means the data went with it, and a position from before that moment
 * may have had successors that are lost. Redis itself knows its start only to
 * the second (`INFO` uptime), too coarse to tell its first positions from the
 * last ones of the dataset it replaced.
 *
 * - `herald_publish` appends to the channel's Stream (trimmed in batches to
 *   MAXLEN, recording the newest deleted id; idle TTL) and announces on its shard channel with SPUBLISH, atomically,
 *   returning the entry id. The stream and channel share a hash tag, so they
 *   share a slot in Redis Cluster.
 * - `herald_publish_batch` does the same for many messages in one call,
 *   checking all of them before appending any; in Redis Cluster, one call's
 *   keys must share a slot, so a batch there is one channel's messages.
 * - `herald_tail`, `herald_tails` and `herald_read` are read-only (`no-writes`):
 *   the position to go live from (of one stream, or of many in one call), and
 *   history after a position with an exact verdict (`trimmed` / `unknown`)
 *   decided atomically with the read.
 */

export const FUNCTION_LIBRARY_NAME = 'herald'
/** Bumped whenever the library's behaviour changes; `FUNCTION LIST` shows it in the code. */
export const FUNCTION_LIBRARY_VERSION = 14
/**
 * The largest maxlen or TTL the functions take as given; larger counts as this. Redis receives a
 * number from Lua as printf's %.14g, which writes 1e+14 for larger ones, and an integer format
 * past 2^63 would turn negative (an EXPIRE that deletes the stream). 10^12 s is 31,700 years.
 */
export const MAX_FUNCTION_LIMIT = 1_000_000_000_000

/**
 * The library's code, for a dataset that began at `datasetSinceMs` (the Redis clock, in ms);
 * 0 when that is not known (a library that replaced version 3, which did not record it).
 */
export function heraldFunctions(datasetSinceMs: number): string {
  if (!Number.isSafeInteger(datasetSinceMs) || datasetSinceMs < 0) {
    throw new RangeError(`datasetSinceMs must be a whole number of ms, not ${datasetSinceMs}`)
  }
  return LIBRARY_HEAD + datasetSinceMs + LIBRARY_BODY
}

/** The version and dataset start of a library's code, as `heraldFunctions` wrote them, if it is Herald's. */
export function parseHeraldFunctions(code: string): { version: number; datasetSinceMs: number } | undefined {
  const version = /^-- Herald Redis contract v(\d+)\./m.exec(code)
  if (version === null) return undefined
  const since = /^local DATASET_SINCE_MS = (\d+)$/m.exec(code)
  return { version: Number(version[1]), datasetSinceMs: since === null ? 0 : Number(since[1]) }
}

const LIBRARY_HEAD = `#!lua name=${FUNCTION_LIBRARY_NAME}
-- Herald Redis contract v${FUNCTION_LIBRARY_VERSION}. See docs/redis-contract.md.

-- When this library was loaded into an empty dataset, by the Redis clock in ms (0: not known).
-- Every position this dataset hands out is at or after it.
local DATASET_SINCE_MS = `

// Raw: the Lua below is as Redis reads it, backslashes and all.
const LIBRARY_BODY = String.raw`

-- Upvalues, not globals: a function's globals go through the sandbox's metatable on every
-- use. Bound at the first call, as a library sees none of them while it loads.
local find, sub, byte, match, gsub, gmatch, call
local json_decode, decode_invalid_numbers, decode_max_depth
local function bind()
  if find ~= nil then return end
  find, sub, byte, match, gsub, gmatch = string.find, string.sub, string.byte, string.match, string.gsub, string.gmatch
  json_decode, decode_invalid_numbers, decode_max_depth = cjson.decode, cjson.decode_invalid_numbers, cjson.decode_max_depth
  call = redis.call
end

local DEFAULT_MAXLEN = 1000
local DEFAULT_TTL = 604800
local DEFAULT_IDEMPOTENCY_TTL = 86400

local function fail(code, message)
  return redis.error_reply(code .. ' ' .. message)
end

-- Never before the dataset began, even if the clock was set back since: positions stay at or after it.
local function now_ms()
  local t = call('TIME')
  return math.max(DATASET_SINCE_MS, tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
end

-- Whether digits fit a part of a stream id, 2^64 - 1 at most: XRANGE refuses more with an
-- error of its own.
local MAX_ID_PART = '18446744073709551615'
local function is_id_part(digits)
  return #digits < #MAX_ID_PART or (#digits == #MAX_ID_PART and digits <= MAX_ID_PART)
end

-- A stream id's two parts as numbers, or nil for text that is not one Redis could hold.
local function parse_id(id)
  local ms, seq = match(id or '', '^(%d+)-(%d+)$')
  if ms == nil or not is_id_part(ms) or not is_id_part(seq) then return nil end
  return tonumber(ms), tonumber(seq)
end

local function is_before(a_ms, a_seq, b_ms, b_seq)
  return a_ms < b_ms or (a_ms == b_ms and a_seq < b_seq)
end

-- Limits above this count as this (MAX_FUNCTION_LIMIT in herald-functions.ts says why).
local MAX_LIMIT = ${MAX_FUNCTION_LIMIT}

-- A limit counts only as decimal digits alone: tonumber also reads '1.9', '0x3c', '1e2', ' 70',
-- 'inf' and 'nan' (NaN, which no comparison excludes: EXPIRE and SET failed after the XADD), all
-- of which take the default, as the contract says. FCALL's arguments are strings, and the SDK
-- and the gateways send whole numbers, which ioredis writes as digits.
local function positive(value, default)
  if value == nil or not find(value, '^%d+$') then return default end
  local n = tonumber(value)
  if n < 1 then return default end
  if n > MAX_LIMIT then return MAX_LIMIT end
  return n
end

local function info_field(info, name)
  for i = 1, #info, 2 do
    if info[i] == name then return info[i + 1] end
  end
  return nil
end

-- The rules for names that gateways, the SDK and POST /v1/publish keep (names.ts in
-- @herald/protocol): a message to a channel no subscriber can name would be stored and reach
-- no one.
local USER_STREAM = '^herald:{u:([A-Za-z0-9._:@+=|%-]+)}:s$'
local TOPIC_STREAM = '^herald:{t:([A-Za-z0-9._:@+=|/%-]+)}:s$'
local MAX_NAME_LENGTH = 128
local MAX_TYPE_BYTES = 128
local MAX_IDEMPOTENCY_KEY_CHARACTERS = 200
local MAX_DATA_DEPTH = 32

-- Whether a stream key names a channel a subscriber can ask for: the one rule for every function.
local STREAM_KEY_RULE = 'the stream key must be herald:{u:<user>}:s or herald:{t:<topic>}:s, with a user id '
  .. 'of 1 to 128 characters from A-Z a-z 0-9 . _ : @ + = | - (a topic may also have /)'
local function is_stream_key(stream)
  local name = stream and (match(stream, USER_STREAM) or match(stream, TOPIC_STREAM))
  return name ~= nil and #name <= MAX_NAME_LENGTH
end

-- Whether text is well-formed UTF-8: no stray or missing continuation bytes, overlong forms,
-- surrogates or code points past U+10FFFF. Redis keeps bytes; a browser would show U+FFFD.
-- Each well-formed sequence becomes an ASCII stand-in, so no two bytes that a replaced
-- sequence kept apart can pair up; what is left must be ASCII. (Twice as fast as a loop over
-- the characters in Lua.)
local function is_utf8(text)
  if find(text, '^[%z\1-\127]*$') then return true end
  text = gsub(text, '[\194-\223][\128-\191]', '.')
  text = gsub(text, '[\225-\236\238\239][\128-\191][\128-\191]', '.')
  text = gsub(text, '\224[\160-\191][\128-\191]', '.')
  text = gsub(text, '\237[\128-\159][\128-\191]', '.')
  text = gsub(text, '\240[\144-\191][\128-\191][\128-\191]', '.')
  text = gsub(text, '[\241-\243][\128-\191][\128-\191][\128-\191]', '.')
  text = gsub(text, '\244[\128-\143][\128-\191][\128-\191]', '.')
  return find(text, '^[%z\1-\127]*$') ~= nil
end

-- Whether text is UTF-8 without control characters (C0, DEL, C1) or Unicode line separators;
-- printable ASCII, as nearly all types and keys are, is settled by one anchored scan.
local function is_plain_text(text)
  if find(text, '^[ -~]*$') then return true end
  return is_utf8(text) and not find(text, '[%z\1-\31\127]') and not find(text, '\194[\128-\159]')
    and not find(text, '\226\128[\168\169]')
end

-- JSON (RFC 8259), strictly, for text that cjson would misjudge (is_json below says which).
-- Each function takes the text and a position, and returns the position after what it read,
-- or nil.
local function skip_space(text, i)
  return find(text, '[^ \t\n\r]', i) or #text + 1
end

local function json_string(text, i)
  i = i + 1
  while true do
    local at = find(text, '[%z\1-\31"\\]', i)
    if at == nil then return nil end
    local found = byte(text, at)
    if found == 34 then return at + 1 end
    if found ~= 92 then return nil end
    local escape = sub(text, at + 1, at + 1)
    if escape == 'u' then
      local code = tonumber(match(text, '^%x%x%x%x', at + 2) or '', 16)
      if code == nil or (code >= 0xDC00 and code <= 0xDFFF) then return nil end
      i = at + 6
      -- A high surrogate needs its low half: alone, it has no UTF-8 form.
      if code >= 0xD800 and code <= 0xDBFF then
        local low = tonumber(match(text, '^\\u(%x%x%x%x)', i) or '', 16)
        if low == nil or low < 0xDC00 or low > 0xDFFF then return nil end
        i = i + 6
      end
    elseif escape ~= '' and find('"\\/bfnrt', escape, 1, true) then
      i = at + 2
    else
      return nil
    end
  end
end

-- A JSON number: no leading zeros (007), no bare dot (1. or .5), no sign but minus, and
-- finite (1e400 parses as Infinity everywhere: a value nobody published).
local function is_number(token)
  local int, rest = match(token, '^(-?%d+)(.*)$')
  if int == nil or find(int, '^-?0%d') then return false end
  if rest ~= '' and not find(rest, '^%.%d+$') and not find(rest, '^%.%d+[eE][+-]?%d+$')
    and not find(rest, '^[eE][+-]?%d+$') then
    return false
  end
  local value = tonumber(token)
  return value ~= nil and value ~= math.huge and value ~= -math.huge
end

local function json_number(text, i)
  local last = select(2, find(text, '^[-+.%deE]+', i))
  if last == nil or not is_number(sub(text, i, last)) then return nil end
  return last + 1
end

local LITERALS = { t = 'true', f = 'false', n = 'null' }
local function json_value(text, i, depth)
  i = skip_space(text, i)
  local first = sub(text, i, i)
  if first == '"' then return json_string(text, i) end
  if first == '{' or first == '[' then
    if depth >= MAX_DATA_DEPTH then return nil end
    local close = first == '{' and '}' or ']'
    i = skip_space(text, i + 1)
    if sub(text, i, i) == close then return i + 1 end
    while true do
      if first == '{' then
        if sub(text, i, i) ~= '"' then return nil end
        i = json_string(text, i)
        if i == nil then return nil end
        i = skip_space(text, i)
        if sub(text, i, i) ~= ':' then return nil end
        i = i + 1
      end
      i = json_value(text, i, depth + 1)
      if i == nil then return nil end
      i = skip_space(text, i)
      local after = sub(text, i, i)
      if after == close then return i + 1 end
      if after ~= ',' then return nil end
      i = skip_space(text, i + 1)
    end
  end
  local literal = LITERALS[first]
  if literal ~= nil then
    if sub(text, i, i + #literal - 1) ~= literal then return nil end
    return i + #literal
  end
  return json_number(text, i)
end

-- Runs a check with cjson's leniencies off: it takes NaN, Infinity, hex and leading zeros
-- (decode_invalid_numbers) and nesting 1000 deep. Other libraries share this Lua state, so the
-- settings go back to cjson's defaults after: not to what was found, since a check that
-- FUNCTION KILL stopped never got to set them back, and the next call mends that. Once a call,
-- not once a message: the settings cost Redis more than a message's own checks
-- (docs/redis-contract.md).
local function strictly(check, a, b, c, d)
  decode_invalid_numbers(false)
  decode_max_depth(MAX_DATA_DEPTH)
  local code, message = check(a, b, c, d)
  decode_invalid_numbers(true)
  decode_max_depth(1000)
  return code, message
end

local function is_json(text)
  -- cjson also takes control characters raw in strings: text with one (a line break, in JSON
  -- written for people) gets the strict parse above. An anchored pattern scans the text once,
  -- at about 3 ns a byte; an unanchored one restarts at every byte, at about 15. Data's UTF-8 is
  -- not checked: a check in Lua cost 5 times what the whole publish did for 1 KB of Japanese.
  if find(text, '^[ -\255]*$') then return pcall(json_decode, text) end
  local after = json_value(text, 1, 0)
  return after ~= nil and skip_space(text, after) == #text + 1
end

-- Why a message cannot be published, as (code, message), or nil if it can. Run strictly.
local function publish_problem(stream, idempotency, event_type, data)
  if not is_stream_key(stream) then return 'HERALD_ERR_KEY', STREAM_KEY_RULE end
  if idempotency ~= nil then
    local base = sub(stream, 1, -2)
    local key = sub(idempotency, #base + 3)
    local _, continuation_bytes = gsub(key, '[\128-\191]', '')
    if sub(idempotency, 1, #base + 2) ~= base .. 'i:' or key == ''
      or #key - continuation_bytes > MAX_IDEMPOTENCY_KEY_CHARACTERS or not is_plain_text(key) then
      return 'HERALD_ERR_KEY', 'the idempotency key must be ' .. base .. 'i:<key>, with a key of 1 to 200 '
        .. 'characters of UTF-8 without control characters'
    end
  end
  if #event_type > MAX_TYPE_BYTES or not is_plain_text(event_type) or sub(event_type, 1, 7) == 'herald.' then
    return 'HERALD_ERR_TYPE', 'type must be at most 128 bytes of UTF-8, without control characters or line '
      .. 'separators, not starting with herald.'
  end
  -- A native EventSource dispatches these as its own events: a connection failure, an open.
  if event_type == 'error' or event_type == 'open' then
    return 'HERALD_ERR_TYPE', 'type must not be error or open: EventSource reserves them for its own events'
  end
  if data == nil or not is_json(data) then
    return 'HERALD_ERR_DATA', 'data must be JSON (RFC 8259, in UTF-8, at most 32 levels deep)'
  end
  -- Before anything is written: Redis keeps a function's writes when a later command fails, so
  -- an announcement this user may not make (Redis 7 gives a new ACL user no channels) would leave
  -- the entry stored and announced to no one, and a retry with its idempotency key would answer
  -- the stored id, announcing nothing again.
  local channel = sub(stream, 1, -2) .. 'c'
  if not redis.acl_check_cmd('SPUBLISH', channel, data) then
    return 'HERALD_ERR_NOPERM', 'this Redis user may not SPUBLISH to ' .. channel
      .. ' (grant it the command, +spublish, and the channels, &herald:*)'
  end
  return nil
end

-- One call's limits, worked out once: as numbers for arithmetic, and as text for the commands
-- (redis.call formats a Lua number with printf on every call).
local function publish_limits(maxlen, ttl, idempotency_ttl)
  local m = positive(maxlen, DEFAULT_MAXLEN)
  local t = positive(ttl, DEFAULT_TTL)
  return {
    maxlen = m,
    -- Let the stream grow b = maxlen / 8 (at least 1, at most 1000) past maxlen, then trim b + 1
    -- entries at once, back to maxlen: amortised O(1) per publish.
    trim_above = m + math.min(math.max(1, math.floor(m / 8)), 1000),
    ttl = t,
    ttl_text = string.format('%d', t),
    idempotency_ttl_text = string.format('%d', positive(idempotency_ttl, DEFAULT_IDEMPOTENCY_TTL)),
  }
end

-- Raises Redis's own NOPERM unless this Redis user may trim the stream and record what it
-- deleted (XSETID): without the record, a resume from before the trim would skip the deleted
-- entries with no herald.reset. Checked only where a publish deletes or begins a history, so
-- it costs nothing per publish; a user missing another command fails loudly on every publish.
local function may_record_deletions(stream)
  local acl = redis.acl_check_cmd
  local missing = (not acl('XTRIM', stream, 'MAXLEN', '1')) and 'XTRIM'
    or (not acl('XRANGE', stream, '-', '+')) and 'XRANGE'
    or (not acl('XSETID', stream, '0-1')) and 'XSETID'
  if missing then
    error({err = 'NOPERM this Redis user may not ' .. missing .. ' ' .. stream .. ', which Herald needs to trim a '
      .. 'history and record what it deleted (docs/redis-contract.md lists what a publisher needs)'})
  end
end

-- Appends one checked message and announces it; returns its id (the first id, for a repeated idempotency key).
local function append(stream, idempotency, event_type, data, limits)
  if idempotency ~= nil then
    local seen = call('GET', idempotency)
    -- Only a publish writes an id there. Anything else came from another writer and names no
    -- entry, so it is published over, not handed back as the message's id; refusing instead
    -- would break a batch's all-or-nothing, as earlier messages are already appended.
    if seen and parse_id(seen) then return seen end
  end

  -- NOMKSTREAM appends only to a stream that exists (nil otherwise): one call, where
  -- asking EXISTS first would be two for every message.
  local id = call('XADD', stream, 'NOMKSTREAM', '*', 'd', data, 't', event_type)
  if not id then
    -- A new stream starts at <now>-1, above any <now>-0 tail handed out while it did
    -- not exist, and counts positions older than the idle TTL as deleted: a stream of
    -- this name may have existed and expired.
    local now = now_ms()
    may_record_deletions(stream)
    id = call('XADD', stream, now .. '-1', 'd', data, 't', event_type)
    call('XSETID', stream, id, 'ENTRIESADDED', 1, 'MAXDELETEDID', math.max(0, now - limits.ttl * 1000) .. '-0')
  else
    -- Trim in batches, exactly, and record the newest deleted id: Redis does not
    -- track it for trims, and resume needs it to tell an exact position from one
    -- whose successors are gone.
    if call('XLEN', stream) > limits.trim_above then
      may_record_deletions(stream)
      call('XTRIM', stream, 'MAXLEN', limits.maxlen + 1)
      local boundary = call('XRANGE', stream, '-', '+', 'COUNT', 1)[1][1]
      call('XTRIM', stream, 'MAXLEN', limits.maxlen)
      call('XSETID', stream, id, 'MAXDELETEDID', boundary)
    end
  end
  call('EXPIRE', stream, limits.ttl_text)
  if idempotency ~= nil then
    call('SET', idempotency, id, 'EX', limits.idempotency_ttl_text)
  end
  call('SPUBLISH', sub(stream, 1, -2) .. 'c', id .. '\n' .. event_type .. '\n' .. data)
  return id
end

-- KEYS[1] stream, KEYS[2] idempotency key (optional)
-- ARGV type, data (JSON), maxlen, ttl seconds, idempotency ttl seconds
local function herald_publish(keys, args)
  bind()
  if #keys < 1 or #keys > 2 then
    return fail('HERALD_ERR_ARGS', 'herald_publish takes 1 key (the stream) or 2 (and the idempotency key)')
  end
  if #args < 2 or #args > 5 then
    return fail('HERALD_ERR_ARGS', 'herald_publish takes 2 to 5 arguments: type, data, and optionally maxlen, '
      .. 'ttl and idempotency ttl')
  end
  local stream, idempotency, event_type, data = keys[1], keys[2], args[1] or '', args[2]
  local code, message = strictly(publish_problem, stream, idempotency, event_type, data)
  if code then return fail(code, message) end
  return append(stream, idempotency, event_type, data, publish_limits(args[3], args[4], args[5]))
end

-- Why a herald_publish_batch call cannot be published, as (code, message), or nil if it can;
-- fills key_at with where each message's keys start. Run strictly.
local function batch_problem(keys, args, key_at)
  if (#args - 3) % 3 ~= 0 then
    return 'HERALD_ERR_ARGS', 'after maxlen, ttl and idempotency ttl, each message takes three arguments'
  end
  local k = 1
  for i = 4, #args, 3 do
    local n = #key_at + 1
    key_at[n] = k
    local idempotency = nil
    if args[i] ~= '0' and args[i] ~= '1' then
      return 'HERALD_ERR_ARGS', 'message ' .. n .. ': has-idempotency-key must be 0 or 1'
    end
    if args[i] == '1' then
      idempotency = keys[k + 1]
      k = k + 2
    else
      k = k + 1
    end
    local code, message = publish_problem(keys[key_at[n]], idempotency, args[i + 1], args[i + 2])
    if code then return code, 'message ' .. n .. ': ' .. message end
  end
  if k ~= #keys + 1 then
    return 'HERALD_ERR_ARGS', 'the keys do not match the messages: one stream key each, plus its idempotency key'
  end
  return nil
end

-- KEYS each message's stream key, followed by its idempotency key if it has one.
-- ARGV maxlen, ttl seconds, idempotency ttl seconds, then for each message:
-- 1 if it has an idempotency key (else 0), type, data (JSON).
-- Checks every message before appending any, then appends them in order in one call
-- (one command for the client to build and Redis to dispatch, not one per message).
-- Returns their ids in order.
local function herald_publish_batch(keys, args)
  bind()
  -- Where each message's keys start: numbers in one table, not a table per message.
  local key_at = {}
  local code, message = strictly(batch_problem, keys, args, key_at)
  if code then return fail(code, message) end
  local limits = publish_limits(args[1], args[2], args[3])
  local ids = {}
  for n, at in ipairs(key_at) do
    local i = 1 + 3 * n
    ids[n] = append(keys[at], args[i] == '1' and keys[at + 1] or nil, args[i + 1], args[i + 2], limits)
  end
  return ids
end

-- The position a new subscriber of the stream goes live from.
local function tail_of(stream)
  if call('EXISTS', stream) == 0 then return now_ms() .. '-0' end
  return info_field(call('XINFO', 'STREAM', stream), 'last-generated-id')
end

-- KEYS[1] stream. Returns the position a new subscriber goes live from.
local function herald_tail(keys, args)
  bind()
  local stream = keys[1]
  if not is_stream_key(stream) then return fail('HERALD_ERR_KEY', STREAM_KEY_RULE) end
  return tail_of(stream)
end

-- KEYS the streams. Each one's position to go live from, as herald_tail answers it, in one
-- call: a gateway gathers the streams that open while a call is in flight into the next.
local function herald_tails(keys, args)
  bind()
  for i = 1, #keys do
    if not is_stream_key(keys[i]) then return fail('HERALD_ERR_KEY', STREAM_KEY_RULE) end
  end
  local tails = {}
  for i = 1, #keys do tails[i] = tail_of(keys[i]) end
  return tails
end

-- How many entries a page's next XRANGE asks for: what the bytes left would hold at the size of
-- the entries so far, and one more (the entry that ends the page on its bound), at most what
-- the page still takes.
local function read_size(wanted, bytes_left, bytes, taken)
  if taken == 0 or bytes == 0 then return wanted end
  return math.max(1, math.min(wanted, math.floor(bytes_left * taken / bytes) + 1))
end

-- KEYS[1] stream; ARGV after (<ms>-<seq>), count, ttl seconds.
-- Returns {'entries', id, type, data, id, type, data, ...}, {'trimmed'} or {'unknown'}.
-- A position from before the dataset began is 'trimmed': what came after it may be gone with
-- the old dataset. That holds for a gateway that followed the channel live as well: Redis
-- answers a publish before it writes the message to subscribers, so a crash between the two
-- loses an acknowledged message that no subscriber saw.
-- Whether the stream holds an entry from before this dataset began: one no publish of this
-- dataset wrote, as every stream a publish begins starts after DATASET_SINCE_MS. It came with
-- its history: a Cluster slot migrated onto a master that got the library only then (one that
-- joined by CLUSTER MEET holds no slot until the first moves in, so no loader reached it), or a
-- FUNCTION FLUSH that kept the data. Its positions from before the library are read as any
-- other's, where version 13 answered 'trimmed' and every tab on a moved channel was reset.
local function carried_over(stream)
  local first = call('XRANGE', stream, '-', '+', 'COUNT', 1)[1]
  local first_ms = parse_id(first and first[1])
  return first_ms ~= nil and first_ms < DATASET_SINCE_MS
end

local function herald_read(keys, args)
  bind()
  local stream = keys[1]
  if not is_stream_key(stream) then return fail('HERALD_ERR_KEY', STREAM_KEY_RULE) end
  local after_ms, after_seq = parse_id(args[1])
  if after_ms == nil then return fail('HERALD_ERR_ID', 'after must be <ms>-<seq>, each part at most 2^64 - 1') end
  local count = positive(args[2], 200)
  local ttl = positive(args[3], DEFAULT_TTL)
  local max_bytes = positive(args[4], nil)
  if after_ms < DATASET_SINCE_MS and not carried_over(stream) then return {'trimmed'} end
  if call('EXISTS', stream) == 0 then
    local now = now_ms()
    if after_ms > now then return {'unknown'} end
    if after_ms < now - ttl * 1000 then return {'trimmed'} end
    -- A tail handed out while the stream did not exist is <ms>-0; a sequence above 0 is an
    -- entry's, and the stream that held it is gone within the TTL: lost, as a failover loses a
    -- stream its demoted master created and announced, or deleted.
    if after_seq > 0 then return {'unknown'} end
    return {'entries'}
  end
  local info = call('XINFO', 'STREAM', stream)
  local last_ms, last_seq = parse_id(info_field(info, 'last-generated-id'))
  local deleted_ms, deleted_seq = parse_id(info_field(info, 'max-deleted-entry-id'))
  if is_before(last_ms, last_seq, after_ms, after_seq) then return {'unknown'} end
  if is_before(after_ms, after_seq, deleted_ms, deleted_seq) then return {'trimmed'} end
  -- From the position itself, which a resume from an entry finds and skips: one more entry read.
  -- With a byte bound, only that and one entry at first, then chunks sized from the entries so
  -- far (read_size): reading count + 1 entries at once read 201 of 60 KB (12 MB) for a page of
  -- one, and held Redis for everyone while it did.
  local asked = max_bytes == nil and count + 1 or 2
  local entries = call('XRANGE', stream, args[1], '+', 'COUNT', asked)
  local from = 1
  local found_ms, found_seq = parse_id(entries[1] and entries[1][1])
  if found_ms == after_ms and found_seq == after_seq then
    from = 2
  else
    -- A position past this history's first entry that is none of its entries was never in it:
    -- another history wrote it, such as a master that a failover demoted before its last writes
    -- reached the replica, and the client saw them live. What follows it here may repeat what
    -- the client saw, or precede it and be skipped. So was one with a sequence above 0 before
    -- the first entry, such as the first entry of a stream the demoted master created, whose
    -- publish was retried into this one: only a tail handed out while the stream did not exist
    -- (<ms>-0) comes before a history, which starts at <ms>-1, and the newest deleted entry,
    -- after which nothing is gone.
    local first = info_field(info, 'first-entry')
    local first_ms, first_seq = parse_id(first and first[1])
    local newest_deleted = after_ms == deleted_ms and after_seq == deleted_seq
    if first_ms ~= nil and not newest_deleted and (after_seq > 0 or is_before(first_ms, first_seq, after_ms, after_seq)) then
      return {'unknown'}
    end
  end
  local reply = {'entries'}
  local bytes = 0
  local taken = 0
  local at = from
  while taken < count do
    if at > #entries then
      -- A chunk shorter than asked reached the end of the stream.
      if #entries < asked or max_bytes == nil then break end
      asked = read_size(count - taken, max_bytes - bytes, bytes, taken)
      entries = call('XRANGE', stream, '(' .. entries[#entries][1], '+', 'COUNT', asked)
      at = 1
      if #entries == 0 then break end
    end
    local entry = entries[at]
    at = at + 1
    local fields = entry[2]
    local event_type, data = '', ''
    for i = 1, #fields, 2 do
      if fields[i] == 't' then event_type = fields[i + 1] elseif fields[i] == 'd' then data = fields[i + 1] end
    end
    -- A page of at most max_bytes of data, but never empty: 'more' says it stopped short of
    -- count there, so the history may go on. A reply is built whole in Redis's output buffer,
    -- and a page of count entries of the largest data was 50 MB.
    bytes = bytes + #data
    if max_bytes ~= nil and bytes > max_bytes and #reply > 1 then
      reply[1] = 'more'
      break
    end
    reply[#reply + 1] = entry[1]
    reply[#reply + 1] = event_type
    reply[#reply + 1] = data
    taken = taken + 1
  end
  return reply
end

redis.register_function('herald_publish', herald_publish)
redis.register_function('herald_publish_batch', herald_publish_batch)
redis.register_function{function_name = 'herald_tail', callback = herald_tail, flags = {'no-writes'}}
redis.register_function{function_name = 'herald_tails', callback = herald_tails, flags = {'no-writes'}}
redis.register_function{function_name = 'herald_read', callback = herald_read, flags = {'no-writes'}}
`
