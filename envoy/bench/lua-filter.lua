-- `./build.sh bench`, listener `lua`: what an Envoy Lua filter can do of the
-- work tracesafe-full.json describes (see envoy/bench/README.md), written the
-- way a careful operator would: constants and HMAC key schedules prepared once
-- per worker, one pass over each header.
--
-- Does: removes the 6 credential headers; filters baggage (2 members dropped,
-- 2 tokenized); tokenizes x-user-id; runs an e-mail and a card-number detector
-- on 3 headers; computes a path template and a redacted query (stored as
-- dynamic metadata, the only place Lua can leave them for logs); continues
-- traceparent with a fresh span id (or starts a trace), dropping tracestate
-- when the incoming context is invalid.
-- Cannot: export spans (httpCall per request would be a blocking side call)
-- or stamp an mTLS identity onto spans (the bench has no TLS).
-- Tokens are HMAC-SHA256 in pure LuaJIT (bit ops), truncated to 128 bits.
-- Span ids come from math.random, which is not a CSPRNG: Envoy's Lua API has
-- no secure random source.

local bit = require("bit")
local band, bor, bxor, bnot = bit.band, bit.bor, bit.bxor, bit.bnot
local rshift, lshift, ror, tobit, tohex = bit.rshift, bit.lshift, bit.ror, bit.tobit, bit.tohex
local byte, char, rep, format = string.byte, string.char, string.rep, string.format
local concat = table.concat

local REMOVE = {
  "authorization", "proxy-authorization", "cookie",
  "x-api-key", "x-amz-security-token", "x-auth-token",
}
local BAGGAGE_DROP = { ["session.id"] = true, ["debug.token"] = true }
local BAGGAGE_TOKEN = { ["user.id"] = true, ["user.email"] = true }
local DETECT = { "user-agent", "referer", "x-client-note" }
local QUERY_REDACT = {
  sig = true, Signature = true, ["X-Amz-Signature"] = true, ["X-Amz-Credential"] = true,
  ["X-Amz-Security-Token"] = true, AWSAccessKeyId = true, ["X-Goog-Signature"] = true,
}
-- Bench key only; a real deployment would read it from the environment.
local KEY = "tracesafe-bench-key-0123456789abcdef"
local KEY_ID = "k1"

-- SHA-256 (FIPS 180-4) on 32-bit words.
local K = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
}
local IV = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 }
local W = {}

-- One 64-byte block of `s` starting at `off` into state `H` (in place).
local function compress(H, s, off)
  for j = 1, 16 do
    local a, b, c, d = byte(s, off, off + 3)
    W[j] = bor(lshift(a, 24), lshift(b, 16), lshift(c, 8), d)
    off = off + 4
  end
  for j = 17, 64 do
    local x, y = W[j - 15], W[j - 2]
    local s0 = bxor(ror(x, 7), ror(x, 18), rshift(x, 3))
    local s1 = bxor(ror(y, 17), ror(y, 19), rshift(y, 10))
    W[j] = tobit(W[j - 16] + s0 + W[j - 7] + s1)
  end
  local a, b, c, d, e, f, g, h = H[1], H[2], H[3], H[4], H[5], H[6], H[7], H[8]
  for j = 1, 64 do
    local t1 = h + bxor(ror(e, 6), ror(e, 11), ror(e, 25)) + bxor(band(e, f), band(bnot(e), g)) + K[j] + W[j]
    local t2 = bxor(ror(a, 2), ror(a, 13), ror(a, 22)) + bxor(band(a, b), band(a, c), band(b, c))
    h, g, f, e, d, c, b, a = g, f, e, tobit(d + t1), c, b, a, tobit(t1 + t2)
  end
  H[1], H[2], H[3], H[4] = tobit(H[1] + a), tobit(H[2] + b), tobit(H[3] + c), tobit(H[4] + d)
  H[5], H[6], H[7], H[8] = tobit(H[5] + e), tobit(H[6] + f), tobit(H[7] + g), tobit(H[8] + h)
end

local function be32(x)
  return char(band(rshift(x, 24), 255), band(rshift(x, 16), 255), band(rshift(x, 8), 255), band(x, 255))
end

-- Finishes a hash whose state `H0` already absorbed `prefix_len` bytes.
local function finish(H0, msg, prefix_len)
  local H = { H0[1], H0[2], H0[3], H0[4], H0[5], H0[6], H0[7], H0[8] }
  local len = #msg
  local padded = msg .. "\128" .. rep("\0", (55 - len) % 64) .. "\0\0\0\0" .. be32((prefix_len + len) * 8)
  for off = 1, #padded, 64 do
    compress(H, padded, off)
  end
  return H
