/**
 * lua@5.3a on wasmoon: HyperBEAM's dev_lua tests over test/test.lua, AOS
 * (hyper-aos.lua) evaluating Lua, determinism, limits, the sandbox, and
 * snapshot → normalize.
 */
import { describe, it, expect, beforeAll } from 'vitest'
import { commitMessage } from '../../../src/codecs/commitments.ts'
import { messageId } from '../../../src/core/id.ts'
import type { ResolveContext } from '../../../src/core/device.ts'
import type { Wallet } from '../../../src/crypto/wallet.ts'
import { readFileSync, mkdtempSync, rmSync, cpSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { FsStore } from '../../../src/store/fs.ts'
import { createNode } from '../../../src/node/node.ts'
import { flushResults } from '../../../src/devices/process.ts'
import { join } from 'node:path'
import { emptyMessage, isMessage, message, Float, type Message, type Value } from '../../../src/core/value.ts'
import { resolve } from '../../../src/core/ao.ts'
import { directGet } from '../../../src/core/resolver.ts'
import { stringifyTyped } from '../../../src/core/typed-json.ts'
import { LuaInstructionLimit, LuaMemoryLimit } from '../../../src/lua/vm.ts'
import { context, value, run, show, pub, wallets } from './helpers.ts'

const SHARED = process.env['AO_SHARED'] ?? join(import.meta.dirname, '../../../../shared')
const TEST_LUA = readFileSync(join(SHARED, 'hyperbeam-data/test/test.lua'), 'utf8')
const AOS_LUA = readFileSync(join(SHARED, 'hyperbeam-data/test/hyper-aos.lua'), 'utf8')
const DEV = 'lua@5.3a'

const lua = (src: string) => message({ 'content-type': 'application/lua', body: src })
const base = (extra: Record<string, Value> = {}, src: string = TEST_LUA): Message =>
  message({ device: DEV, module: lua(src), parameters: [], ...extra })

const at = (v: Value, path: string): Value | undefined => {
  let cur: Value | undefined = v
  // A list's items by their 1-based index, as HyperBEAM's paths reach them.
  for (const p of path.split('/')) cur = isMessage(cur) ? directGet(cur, p) : Array.isArray(cur) && /^[1-9][0-9]*$/.test(p) ? cur[Number(p) - 1] : undefined
  return cur
}

const withoutPriv = (v: Value): string => {
  if (!isMessage(v)) return stringifyTyped(v)
  const m = emptyMessage()
  for (const k of Object.keys(v)) if (k !== 'priv') m[k] = v[k]!
  return stringifyTyped(m)
}

describe('lua@5.3a: HyperBEAM dev_lua tests over test.lua', () => {
  it('simple invocation: assoctable/b is 2 (a Lua integer comes back as an integer)', async () => {
    const ctx = context()
    expect(await value(base(), 'assoctable/b', ctx)).toBe(2n)
    expect(await value(base(), 'ListTable', ctx)).toEqual([1n, 2n, 3n])
  })

  it('multiple modules: both are loaded, in order', async () => {
    const ctx = context()
    const b = message({
      device: DEV, parameters: [],
      module: [lua(TEST_LUA), lua('function test_second_script()\n  return 4\nend\n')],
    })
    expect(await value(b, 'assoctable/b', ctx)).toBe(2n)
    expect(await value(b, 'test_second_script', ctx)).toBe(4n)
  })

  it('modules by ID from the store', async () => {
    const ctx = context()
    const id = 'DosEHUAqhl_O5FH3vDqPlgGsG92Guxcm6nrwqnjsDKg'
    await ctx.store!.write(id, 'function by_id() return "loaded by id" end')
    expect(await value(message({ device: DEV, module: id, parameters: [] }), 'by_id', ctx)).toBe('loaded by id')
    const missing = await run(message({ device: DEV, module: 'x'.repeat(43), parameters: [] }), 'by_id', ctx)
    expect(missing.status).toBe('error')
  })

  it('error response: `return "error", msg` is an error with that body', async () => {
    const o = await resolve(base(), 'error_response', context())
    expect(o).toEqual({ status: 'error', value: 'Very bad, but Lua caught it.' })
  })

  it('a Lua error gives status 500 with the message and the Lua trace', async () => {
    const o = await resolve(base({}, 'function boom() local x = nil; return x.y end'), 'boom', context())
    expect(o.status).toBe('error')
    expect(at(o.value as Value, 'status')).toBe(500n)
    expect(String(at(o.value as Value, 'body'))).toMatch(/attempt to index a nil value/)
    expect(String(at(o.value as Value, 'trace'))).toMatch(/stack traceback/)
  })

  it('sandboxed failure: with sandbox = true, os.getenv is unusable', async () => {
    const o = await resolve(base({ sandbox: true }), 'sandboxed_fail', context())
    expect(o.status).toBe('error')
  })

  it('ao.resolve from Lua, and device-sandbox limits the devices it reaches', async () => {
    const ctx = context()
    expect(await value(base(), 'ao_resolve', ctx)).toBe('Hello, AO world!')
    const sandboxed = base({ 'device-sandbox': ['message@1.0'] })
    expect((await resolve(sandboxed, 'ao_relay', ctx)).status).toBe('error')
    expect((await resolve(sandboxed, 'ao_resolve', ctx)).status).toBe('ok')
  })

  it('ao.get, ao.set and ao.event', async () => {
    const src = `
      function lib()
        local m = ao.set({ a = 1 }, "b", 2)
        local v = ao.get("b", m)
        local m2 = ao.set(m, { c = "three" })
        return { v = v, c = ao.get("c", m2), e = ao.event("hello"), missing = ao.get("nope", m2) }
      end`
    const v = await value(base({}, src), 'lib', context())
    expect(at(v, 'v')).toBe(2n)
    expect(at(v, 'c')).toBe('three')
    expect(at(v, 'e')).toBe('ok')
    expect(at(v, 'missing')).toBe('not_found')
  })

  it('ao.* inside coroutines the script created (nested, wrap and resume), the script\'s own yields untouched', async () => {
    const src = `
      function lib()
        local log = {}
        local inner = coroutine.create(function(x)
          local got = ao.get("b", { b = x })
          local y = coroutine.yield(got * 10)
          return ao.set({ a = 1 }, "z", y + got).z
        end)
        local outer = coroutine.wrap(function()
          local ok1, first = coroutine.resume(inner, 4)
          log[#log + 1] = first
          local ok2, last = coroutine.resume(inner, 7)
          log[#log + 1] = last
          log[#log + 1] = coroutine.status(inner)
          return ao.get("k", { k = "deep" })
        end)
        local last = outer()
        log[#log + 1] = last
        return { log = log }
      end`
    const v = await value(base({}, src), 'lib', context())
    expect(at(v, 'log')).toEqual([40n, 11n, 'dead', 'deep'])
  })

  it('a non-compute key calls the function of that name with [base, request, {}]', async () => {
    const ctx = context()
    const b = message({ device: DEV, module: lua(TEST_LUA), 'test-value': 42n })
    const r1 = await value(b, 'hello', ctx)
    expect(at(r1, 'test-value')).toBe(42n)
    expect(at(r1, 'hello')).toBe('world')
    const r2 = await value(b, message({ path: 'hello', name: 'Alice' }), ctx)
    expect(at(r2, 'hello')).toBe('Alice')
  })

  it('a function returns a result, or a status and a result; none or three is a 500 (dev_lua:process_response has no other clause)', async () => {
    const ctx = context()
    const src = `function none() end
      function one() return 7 end
      function two() return "error", { why = "no" } end
      function three() return "ok", 1, 2 end`
    const b = message({ device: DEV, module: lua(src), parameters: [] })
    expect(await value(b, 'one', ctx)).toBe(7n)
    const two = await resolve(b, 'two', ctx)
    expect(two.status).toBe('error')
    expect(at(two.value as Message, 'why')).toBe('no')
    for (const f of ['none', 'three']) {
      const o = await resolve(b, f, ctx)
      expect(o.status, f).toBe('error')
      expect(at(o.value as Message, 'status'), f).toBe(500n)
      expect(String(at(o.value as Message, 'body')), f).toMatch(new RegExp(`${f} returned ${f === 'none' ? 0 : 3} values`))
    }
  })

  it('compute gives results/output/body = 42, and keys of the base are plain gets', async () => {
    const ctx = context()
    const b = message({ device: DEV, module: lua(TEST_LUA), 'test-value': 42n })
    const out = await value(b, 'compute', ctx)
    expect(at(out, 'results/output/body')).toBe(42n)
    // `test-value` is in the base: message@1.0 answers, Lua is not called.
    expect(await value(b, 'test-value', ctx)).toBe(42n)
  })

  it('functions lists the global functions; init keeps the state in priv', async () => {
    const ctx = context()
    const inited = await value(base(), 'init', ctx)
    const fns = await value(inited as Message, 'functions', ctx)
    expect(fns).toContain('compute')
    expect(fns).toContain('assoctable')
    expect(fns).not.toContain('dofile')
  })

  it('values keep their types both ways: integers, floats, binaries, booleans, lists, messages', async () => {
    const src = `
      function echo(b, r)
        return { i = r.i, f = r.f, bin = r.bin, t = r.t, l = r.l, m = r.m, it = math.type(r.i), ft = math.type(r.f),
                 big = r.big, empty = {}, nested = { { 1, 2.5 } } }
      end`
    const req = message({
      path: 'echo', i: 9007199254740993n, f: new Float(1.0), bin: new Uint8Array([0, 255, 1]), t: true,
      l: ['x', 2n], m: message({ k: 'v' }), big: 1n << 70n,
    })
    const v = await value(message({ device: DEV, module: lua(src) }), req, context())
    expect(at(v, 'i')).toBe(9007199254740993n)
    expect(at(v, 'it')).toBe('integer')
    expect(at(v, 'f')).toEqual(new Float(1.0))
    expect(at(v, 'ft')).toBe('float')
    expect(at(v, 'bin')).toEqual(new Uint8Array([0, 255, 1]))
    expect(at(v, 't')).toBe(true)
    expect(at(v, 'l')).toEqual(['x', 2n])
    expect(at(v, 'm/k')).toBe('v')
    expect(at(v, 'big')).toBe((1n << 70n).toString())
    expect(at(v, 'empty')).toEqual([])
    expect(at(v, 'nested')).toEqual([[1n, new Float(2.5)]])
  })
})

describe('lua@5.3a: determinism', () => {
  const src = `
    function run(b, r)
      local t = {}
      for i = 1, 50 do t["key" .. i] = i end
      t[3] = "three"; t[1.5] = "x"; t[true] = "yes"
      local order = {}
      for k in pairs(t) do order[#order + 1] = tostring(k) end
      local walked, k = {}, next(t)
      while k ~= nil do walked[#walked + 1] = tostring(k); k = next(t, k) end
      return { order = table.concat(order, ","), walked = table.concat(walked, ","), first = tostring(next(t)), empty = next({}) == nil, r1 = math.random(1, 1000000), r2 = math.random(),
               now = os.time(), date = os.date("%Y-%m-%d %H:%M:%S"), clock = os.clock(),
               t2020 = os.time({ year = 2020, month = 1, day = 1, hour = 0 }) }
    end`
  const req = message({ path: 'run', timestamp: 1_700_000_000_123n, slot: 7n })

  it('the same call gives the same bytes on fresh VMs; pairs and next go numbers, booleans, strings', async () => {
    const ctx = context()
    const b = message({ device: DEV, module: lua(src) })
    const a1 = await value(b, req, ctx)
    const a2 = await value(b, req, ctx)
    expect(withoutPriv(a1)).toBe(withoutPriv(a2))
    const order = String(at(a1, 'order')).split(',')
    expect(order.slice(0, 3)).toEqual(['1.5', '3', 'true'])
    expect(order.slice(3)).toEqual(Array.from({ length: 50 }, (_, i) => 'key' + (i + 1)).sort())
    // next walks the same order (it is a global scripts reach too).
    expect(at(a1, 'walked')).toBe(at(a1, 'order'))
    expect(at(a1, 'first')).toBe('1.5')
    expect(at(a1, 'empty')).toBe(true)
    expect(at(a1, 'now')).toBe(1_700_000_000n)
    expect(at(a1, 'date')).toBe('2023-11-14 22:13:20')
    expect(at(a1, 't2020')).toBe(1577836800n)
    // Another request seeds math.random differently.
    const a3 = await value(b, message({ path: 'run', timestamp: 1_700_000_000_123n, slot: 8n }), ctx)
    expect(at(a3, 'r1')).not.toEqual(at(a1, 'r1'))
  })

  it('snapshots of the same history are the same bytes', async () => {
    const ctx = context()
    const b = message({ device: DEV, module: lua(AOS_LUA) })
    const s1 = await value(await value(b, 'init', ctx) as Message, 'snapshot', ctx)
    const s2 = await value(await value(b, 'init', ctx) as Message, 'snapshot', ctx)
    expect(at(s1, 'body')).toBeInstanceOf(Uint8Array)
    expect(Buffer.compare(at(s1, 'body') as Uint8Array, at(s2, 'body') as Uint8Array)).toBe(0)
  })
})

describe('lua@5.3a: limits and sandbox', () => {
  const src = `
    function spin() while true do end end
    function sneaky() while true do pcall(function() while true do end end) end end
    function co_spin() local c = coroutine.wrap(function() while true do end end); c() end
    -- A coroutine made while the module loads, resumed in a call.
    Early = coroutine.create(function() while true do end end)
    function early_spin() coroutine.resume(Early) end
    -- Many coroutines, each too short for one step of the count hook.
    function many_short()
      local body = function() local s = 0 for j = 1, 300 do s = s + 1 end end
      while true do coroutine.wrap(body)() end
    end
    function bomb() local t = {} for i = 1, 1e9 do t[i] = string.rep("x", 1000) .. i end end
    function fine() return "still here" end
    function env()
      return { io = type(io), execute = type(os.execute), exit = type(os.exit), dofile = type(dofile),
               loadfile = type(loadfile), dump = type(string.dump), debug_getinfo = type(debug.getinfo),
               getenv = tostring(os.getenv("HOME")) }
    end
    function bytecode()
      local f, err = load("\\27Lua\\84\\0", "x", "b")
      return tostring(f) .. ": " .. tostring(err)
    end
    function text_load() return load("return 1 + 1")() end`

  it('a runaway loop ends with LuaInstructionLimit, even under pcall, in a coroutine (made in the call or while loading), or spread over short coroutines; the node still answers', async () => {
    const ctx = context({ node: message({ lua_max_instructions: 2_000_000n }) })
    const b = message({ device: DEV, module: lua(src), parameters: [] })
    for (const f of ['spin', 'sneaky', 'co_spin', 'early_spin', 'many_short']) {
      await expect(resolve(b, f, ctx), f).rejects.toBeInstanceOf(LuaInstructionLimit)
    }
    expect(await value(b, 'fine', ctx)).toBe('still here')
    expect(await value(message({ hello: 'world' }), 'hello', ctx)).toBe('world')
    // A module that never finishes loading, itself or in a coroutine it resumes.
    for (const src of ['while true do end', 'coroutine.resume(coroutine.create(function() while true do end end))']) {
      await expect(resolve(message({ device: DEV, module: lua(src), parameters: [] }), 'init', ctx), src).rejects.toBeInstanceOf(LuaInstructionLimit)
    }
  })

  it('a memory bomb ends with LuaMemoryLimit', async () => {
    const ctx = context({ node: message({ lua_max_memory: 16_000_000n }) })
    const b = message({ device: DEV, module: lua(src), parameters: [] })
    await expect(resolve(b, 'bomb', ctx)).rejects.toBeInstanceOf(LuaMemoryLimit)
    expect(await value(b, 'fine', ctx)).toBe('still here')
  })

  it('no io, no os.execute/exit, no files, no bytecode; text load works', async () => {
    const ctx = context()
    const b = message({ device: DEV, module: lua(src), parameters: [] })
    const e = await value(b, 'env', ctx)
    expect(show(pub(e))).toBe(show(message({
      debug_getinfo: 'nil', dofile: 'nil', dump: 'nil', execute: 'nil', exit: 'nil', getenv: 'nil', io: 'nil', loadfile: 'nil',
    })))
    expect(await value(b, 'bytecode', ctx)).toMatch(/^nil: .*binary chunk/)
    expect(await value(b, 'text_load', ctx)).toBe(2n)
  })
})

describe('lua@5.3a: snapshot and normalize', () => {
  it('a restored state continues where the snapshot was taken, closures and upvalues included', async () => {
    const ctx = context()
    const src = `
      Count = 0
      local hidden = 100
      local function bump() hidden = hidden + 1; return hidden end
      Handlers = { list = { { name = "a", fn = bump } } }
      setmetatable(Handlers, { __index = function(t, k) return "meta:" .. k end })
      function compute(b, r)
        Count = Count + 1
        b.results = { count = Count, hidden = Handlers.list[1].fn(), meta = Handlers.missing }
        return b
      end`
    const b = message({ device: DEV, module: lua(src) })
    const s1 = await value(b, 'compute', ctx) as Message
    const s2 = await value(s1, 'compute', ctx) as Message
    expect(at(s2, 'results/count')).toBe(2n)
    const snap = await value(s2, 'snapshot', ctx)
    // A message without priv/state: normalize restores from snapshot/body.
    const cold = message({ device: DEV, module: lua(src), snapshot: snap as Message })
    const restored = await value(cold, 'normalize', ctx) as Message
    // As process@1.0 does after normalize: the snapshot key goes (a key of the base would be a plain get).
    delete restored['snapshot']
    const s3 = await value(restored, 'compute', ctx) as Message
    expect(at(s3, 'results/count')).toBe(3n)
    expect(at(s3, 'results/hidden')).toBe(103n)
    expect(at(s3, 'results/meta')).toBe('meta:missing')
    // The uninterrupted run gives the same result.
    const s3b = await value(s2, 'compute', ctx) as Message
    expect(withoutPriv(at(s3b, 'results')!)).toBe(withoutPriv(at(s3, 'results')!))
    // And the same snapshot bytes afterwards.
    const a = at(await value(s3, 'snapshot', ctx), 'body') as Uint8Array
    const c = at(await value(s3b, 'snapshot', ctx), 'body') as Uint8Array
    expect(Buffer.compare(a, c)).toBe(0)
  })

  it('two computes started on one state at once: each runs from that state (the second from its snapshot), or is refused, never on a VM the other moved on', async () => {
    const ctx = context()
    const src = 'Count = 0\nfunction bump() Count = Count + 1; return Count end'
    const s0 = await value(message({ device: DEV, module: lua(src), parameters: [] }), 'init', ctx) as Message
    const withSnap = Object.assign(emptyMessage(), s0, { snapshot: await value(s0, 'snapshot', ctx) })
    const bare = await Promise.allSettled([resolve(s0, 'bump', ctx), resolve(s0, 'bump', ctx)])
    expect(bare[0]).toMatchObject({ status: 'fulfilled', value: { status: 'ok', value: 1n } })
    expect(bare[1]).toMatchObject({ status: 'rejected', reason: { name: 'LuaStateUnavailable' } })
    // With the state's snapshot at hand, the second starts from it: both see Count = 0.
    const both = await Promise.all([resolve(withSnap, 'bump', ctx), resolve(withSnap, 'bump', ctx)])
    expect(both.map((o) => [o.status, o.value])).toEqual([['ok', 1n], ['ok', 1n]])
  })

  it('normalize with a device-key reads snapshot/<key>/body; no snapshot is an error', async () => {
    const ctx = context()
    const b = message({ device: DEV, module: lua('N = 41 function get() N = N + 1 return N end'), parameters: [] })
    const inited = await value(b, 'init', ctx) as Message
    const snap = await value(inited, 'snapshot', ctx) as Message
    const cold = message({ device: DEV, 'device-key': '2', snapshot: message({ '2': snap }), parameters: [] })
    const restored = await value(cold, 'normalize', ctx) as Message
    expect(await value(restored, 'get', ctx)).toBe(42n)
    await expect(resolve(message({ device: DEV, parameters: [] }), 'normalize', ctx)).rejects.toThrow(/no_lua_state_snapshot_found/)
  })
})

describe('lua@5.3a: hyper-aos.lua', () => {
  const OWNER = 'x'.repeat(43)
  const commitments = (who: string) => message({
    [('c'.repeat(43))]: message({ type: 'rsa-pss-sha512', alg: 'rsa-pss-sha512', committer: who, 'commitment-device': 'httpsig@1.0' }),
  })
  const processMsg = message({
    type: 'Process', authority: [OWNER], commitments: commitments(OWNER),
  })
  const assignment = (slot: bigint, body: Message) => message({
    path: 'compute', slot, 'block-timestamp': 1_700_000_000n, timestamp: 1_700_000_000_000n, body,
  })
  const evalMsg = (code: string, who = OWNER) => message({
    type: 'Message', action: 'Eval', commitments: commitments(who),
    body: message({ 'content-type': 'application/lua', body: code }),
  })

  it('evaluates Lua from its owner and adds handlers, as AOS does', async () => {
    const ctx = context()
    let state = message({ device: DEV, module: lua(AOS_LUA), process: processMsg })
    const code = `
      Count = 0
      function add()
        Send({Target = 'Foo', Data = 'Bar' });
        Count = Count + 1
      end
      add()
      return Count`
    state = await value(state, assignment(0n, evalMsg(code)), ctx) as Message
    expect(at(state, 'results/output/data')).toBe('1')
    expect(at(state, 'results/output/prompt')).toBe('aos> ')
    expect(at(state, 'results/outbox/1/target')).toBe('Foo')
    expect(at(state, 'results/outbox/1/data')).toBe('Bar')

    // A handler added by Eval answers a later message.
    const add = `Handlers.add("ping", function(m) return m.body.action == "Ping" end, function(m) print("pong " .. m.body.n) end)`
    state = await value(state, assignment(1n, evalMsg(add)), ctx) as Message
    const ping = message({ type: 'Message', action: 'Ping', n: '7', commitments: commitments(OWNER) })
    state = await value(state, assignment(2n, ping), ctx) as Message
    expect(String(at(state, 'results/output/data'))).toContain('pong 7')

    // Eval of an expression returns its value; state persists across messages.
    state = await value(state, assignment(3n, evalMsg('Count + 41')), ctx) as Message
    expect(at(state, 'results/output/data')).toBe('42')

    // After snapshot → normalize, the handler and globals are still there.
    const snap = await value(state, 'snapshot', ctx) as Message
    let cold = message({ device: DEV, module: lua(AOS_LUA), process: processMsg, snapshot: snap })
    cold = await value(cold, 'normalize', ctx) as Message
    delete cold['snapshot']
    cold = await value(cold, assignment(4n, ping), ctx) as Message
    expect(String(at(cold, 'results/output/data'))).toContain('pong 7')
    cold = await value(cold, assignment(5n, evalMsg('Count + 41')), ctx) as Message
    expect(at(cold, 'results/output/data')).toBe('42')
  })

  it('messages from someone not trusted are refused', async () => {
    const ctx = context()
    const state = message({ device: DEV, module: lua(AOS_LUA), process: processMsg })
    const msg = evalMsg('1 + 1', 'y'.repeat(43))
    msg['from-process'] = '1234'
    const out = await value(state, assignment(0n, msg), ctx)
    expect(at(out, 'results/output/data')).toBe('Message is not trusted.')
  })
})

describe('lua@5.3a as the execution device of process@1.0', () => {
  let w1: Wallet
  beforeAll(async () => { [w1] = await wallets() })

  async function spawn(ctx: ResolveContext, src: string, extra: Record<string, Value> = {}): Promise<{ proc: Message; pid: string }> {
    const proc = await commitMessage(message({
      device: 'process@1.0', type: 'Process', 'scheduler-device': 'scheduler@1.0', 'execution-device': DEV,
      scheduler: w1.address, authority: [w1.address], module: lua(src), ...extra,
    }), { wallet: w1 })
    const o = await run(message({ device: 'scheduler@1.0' }), message({ path: 'schedule', method: 'POST', body: proc }), ctx)
    expect(o.status, show(o.value)).toBe('ok')
    return { proc, pid: messageId(proc, 'signed') }
  }
  async function send(ctx: ResolveContext, proc: Message, body: Record<string, Value>): Promise<void> {
    const m = await commitMessage(message({ type: 'Message', target: messageId(proc, 'signed'), ...body }), { wallet: w1 })
    const o = await run(proc, message({ path: 'schedule', method: 'POST', body: m }), ctx)
    expect(o.status, show(o.value)).toBe('ok')
  }

  it('test.lua: compute gives results/output/body = 42', async () => {
    const ctx = context({ wallet: w1 })
    const { proc } = await spawn(ctx, TEST_LUA)
    await send(ctx, proc, { n: 1n })
    const o = await run(proc, message({ path: 'compute', slot: 1n }), ctx)
    expect(o.status, show(o.value)).toBe('ok')
    expect(at(o.value as Value, 'results/output/body')).toBe(42n)
  })

  it('hyper-aos.lua: an Eval from the owner gives data "1" and the aos prompt', async () => {
    const ctx = context({ wallet: w1 })
    const { proc } = await spawn(ctx, AOS_LUA)
    const code = "Count = 0\nfunction add()\n  Send({Target = 'Foo', Data = 'Bar' });\n  Count = Count + 1\nend\nadd()\nreturn Count"
    await send(ctx, proc, { action: 'Eval', body: lua(code) })
    await send(ctx, proc, { action: 'Eval', data: 'Count + 41' })
    const o1 = await run(proc, message({ path: 'compute', slot: 1n }), ctx)
    expect(o1.status, show(o1.value)).toBe('ok')
    expect(at(o1.value as Value, 'results/output/data')).toBe('1')
    expect(at(o1.value as Value, 'results/output/prompt')).toBe('aos> ')
    const o2 = await run(proc, message({ path: 'compute', slot: 2n }), ctx)
    expect(at(o2.value as Value, 'results/output/data')).toBe('42')
  })
  it('hyper-token.lua: transfers move balances', async () => {
    const ctx = context({ wallet: w1 })
    const TOKEN = readFileSync(join(SHARED, 'hyperbeam-data/scripts/hyper-token.lua'), 'utf8')
    const bob = 'b'.repeat(43)
    const { proc } = await spawn(ctx, TOKEN, { balance: message({ [w1.address]: 1000n }) })
    await send(ctx, proc, { action: 'Transfer', recipient: bob, quantity: 10n })
    await send(ctx, proc, { action: 'Transfer', recipient: bob, quantity: 5n })
    const o = await run(proc, message({ path: 'compute', slot: 2n }), ctx)
    expect(o.status, show(o.value)).toBe('ok')
    expect(at(o.value as Value, `balance/${w1.address}`)).toBe(985n)
    expect(at(o.value as Value, `balance/${bob}`)).toBe(15n)
  })
  it('hyper-aos.lua restarts from a stored snapshot (filesystem store, a new node) and continues', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ao-tab-lua-'))
    try {
      // A snapshot every slot (the default is every 100 slots).
      const every = message({ process_cache_frequency: 1n })
      const ctx1 = context({ wallet: w1, store: new FsStore(dir), node: every })
      const { proc } = await spawn(ctx1, AOS_LUA)
      await send(ctx1, proc, { action: 'Eval', data: 'Count = 41' })
      await send(ctx1, proc, { action: 'Eval', data: 'Handlers.add("ping", function(m) return m.body.action == "Ping" end, function(m) print("pong") end)' })
      await send(ctx1, proc, { action: 'Ping' })
      await send(ctx1, proc, { action: 'Eval', data: 'Count + 1' })
      expect((await run(proc, message({ path: 'compute', slot: 2n }), ctx1)).status).toBe('ok')
      await flushResults(ctx1.store!)
      // A second node over the same directory: no live state, so it restores slot 2's snapshot.
      const ctx2 = context({ wallet: w1, store: new FsStore(dir), node: every })
      const o3 = await run(proc, message({ path: 'compute', slot: 3n }), ctx2)
      expect(o3.status, show(o3.value)).toBe('ok')
      expect(String(at(o3.value as Value, 'results/output/data'))).toContain('pong')
      const o4 = await run(proc, message({ path: 'compute', slot: 4n }), ctx2)
      expect(at(o4.value as Value, 'results/output/data')).toBe('42')
      // The uninterrupted node gives the same slot-4 result.
      const u4 = await run(proc, message({ path: 'compute', slot: 4n }), ctx1)
      expect(withoutPriv(at(u4.value as Value, 'results')!)).toBe(withoutPriv(at(o4.value as Value, 'results')!))
      // Both nodes write results behind: let them land before the directory goes.
      await flushResults(ctx1.store!)
      await flushResults(ctx2.store!)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('lua@5.3a: two nodes, same assignments', () => {
  it('a node replaying the same assignments from slot 0 gets the same results and the same snapshot bytes', async () => {
    const [w1] = await wallets()
    const dirA = mkdtempSync(join(tmpdir(), 'ao-tab-lua-a-'))
    const dirB = mkdtempSync(join(tmpdir(), 'ao-tab-lua-b-'))
    try {
      const ctxA = context({ wallet: w1, store: new FsStore(dirA) })
      const proc = await commitMessage(message({
        device: 'process@1.0', type: 'Process', 'scheduler-device': 'scheduler@1.0', 'execution-device': DEV,
        scheduler: w1.address, authority: [w1.address], module: lua(AOS_LUA),
      }), { wallet: w1 })
      expect((await run(message({ device: 'scheduler@1.0' }), message({ path: 'schedule', method: 'POST', body: proc }), ctxA)).status).toBe('ok')
      for (const data of ['T = {} for i = 1, 30 do T["k" .. i] = math.random(1000) end', 'local s = "" for k, v in pairs(T) do s = s .. k .. "=" .. v .. ";" end return s', 'os.time()']) {
        const m = await commitMessage(message({ type: 'Message', target: messageId(proc, 'signed'), action: 'Eval', data }), { wallet: w1 })
        expect((await run(proc, message({ path: 'schedule', method: 'POST', body: m }), ctxA)).status).toBe('ok')
      }
      const a = await run(proc, message({ path: 'compute', slot: 3n }), ctxA)
      expect(a.status, show(a.value)).toBe('ok')
      await flushResults(ctxA.store!)
      // Node B has the same assignments (copied) and nothing computed.
      expect(readdirSync(dirA).some((e) => e.startsWith('computed'))).toBe(true)
      cpSync(dirA, dirB, { recursive: true })
      for (const e of readdirSync(dirB)) if (e.startsWith('computed')) rmSync(join(dirB, e), { recursive: true, force: true })
      const ctxB = context({ wallet: w1, store: new FsStore(dirB) })
      const b = await run(proc, message({ path: 'compute', slot: 3n }), ctxB)
      expect(b.status, show(b.value)).toBe('ok')
      for (const slot of [1n, 2n, 3n]) {
        const ra = await run(proc, message({ path: 'compute', slot }), ctxA)
        const rb = await run(proc, message({ path: 'compute', slot }), ctxB)
        expect(withoutPriv(at(rb.value as Value, 'results')!)).toBe(withoutPriv(at(ra.value as Value, 'results')!))
      }
      expect(String(at(b.value as Value, 'results/output/data'))).not.toBe('')
      const sa = at(await value(a.value as Message, message({ path: 'snapshot' }), ctxA), 'body') as Uint8Array
      const sb = at(await value(b.value as Message, message({ path: 'snapshot' }), ctxB), 'body') as Uint8Array
      expect(sa.length).toBeGreaterThan(1000)
      expect(Buffer.compare(sa, sb)).toBe(0)
    } finally {
      rmSync(dirA, { recursive: true, force: true })
      rmSync(dirB, { recursive: true, force: true })
    }
  })
})

describe('lua@5.3a as an HTTP request hook (HyperBEAM lua_http_hook_test)', () => {
  it('a Lua `request` hook answers every request with "i like turtles"', async () => {
    const [w1] = await wallets()
    const node = await createNode({
      wallet: w1,
      config: message({ on: message({ request: message({ device: DEV, module: lua(TEST_LUA) }) }) }),
    })
    const r = await node.handle(new Request('http://127.0.0.1/hello?hello=world'))
    expect(r.status).toBe(200)
    expect(await r.text()).toContain('i like turtles')
  })
})
