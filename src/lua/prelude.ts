/**
 * The Lua side of ao-tab's lua@5.3a: run once in every fresh VM, before any
 * module. It makes the VM deterministic and sandboxed, and returns the
 * internal functions the host calls (kept in the registry, never in _G):
 *
 *   start(fname, seed1, seed2, now, limit, ...)  prepare a call in a coroutine
 *   resume(answer|nil) → kind, ...                 run it until it ends or asks the host
 *   snapshot() → bytes / restore(bytes)            the portable state format
 *   install(names)                                  the `ao` library (after the modules)
 *   sandbox(paths)                                  HyperBEAM's `sandbox` option
 *   functions() → bytes                             the global function names
 *
 * A call's arguments, results and the values of ao.* travel as Lua values
 * the host builds and reads through the C API (src/lua/marshal.ts). Errors,
 * sandbox paths, function lists and snapshots use one binary format
 * (little-endian), shared with src/lua/codec.ts:
 *   'n' nil · 'T' true · 'F' false · 'i' int64 · 'f' double · 's' u32 length + bytes
 *   'a' u32 n + n values (a list) · 'm' u32 n + n (key, value) pairs (a map)
 */
export const PRELUDE = String.raw`
local G = _G
local rawnext, rawget, rawset, type, tostring, error, select = next, rawget, rawset, type, tostring, error, select
local setmetatable, getmetatable, pcall = setmetatable, getmetatable, pcall
local spack, sunpack, sbyte, ssub = string.pack, string.unpack, string.byte, string.sub
local gmatch, sformat = string.gmatch, string.format
local tsort, concat, unpack = table.sort, table.concat, table.unpack
local mtype = math.type
local co_create, co_resume, co_status, co_running, co_yield = coroutine.create, coroutine.resume, coroutine.status, coroutine.running, coroutine.yield
local dbg = debug
local dgetmeta = debug.getmetatable
local traceback, getupvalue, setupvalue, upvalueid, upvaluejoin, dsetmeta, getinfo =
  debug.traceback, debug.getupvalue, debug.setupvalue, debug.upvalueid, debug.upvaluejoin, debug.setmetatable, debug.getinfo
local rawload, dump = load, string.dump
local os_date, os_difftime = os.date, os.difftime
local rand_seed = math.randomseed
local collect = collectgarbage

-- Canonical key order (luerl's: numbers, then booleans, then other values, then strings bytewise).
local function rank(k)
  local t = type(k)
  if t == 'number' then return 1 elseif t == 'boolean' then return 2 elseif t == 'string' then return 4 end
  return 3
end
local function keyless(a, b)
  local ra, rb = rank(a), rank(b)
  if ra ~= rb then return ra < rb end
  if ra == 1 or ra == 4 then return a < b end
  if ra == 2 then return (not a) and b end
  -- Tables and functions by address (%p: no __tostring runs; see docs/lua.md on this order).
  return sformat('%p', a) < sformat('%p', b)
end
-- A value as text without its metamethods (host code runs no script code).
local function rawtext(v)
  local t = type(v)
  if t == 'table' or t == 'userdata' then return t .. ': ' .. sformat('%p', v) end
  return tostring(v)
end
local function sortedkeys(t)
  local ks, n, strs, nums, other = {}, 0, false, false, false
  for k in rawnext, t do
    n = n + 1; ks[n] = k
    local tk = type(k)
    if tk == 'string' then strs = true elseif tk == 'number' then nums = true else other = true end
  end
  -- Keys all strings or all numbers: the same order by the built-in <, with
  -- no Lua call per comparison (what most tables are, and the hot path).
  if other or (strs and nums) then tsort(ks, keyless) else tsort(ks) end
  return ks, n
end

-- pairs: the canonical order, whatever the hash seed or insertion history.
G.pairs = function(t)
  local mt = getmetatable(t)
  if type(mt) == 'table' and rawget(mt, '__pairs') then
    local f, s, c = mt.__pairs(t)
    return f, s, c
  end
  if type(t) ~= 'table' then error("bad argument #1 to 'pairs' (table expected, got " .. type(t) .. ")", 2) end
  local ks, n = sortedkeys(t)
  local i = 0
  return function()
    while i < n do
      i = i + 1
      local k = ks[i]
      local v = rawget(t, k)
      if v ~= nil then return k, v end
    end
    return nil
  end, t, nil
end

-- next: the same canonical order as pairs (luerl's next follows its
-- ordered tables too), so a script that walks a table with next sees the
-- same keys on every node, restored or not. The first key is found by one
-- pass (next(t) == nil stays cheap); a walk keeps its sorted key list.
local walks = setmetatable({}, { __mode = 'k' })
G.next = function(t, k)
  if type(t) ~= 'table' then error("bad argument #1 to 'next' (table expected, got " .. type(t) .. ")", 2) end
  if k == nil then
    local first = rawnext(t)
    if first == nil then return nil end
    for key in rawnext, t do if keyless(key, first) then first = key end end
    return first, rawget(t, first)
  end
  local w = walks[t]
  local i = w and w.at[k]
  if i == nil or w.ks[i] ~= k then
    local ks, n = sortedkeys(t)
    local at = {}
    for j = 1, n do at[ks[j]] = j end
    w = { ks = ks, n = n, at = at }
    walks[t] = w
    i = at[k]
    if i == nil then error("invalid key to 'next'", 2) end
  end
  while i < w.n do
    i = i + 1
    local key = w.ks[i]
    local v = rawget(t, key)
    if v ~= nil then return key, v end
  end
  walks[t] = nil
  return nil
end

-- ---------------------------------------------------------------- codec
local function dec(s, pos)
  local tag = sbyte(s, pos); pos = pos + 1
  if tag == 115 then return sunpack('<s4', s, pos)
  elseif tag == 105 then return sunpack('<i8', s, pos)
  elseif tag == 102 then return sunpack('<d', s, pos)
  elseif tag == 84 then return true, pos
  elseif tag == 70 then return false, pos
  elseif tag == 110 then return nil, pos
  elseif tag == 97 then
    local n; n, pos = sunpack('<I4', s, pos)
    local t = {}
    for i = 1, n do t[i], pos = dec(s, pos) end
    return t, pos, n
  elseif tag == 109 then
    local n; n, pos = sunpack('<I4', s, pos)
    local t = {}
    for _ = 1, n do
      local k, v
      k, pos = dec(s, pos)
      v, pos = dec(s, pos)
      if k ~= nil then t[k] = v end
    end
    return t, pos
  end
  error('bad value encoding', 0)
end

local function enc(v, out, seen)
  local t = type(v)
  if t == 'string' then out[#out + 1] = spack('<Bs4', 115, v)
  elseif t == 'number' then
    if mtype(v) == 'integer' then out[#out + 1] = spack('<Bi8', 105, v) else out[#out + 1] = spack('<Bd', 102, v) end
  elseif t == 'boolean' then out[#out + 1] = v and 'T' or 'F'
  elseif t == 'table' then
    if seen[v] then error('cannot convert a table that contains itself', 0) end
    seen[v] = true
    local ks, n = sortedkeys(v)
    local items, m = {}, 0
    for i = 1, n do
      local k = ks[i]
      local kt, vt = type(k), type(rawget(v, k))
      if (kt == 'string' or kt == 'number' or kt == 'boolean') and (vt == 'string' or vt == 'number' or vt == 'boolean' or vt == 'table') then
        m = m + 1; items[m] = k
      end
    end
    local list = true
    for i = 1, m do if items[i] ~= i or mtype(items[i]) ~= 'integer' then list = false; break end end
    if list then
      out[#out + 1] = spack('<BI4', 97, m)
      for i = 1, m do enc(rawget(v, i), out, seen) end
    else
      out[#out + 1] = spack('<BI4', 109, m)
      for i = 1, m do local k = items[i]; enc(k, out, seen); enc(rawget(v, k), out, seen) end
    end
    seen[v] = nil
  else out[#out + 1] = 'n' end
end
local function encode_list(n, ...)
  local out = { spack('<BI4', 97, n) }
  local seen = {}
  for i = 1, n do enc((select(i, ...)), out, seen) end
  return concat(out)
end

-- ---------------------------------------------------------------- determinism
local now = 0
local current = nil

-- Instructions are counted by the host's count hook (src/lua/vm.ts), a C hook:
-- it can suspend the call's coroutine now and then so that the thread serves
-- others, which a hook written in Lua cannot. HOOKS is filled in by the host:
--   watch(co)           count the call's own coroutine's instructions (it may pause)
--   resume(co)          charge a resume of a script's coroutine, and count its instructions
--   exhausted()         whether the call ran out of instructions
--   used()              instructions counted in this call
--   paused()            whether the last suspension was a pause (and forget it)
local HOOKS = {}

-- Coroutines of scripts run under the same limit: every resume (in a call, or
-- while a module loads: the only times script code runs) is charged and
-- counts the coroutine's instructions, wherever it was made (in this call,
-- while the module loaded, before a snapshot was restored).
local function charged_resume(co, ...)
  HOOKS.resume(co)
  return co_resume(co, ...)
end

-- ao.* suspends the call with a YIELD-tagged yield. From a coroutine the
-- script created, that yield is passed up through every coroutine above it
-- to the call's own coroutine (and so to the host); the answer comes back
-- down the same way. The script's own yields pass through untouched.
local YIELD = {}
local tpack = table.pack
local function relay(co, r)
  while r[1] and r[2] == YIELD and co_status(co) == 'suspended' do
    r = tpack(co_resume(co, co_yield(YIELD, r[3], r[4])))
  end
  return r
end
coroutine.resume = function(co, ...)
  local r = relay(co, tpack(charged_resume(co, ...)))
  return unpack(r, 1, r.n)
end
coroutine.wrap = function(f)
  local c = co_create(f)
  return function(...)
    local r = relay(c, tpack(charged_resume(c, ...)))
    if r[1] then return unpack(r, 2, r.n) end
    error(r[2], 0)
  end
end

local function days_from_civil(y, m, d)
  y = m <= 2 and y - 1 or y
  local era = (y >= 0 and y or y - 399) // 400
  local yoe = y - era * 400
  local doy = (153 * (m + (m > 2 and -3 or 9)) + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  return era * 146097 + doe - 719468
end
local function field(t, k, d)
  local v = rawget(t, k)
  if v == nil then
    if d == nil then error("field '" .. k .. "' missing in date table", 3) end
    return d
  end
  if mtype(v) ~= 'integer' then v = math.tointeger(v) or error("field '" .. k .. "' is not an integer", 3) end
  return v
end
local os_time = function(t)
  if t == nil then return now end
  local y, mo = field(t, 'year'), field(t, 'month')
  local d, h, mi, s = field(t, 'day'), field(t, 'hour', 12), field(t, 'min', 0), field(t, 'sec', 0)
  y = y + (mo - 1) // 12; mo = (mo - 1) % 12 + 1
  return days_from_civil(y, mo, 1) * 86400 + (d - 1) * 86400 + h * 3600 + mi * 60 + s
end
local os_date_utc = function(fmt, t)
  fmt = fmt or '%c'
  if ssub(fmt, 1, 1) ~= '!' then fmt = '!' .. fmt end
  return os_date(fmt, t or now)
end
G.os = {
  time = os_time,
  date = os_date_utc,
  clock = function() return HOOKS.used() / 1e8 end,
  difftime = os_difftime,
  getenv = function() return nil end,
}
G.io = nil
G.loadfile, G.dofile = nil, nil
G.print = function() end
G.load = function(chunk, name, mode, ...)
  if select('#', ...) > 0 then return rawload(chunk, name, 't', (...)) end
  return rawload(chunk, name, 't')
end
string.dump = nil
G.collectgarbage = function(opt)
  if opt == nil or opt == 'collect' then collect('collect') end
  return 0
end
math.randomseed = function(a, b)
  if a == nil then return rand_seed(0) end
  return rand_seed(a, b)
end
package.path, package.cpath, package.loadlib = '', '', nil
package.searchers = { package.searchers[1] }
G.debug = { traceback = traceback }
for k in rawnext, package.loaded do
  if k ~= '_G' and k ~= 'string' and k ~= 'table' and k ~= 'math' and k ~= 'coroutine' and k ~= 'utf8' and k ~= 'package' then
    package.loaded[k] = nil
  end
end
package.loaded.os, package.loaded.debug = G.os, G.debug

-- ---------------------------------------------------------------- builtins (by name, for snapshots)
local names, byname = {}, {}
local function name_all(prefix, t, depth)
  local ks, n = sortedkeys(t)
  for i = 1, n do
    local k = ks[i]
    local v = rawget(t, k)
    if (type(k) == 'string' or mtype(k) == 'integer') and (type(v) == 'function' or type(v) == 'table') then
      local nm = prefix .. tostring(k)
      if names[v] == nil then names[v] = nm; byname[nm] = v end
      if type(v) == 'table' and depth > 0 and v ~= G then name_all(names[v] .. '.', v, depth - 1) end
    end
  end
end
names[G] = '_G'; byname['_G'] = G
name_all('', G, 2)
local anchors = {}
for v in rawnext, names do if type(v) == 'table' then anchors[v] = true end end
local function add_builtin(nm, v) names[v] = nm; byname[nm] = v end

-- ---------------------------------------------------------------- calls
-- The host's answer is a list the host built with the C API ({n = count, ...}).
local function host(op, ...)
  if current == nil then error('ao.' .. op .. ' can only be called during a call', 2) end
  local r = co_yield(YIELD, op, tpack(...))
  if r[1] == '\0ao-error' then error(r[2], 2) end
  return unpack(r, 1, r.n)
end

local I = {}
-- The arguments arrive as Lua values the host pushed with the C API.
function I.start(fname, s1, s2, t, lim, ...)
  local a, n = { ... }, select('#', ...)
  now = t
  rand_seed(s1, s2)
  -- Looked up in the call (under its limits): a global table's __index is the script's code.
  current = co_create(function()
    local f = rawget(G, fname)
    if f == nil then f = G[fname] end
    if f == nil then error("function '" .. rawtext(fname) .. "' is not defined", 0) end
    return f(unpack(a, 1, n))
  end)
  HOOKS.start(lim)
  HOOKS.watch(current)
end
local function finish(co, ok, ...)
  if co_status(co) == 'dead' then
    current = nil
    if HOOKS.exhausted() then return 'limit', 'instruction limit exceeded' end
    if not ok then
      local msg = ...
      local ok2, b = pcall(encode_list, 1, msg)
      return 'error', ok2 and b or encode_list(1, rawtext(msg)), traceback(co, type(msg) == 'string' and msg or nil)
    end
    return 'done', ...
  end
  -- Suspended by the count hook: the host lets others run, then resumes it.
  if ok and HOOKS.paused() then return 'pause' end
  local tag, op, payload = ...
  if tag ~= YIELD then
    current = nil
    return 'error', encode_list(1, 'attempt to yield from outside a coroutine'), ''
  end
  return 'yield', op, payload
end
function I.resume(answer)
  local co = current
  if answer == nil then return finish(co, co_resume(co)) end
  return finish(co, co_resume(co, answer))
end
I.hooks = HOOKS

local function event_ok() return 'ok' end
function I.install(list)
  local ao = rawget(G, 'ao')
  if type(ao) ~= 'table' then ao = {}; rawset(G, 'ao', ao) end
  for op in gmatch(list, '[^,]+') do
    local f = function(...) return host(op, ...) end
    -- The host answers every event with 'ok' and keeps nothing: answering here
    -- saves encoding the arguments (scripts often pass whole messages).
    if op == 'event' then f = event_ok end
    ao[op] = f
    add_builtin('ao.' .. op, f)
  end
end

function I.sandbox(bytes)
  local paths = dec(bytes, 1)
  for pi = 1, #paths do
    local p = paths[pi]
    local path, value = p[1], p[2]
    local t = G
    for i = 1, #path - 1 do
      local nxt = rawget(t, path[i])
      if type(nxt) ~= 'table' then nxt = {}; rawset(t, path[i], nxt) end
      t = nxt
    end
    rawset(t, path[#path], value)
  end
end

function I.functions()
  local out = {}
  local ks, n = sortedkeys(G)
  for i = 1, n do local k = ks[i]; if type(rawget(G, k)) == 'function' then out[#out + 1] = k end end
  return encode_list(1, out)
end

-- ---------------------------------------------------------------- snapshots
-- Objects are numbered in a canonical walk from _G; builtins go by name;
-- Lua functions as bytecode (string.dump) with their upvalues (shared cells kept shared).
function I.snapshot()
  local ids, list, cells, celllist = {}, {}, {}, {}
  local out = {}
  local function ref(v)
    local t = type(v)
    if t ~= 'table' and t ~= 'function' then return nil end
    local id = ids[v]
    if id then return id end
    if t == 'function' and names[v] == nil and getinfo(v, 'S').what == 'C' then return nil end
    list[#list + 1] = v
    id = #list
    ids[v] = id
    return id
  end
  local function val(v)
    local t = type(v)
    if t == 'table' or t == 'function' then
      local id = ref(v)
      if id == nil then out[#out + 1] = 'n' else out[#out + 1] = spack('<BI4', 114, id) end
    elseif t == 'string' or t == 'number' or t == 'boolean' then enc(v, out, {})
    else out[#out + 1] = 'n' end
  end
  ref(G)
  local i = 0
  while i < #list do
    i = i + 1
    local v = list[i]
    local nm = names[v]
    if nm and not anchors[v] then
      out[#out + 1] = spack('<Bs4', 66, nm)
    elseif type(v) == 'table' then
      out[#out + 1] = nm and spack('<Bs4', 65, nm) or 'X'
      val(dgetmeta(v))
      local ks, n = sortedkeys(v)
      local m = 0
      for j = 1, n do local k = ks[j]; local kt = type(k); if kt ~= 'thread' and kt ~= 'userdata' then m = m + 1 end end
      out[#out + 1] = spack('<I4', m)
      for j = 1, n do
        local k = ks[j]
        local kt = type(k)
        if kt ~= 'thread' and kt ~= 'userdata' then val(k); val(rawget(v, k)) end
      end
    else
      local code = dump(v, false)
      local nups = getinfo(v, 'u').nups
      out[#out + 1] = spack('<Bs4I4', 76, code, nups)
      for u = 1, nups do
        local uid = upvalueid(v, u)
        local cell = cells[uid]
        if cell == nil then
          celllist[#celllist + 1] = uid
          cell = #celllist
          cells[uid] = cell
          local _, uv = getupvalue(v, u)
          out[#out + 1] = spack('<BI4', 78, cell)
          val(uv)
        else
          out[#out + 1] = spack('<BI4', 79, cell)
        end
      end
    end
  end
  return spack('<I4', #list) .. concat(out)
end

function I.restore(s)
  local count, pos = sunpack('<I4', s, 1)
  local objs = {}
  local fixups = {}
  local cellowner = {}
  local function val()
    local tag = sbyte(s, pos)
    if tag == 114 then
      local id; id, pos = sunpack('<I4', s, pos + 1)
      return { ref = id }
    end
    local v; v, pos = dec(s, pos)
    return v
  end
  local entries = {}
  for id = 1, count do
    local tag = sbyte(s, pos); pos = pos + 1
    if tag == 66 then
      local nm; nm, pos = sunpack('<s4', s, pos)
      objs[id] = byname[nm] or error('snapshot names an unknown builtin: ' .. nm, 0)
    elseif tag == 65 or tag == 88 then
      local t
      if tag == 65 then
        local nm; nm, pos = sunpack('<s4', s, pos)
        t = byname[nm] or error('snapshot names an unknown table: ' .. nm, 0)
        for k in rawnext, t do rawset(t, k, nil) end
      else t = {} end
      objs[id] = t
      local mt = val()
      local n; n, pos = sunpack('<I4', s, pos)
      local kv = {}
      for j = 1, n do kv[2 * j - 1] = val(); kv[2 * j] = val() end
      entries[#entries + 1] = { t, mt, kv, n }
    elseif tag == 76 then
      local code, nups; code, nups, pos = sunpack('<s4I4', s, pos)
      local f = rawload(code, '=snapshot', 'b') or error('snapshot holds a function this VM cannot load', 0)
      objs[id] = f
      for u = 1, nups do
        local ut = sbyte(s, pos)
        local cell; cell, pos = sunpack('<I4', s, pos + 1)
        if ut == 78 then
          cellowner[cell] = { f, u }
          fixups[#fixups + 1] = { f, u, val() }
        else
          local o = cellowner[cell]
          fixups[#fixups + 1] = { f, u, nil, o }
        end
      end
    else error('bad snapshot', 0) end
  end
  local function get(v) if type(v) == 'table' and v.ref then return objs[v.ref] end return v end
  for ei = 1, #entries do
    local e = entries[ei]
    local t, mt, kv, n = e[1], e[2], e[3], e[4]
    for j = 1, n do
      local k = get(kv[2 * j - 1])
      if k ~= nil then rawset(t, k, get(kv[2 * j])) end
    end
    if mt ~= nil then dsetmeta(t, get(mt)) end
  end
  for fi = 1, #fixups do
    local fx = fixups[fi]
    if fx[4] then upvaluejoin(fx[1], fx[2], fx[4][1], fx[4][2])
    else setupvalue(fx[1], fx[2], get(fx[3])) end
  end
end

function I.encode(n, ...) return encode_list(n, ...) end
-- The byte encoding's view of values, for tests of the C API path (src/lua/marshal.ts).
function I.reencode(s) local a, _, n = dec(s, 1); return encode_list(n, unpack(a, 1, n)) end
function I.encode_of(fname) return encode_list(1, G[fname]()) end
return I
`