end

-- HMAC key schedule, once per worker: the states after the ipad/opad blocks.
local function pad_key(pad)
  local out = {}
  for i = 1, 64 do
    out[i] = char(bxor(byte(KEY, i) or 0, pad))
  end
  local H = { IV[1], IV[2], IV[3], IV[4], IV[5], IV[6], IV[7], IV[8] }
  compress(H, concat(out), 1)
  return H
end
local INNER, OUTER = pad_key(0x36), pad_key(0x5c)

-- A keyed token, domain-separated by field: HMAC(key, field NUL value)[0..16].
local function token(field, value)
  local inner = finish(INNER, field .. "\0" .. value, 64)
  local d = finish(OUTER, be32(inner[1]) .. be32(inner[2]) .. be32(inner[3]) .. be32(inner[4])
    .. be32(inner[5]) .. be32(inner[6]) .. be32(inner[7]) .. be32(inner[8]), 64)
  return "tk." .. KEY_ID .. "." .. tohex(d[1]) .. tohex(d[2]) .. tohex(d[3]) .. tohex(d[4])
end

math.randomseed(os.time())
local random = math.random
local function random_hex(words)
  local out = {}
  for i = 1, words do
    out[i] = tohex(random(0, 0x7fffffff) * 2 + random(0, 1))
  end
  return concat(out)
end

-- A 16-hex span id; never all zero.
local function span_id()
  local id = random_hex(2)
  if id == "0000000000000000" then
    return span_id()
  end
  return id
end

local function filter_baggage(value)
  local out = {}
  for member in value:gmatch("[^,]+") do
    local key, rest = member:match("^[ \t]*([^=; \t]+)[ \t]*=[ \t]*(.-)[ \t]*$")
    if key and not BAGGAGE_DROP[key] then
      if BAGGAGE_TOKEN[key] then
        local v, props = rest:match("^([^;]*)(.*)$")
        rest = token("baggage." .. key, v) .. props
      end
      out[#out + 1] = key .. "=" .. rest
    end
  end
  return concat(out, ",")
end

local function redact(value)
  local v, n1 = value:gsub("[%w._%%+-]+@[%w.-]+%.%a%a+", "[email]")
  local v2, n2 = v:gsub("%d%d%d%d[ -]?%d%d%d%d[ -]?%d%d%d%d[ -]?%d%d%d%d", "[card]")
  return v2, n1 + n2
end

-- Path template (numeric segments) and query with signature values redacted.
local function sanitize_path(path)
  local p, q = path:match("^([^?]*)%??(.*)$")
  local template = p:gsub("/%d+", "/{id}")
  local out = {}
  for pair in q:gmatch("[^&]+") do
    local k = pair:match("^([^=]*)")
    if QUERY_REDACT[k] then
      out[#out + 1] = k .. "=REDACTED"
    else
      out[#out + 1] = pair
    end
  end
  return template, concat(out, "&")
end

local function valid_hex(s, n)
  return #s == n and not s:find("[^0-9a-f]") and s:find("[^0]") ~= nil
end

function envoy_on_request(handle)
  local headers = handle:headers()
  for i = 1, #REMOVE do
    headers:remove(REMOVE[i])
  end

  local baggage = headers:get("baggage")
  if baggage then
    headers:replace("baggage", filter_baggage(baggage))
  end

  local user = headers:get("x-user-id")
  if user then
    headers:replace("x-user-id", token("x-user-id", user))
  end

  for i = 1, #DETECT do
    local name = DETECT[i]
    local value = headers:get(name)
    if value then
      local clean, hits = redact(value)
      if hits > 0 then
        headers:replace(name, clean)
      end
    end
  end

  local template, query = sanitize_path(headers:get(":path") or "/")
  local meta = handle:streamInfo():dynamicMetadata()
  meta:set("tracesafe.lua", "url.template", template)
  meta:set("tracesafe.lua", "url.query", query)

  local tp = headers:getNumValues("traceparent") == 1 and headers:get("traceparent")
  local version, trace, parent, flags
  if tp then
    version, trace, parent, flags = tp:match("^[ \t]*(%x%x)%-(%x+)%-(%x+)%-(%x%x)[ \t]*$")
  end
  if version == "00" and valid_hex(trace, 32) and valid_hex(parent, 16) and not flags:find("[A-F]") then
    local out_flags = format("%02x", band(tonumber(flags, 16), 3))
    headers:replace("traceparent", "00-" .. trace .. "-" .. span_id() .. "-" .. out_flags)
  else
    headers:replace("traceparent", "00-" .. random_hex(4) .. "-" .. span_id() .. "-02")
    headers:remove("tracestate")
  end
end
