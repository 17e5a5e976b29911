/**
 * src/lua/marshal.ts (values through Lua's C API) against the byte encoding
 * it replaced on the hot path (src/lua/codec.ts + the prelude's dec/enc):
 * the same values both ways, plus what only the C API path does — identity
 * of unchanged tables, interned strings, typed errors.
 */
import { describe, expect, it, beforeAll } from 'vitest'
import fc from 'fast-check'
import { Atom, Float, Link, message, emptyMessage, type Message, type Value } from '../../../src/core/value.ts'
import { LuaVM, DEFAULT_LIMITS, type CallEnv } from '../../../src/lua/vm.ts'
import { arbValue, expectSame } from '../store-contract.ts'

const env = (host: CallEnv['host'] = async () => []): CallEnv => ({ seed: [1n, 2n], now: 0n, limits: DEFAULT_LIMITS, host })

async function values(vm: LuaVM, fname: string, args: Value[], host?: CallEnv['host']): Promise<Value[]> {
  const r = await vm.call(fname, args, env(host))
  if (!r.ok) throw r.error
  return r.values
}

const arbText = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 80 }), fc.string({ unit: 'binary', minLength: 8, maxLength: 300 }))
const arbAny: fc.Arbitrary<Value> = fc.letrec<{ v: Value }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    arbValue,
    arbText,
    fc.constant(new Link('OAbBb5bvbUYh3BqcHCEBwWZOsVjcC8kbnIoydUcE_fI')),
    fc.array(tie('v'), { minLength: 1, maxLength: 4 }).map((l) => message(l.map((x, i) => [String(i + 1), x] as const))),
    fc.dictionary(arbText, tie('v'), { maxKeys: 5 }).map((o) => message(o)),
  ),
})).v

describe('lua marshal: the C API path converts as the byte encoding did', () => {
  let vm: LuaVM
  beforeAll(async () => {
    vm = await LuaVM.create()
    vm.loadModule('function echo(...) return ... end', 'echo')
  })

  it('any value, JS → Lua → JS (fast-check, one VM, so the string cache is hit too)', async () => {
    await fc.assert(fc.asyncProperty(fc.array(arbAny, { minLength: 1, maxLength: 3 }), async (vs) => {
      const want = vm.legacyRoundTrip(vs)
      const got = await values(vm, 'echo', vs)
      expectSame(got, want)
      // Twice: the second time every string of 8 bytes or more is an interned hit.
      expectSame(await values(vm, 'echo', vs), want)
    }), { numRuns: 400 })
  })

  it('tables the script changes in place read back as changed (the untouched-table shortcut misses nothing)', async () => {
    // `mutate` changes the pushed value at random places, then returns it and a
    // fresh deep copy; the copy is read entry by entry, so it is the oracle.
    vm.loadModule(`
      local function keys(t)
        local ks = {}
        for k in pairs(t) do ks[#ks + 1] = k end
        table.sort(ks, function(a, b) return tostring(a) < tostring(b) end)
        return ks
      end
      local function copy(v)
        if type(v) ~= 'table' then return v end
        local c = {}
        for k, x in pairs(v) do c[k] = copy(x) end
        return c
      end
      function mutate(v, seed, nops)
        local r = seed
        local function rnd(n) r = (r * 1103515245 + 12345) % 2147483648; return r % n end
        for i = 1, nops do
          local t = v
          while type(t) == 'table' do
            local ks = keys(t)
            if #ks == 0 or rnd(3) == 0 then break end
            local k = ks[rnd(#ks) + 1]
            if type(t[k]) ~= 'table' then break end
            t = t[k]
          end
          if type(t) == 'table' then
            local ks = keys(t)
            local k = #ks > 0 and ks[rnd(#ks) + 1] or 'new'
            local op = rnd(7)
            if op == 0 then t[k] = 'changed ' .. i
            elseif op == 1 then t[k] = nil
            elseif op == 2 then t['added ' .. i] = i
            elseif op == 3 then t[#t + 1] = 'appended'
            elseif op == 4 then t[k] = t[k]; local _ = #t
            elseif op == 5 then t[k] = {nested = i}
            else table.remove(t) end
          end
        end
        return v, copy(v)
      end
      -- The host reads v first (as ao.* arguments are read), then it changes.
      function read_then_mutate(v, seed, nops)
        ao.resolve(v)
        return mutate(v, seed, nops)
      end
    `, 'mutate')
    vm.installLibrary(['resolve'])
    await fc.assert(fc.asyncProperty(arbAny, fc.integer({ min: 1, max: 2 ** 30 }), fc.integer({ min: 0, max: 3 }), async (v, seed, nops) => {
      const [got, oracle] = await values(vm, 'mutate', [v, BigInt(seed), BigInt(nops)])
      expectSame(got!, oracle!)
    }), { numRuns: 600 })
  })

  it('a table read once and then changed reads back as changed (what it read as before is not answered again)', async () => {
    await fc.assert(fc.asyncProperty(arbAny, fc.integer({ min: 1, max: 2 ** 30 }), fc.integer({ min: 0, max: 3 }), async (v, seed, nops) => {
      let first: Value | undefined
      const [got, oracle] = await values(vm, 'read_then_mutate', [v, BigInt(seed), BigInt(nops)], async (_op, args) => { first = args[0]; return ['ok'] })
      expectSame(first!, vm.legacyRoundTrip([v])[0]!)
      expectSame(got!, oracle!)
    }), { numRuns: 600 })
  })

  it('a table that does not read back as the value pushed (a numbered message comes back a list) is walked once while it stays untouched', async () => {
    const signed = message({ commitments: message({ c: message({ committed: message({ 1: 'a', 2: 'b' }), type: 'rsa-pss-sha512' }) }), x: 1n })
    const seen: Value[] = []
    vm.loadModule('function twice(m) ao.resolve(m); ao.resolve(m); return m end', 'twice')
    const [back] = await values(vm, 'twice', [signed], async (_op, args) => { seen.push(args[0]!); return ['ok'] })
    expect(seen).toHaveLength(2)
    expect(seen[1]).toBe(seen[0])
    expect(back).toBe(seen[0])
    expect(((seen[0] as Message)['commitments'] as Message)['c']).toMatchObject({ committed: ['a', 'b'] })
  })

  it('a value pushed again is copied inside the VM, and the copy is what a fresh push builds (same pairs order, same values)', async () => {
    // `keep` builds the tables and holds them; `poke` may change what it holds;
    // `order` lists every key path and value in pairs() order. The oracle is the same
    // value as a distinct JS object, which is pushed afresh.
    vm.loadModule(`
      function keep(v) Kept = v; return true end
      function poke(seed)
        if type(Kept) ~= 'table' then return end
        if seed % 3 == 0 then Kept.poked = seed elseif seed % 3 == 1 then for k in pairs(Kept) do Kept[k] = nil; break end end
      end
      function order(v)
        local out = {}
        local function walk(t, p)
          for k, x in pairs(t) do
            -- Values as the script sees them (the twin read back would hide a wrong copy).
            if type(x) == 'table' then out[#out + 1] = p .. tostring(k); walk(x, p .. tostring(k) .. '/')
            else out[#out + 1] = p .. tostring(k) .. '=' .. type(x) .. ':' .. tostring(x) end
          end
        end
        if type(v) == 'table' then walk(v, '') end
        return out, v
      end
    `, 'order')
    const fresh = (v: Value): Value => Array.isArray(v) ? v.map(fresh)
      : (v !== null && typeof v === 'object' && !(v instanceof Uint8Array) && !(v instanceof Float) && !(v instanceof Atom) && !(v instanceof Link))
        ? message(Object.entries(v as Message).map(([k, x]) => [k, fresh(x)] as const)) : v
    const long = fc.array(arbText, { minLength: 16, maxLength: 40 })
    await fc.assert(fc.asyncProperty(fc.oneof(arbAny, long), fc.array(arbText, { maxLength: 3 }), fc.integer({ min: 0, max: 5 }), fc.boolean(),
      async (v, more, seed, atStart) => {
        await values(vm, 'keep', [v])
        if (seed < 3) await values(vm, 'poke', [BigInt(seed)])
        // The same object again (copied), or a list that extends it at either
        // end (copied, then the new items pushed).
        const again = Array.isArray(v) && more.length > 0 ? (atStart ? [...more, ...v] : [...v, ...more]) : v
        const [gotOrder, got] = await values(vm, 'order', [again])
        const [wantOrder, want] = await values(vm, 'order', [fresh(again)])
        expect(gotOrder).toEqual(wantOrder)
        expectSame(got!, want!)
      }), { numRuns: 300 })
  })

  it('a JS value changed after it was pushed is neither copied nor answered as it was', async () => {
    vm.loadModule(`
      function keep(v) Kept = v; return true end
      function show(v) local out = {} for k, x in pairs(v) do out[#out + 1] = tostring(k) .. '=' .. tostring(type(x) == 'table' and #x or x) end table.sort(out) return out, v end
      function through_host(v) local _, r = ao.resolve('other'); return v end
    `, 'mutable')
    vm.installLibrary(['resolve'])
    const list = Array.from({ length: 20 }, (_, i) => `item ${i}`)
    const v = message({ a: 'one', list })
    await values(vm, 'keep', [v])
    // Changed in JS between two calls: the second push must build it again.
    v['a'] = 'two'
    list.push('item 20')
    const [seen, back] = await values(vm, 'show', [v])
    expect(seen).toEqual(['a=two', 'list=21'])
    expectSame(back!, message({ a: 'two', list: [...list] }))
    // Changed in JS while the script runs (by a host call): the untouched table is read, not the changed object.
    const w = message({ k: 'before', n: 1n })
    const [r] = await values(vm, 'through_host', [w], async () => { w['k'] = 'after'; return ['ok', 'x'] })
    expectSame(r!, message({ k: 'before', n: 1n }))
  })

  it('tables a script builds: mixed keys, float and boolean keys, holes, functions, nesting', async () => {
    const cases = [
      '{}', '{1, 2, 3}', '{[1] = "a", [3] = "c"}', '{"a", nil, "c"}', '{x = 1, [1] = "one", [2] = "two"}',
      '{[1.5] = "f", [2.0] = "two", [true] = "t", [false] = "f", zz = 1, a = 2}', '{[1] = "n", ["1"] = "s"}',
      '{f = function() end, co = coroutine.create(function() end), keep = "yes"}', '{function() end, "x"}',
      '{nested = {deeper = {1, {a = {}}}}, list = {{}, {1}}}', '{["\\xff\\xfe"] = "bad key", v = "\\xff"}',
      '{1.0, 2.5, -0.0, 1/0, -1/0, math.maxinteger, math.mininteger}', '{["é"] = 1, ["z"] = 2, ["𝄞"] = 3, ["\\u{FFFD}"] = 4}',
      'string.rep("long text ", 100)', '"short"', '42', '4.25', 'true', 'nil',
    ]
    for (const c of cases) {
      vm.loadModule(`function make() return ${c} end`, 'make')
      const want = vm.legacyResult('make')
      const [got] = await values(vm, 'make', [])
      expectSame(got, want)
    }
  })

  it('a leading U+FEFF crosses both ways as a character (a Lua string of its bytes, and back)', async () => {
    vm.loadModule("function bom() local s = '\\xEF\\xBB\\xBFhi' return s, #s end", 'bom')
    expect(await values(vm, 'bom', [])).toEqual(['\uFEFFhi', 5n])
    expect(await values(vm, 'echo', ['\uFEFFx', '\uFEFF' + 'y'.repeat(20)])).toEqual(['\uFEFFx', '\uFEFF' + 'y'.repeat(20)])
  })

  it('a table keyed 1..n, as integers or as their text, reads as a list (dev_lua:decode normalizes keys first)', async () => {
    vm.loadModule(`function keyed() return { [1] = 'a', ['2'] = 'b' }, { ['1'] = 'x' }, { ['01'] = 'y' }, { ['1'] = 'p', [3] = 'q' } end`, 'keyed')
    const want = [['a', 'b'], ['x'], message({ '01': 'y' }), message({ 1: 'p', 3: 'q' })]
    expect(await values(vm, 'keyed', [])).toEqual(want)
    expect(vm.legacyResult('keyed')).toEqual(want[0])
  })

  it('keys come out in Lua order (numbers, booleans, strings by UTF-8 bytes)', async () => {
    vm.loadModule('function make() return {b = 1, a = 2, ["𝄞"] = 3, [""] = 4, ["\\u{E000}"] = 5} end', 'make')
    const [got] = await values(vm, 'make', [])
    expect(Object.keys(got as Message)).toEqual(['', 'a', 'b', '\u{E000}', '𝄞'])
  })
})

describe('lua marshal: identity and errors', () => {
  let vm: LuaVM
  beforeAll(async () => {
    vm = await LuaVM.create()
    vm.loadModule(`
      function echo(...) return ... end
      function bump(base) base.balance.x = base.balance.x + 1; return base end
      function same_after_touch(base) local v = base.balance.x; base.balance.x = 0; base.balance.x = v; return base end
      function cycle() local t = {}; t.self = t; return t end
      function deep() local t = {}; local c = t; for i = 1, 300 do c.n = {}; c = c.n end; return t end
      function via_host(base) local s, r = ao.resolve(base); return r end
    `, 'm')
    vm.installLibrary(['resolve'])
  })
  const state = () => message({ process: message({ module: 'x'.repeat(1000), type: 'Process' }), balance: message({ x: 1n }), list: ['a'.repeat(43), 'b'.repeat(43)] })

  it('runs on both fast paths in Node (raw exports, table memory)', () => {
    expect(vm.fastPaths).toEqual({ rawExports: true, tableMemory: true })
  })

  it('a table that comes back unchanged is the object that went in; a changed one is new, its unchanged parts kept', async () => {
    const s = state()
    const [same] = await values(vm, 'echo', [s])
    expect(same).toBe(s)
    const [bumped] = await values(vm, 'bump', [s]) as [Message]
    expect(bumped).not.toBe(s)
    expect(bumped['balance']).not.toBe(s['balance'])
    expect((bumped['balance'] as Message)['x']).toBe(2n)
    expect(bumped['process']).toBe(s['process'])
    expect(bumped['list']).toBe(s['list'])
    const [touched] = await values(vm, 'same_after_touch', [s])
    expect(touched).toBe(s)
  })

  it('a value the script replaced is read as replaced even where a new string lands at the old one\'s address', async () => {
    // The script frees the pushed string, then makes strings until one sits
    // where it was (found with %p) and puts that one in: the table's memory is
    // then byte for byte as built. The host keeps every string it pushed alive
    // for as long as it compares tables, so no string can land there.
    vm.loadModule(`
      local function dirty() local a1,a2,a3,a4,a5,a6,a7,a8,a9,a10,a11,a12,a13,a14,a15,a16 = 0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0 end
      function reuse(m, d)
        local old = string.format('%p', m.a)
        m.a = 1
        collectgarbage()
        local keep = {}
        for i = 1, 1000 do
          if d then dirty() end
          local s = string.format('z%04d', i)
          if string.format('%p', s) == old then m.a = s; return m, s end
          keep[i] = s
        end
        return m, m.a
      end
    `, 'reuse')
    for (const dirty of [false, true]) {
      const m = message({ a: 'abcde' })
      const [got, a] = await values(vm, 'reuse', [m, dirty]) as [Message, Value]
      expect(got['a'], `dirty=${dirty}`).toBe(a)
      expect(got).not.toBe(m)
    }
  })

  it('the same through the host: ao.* arguments and answers keep identity too', async () => {
    const s = state()
    let seen: Value | undefined
    const [r] = await values(vm, 'via_host', [s], async (_op, args) => { seen = args[0]; return ['ok', args[0]!] })
    expect(seen).toBe(s)
    expect(r).toBe(s)
  })

  it('a table that contains itself, or is nested too deep, is a script error, and the VM goes on', async () => {
    for (const f of ['cycle', 'deep']) {
      const r = await vm.call(f, [], env())
      expect(r.ok).toBe(false)
      if (!r.ok) expect(String(r.error.body)).toMatch(f === 'cycle' ? /contains itself/ : /nested more than 200/)
    }
    expect(await values(vm, 'echo', [1n])).toEqual([1n])
  })

  it('a state whose last call used its memory headroom can still be snapshotted (the host\'s work is not under the script\'s cap)', async () => {
    const small = await LuaVM.create()
    const limits = { instructions: 100_000_000, memory: 4 << 20 }
    small.loadModule("Keep = {}\nfunction grow(kb) Keep[#Keep + 1] = string.rep('x', kb * 1024 - 1) .. #Keep; return #Keep end", 'grow', limits)
    const r = await small.call('grow', [1900n], { ...env(), limits })
    expect(r.ok).toBe(true)
    expect(small.snapshot().length).toBeGreaterThan(1900 * 1024)
  })

  it('a host answer Lua cannot hold is raised in the script where ao.* was called, and the script goes on', async () => {
    vm.loadModule('function catch_deep(b) local ok, err = pcall(ao.resolve, b); return ok, err end', 'catch_deep')
    let deep: Value = 'bottom'
    for (let i = 0; i < 300; i++) deep = message({ n: deep })
    const r = await values(vm, 'catch_deep', [message({ a: 1n })], async () => ['ok', deep])
    expect(r[0]).toBe(false)
    expect(String(r[1])).toMatch(/ao\.resolve: its answer cannot be passed to Lua: .*nested more than 200/)
  })

  it('a JS value nested too deep is refused with BadInput before the script runs', async () => {
    let v: Value = 1n
    for (let i = 0; i < 250; i++) v = [v]
    await expect(vm.call('echo', [v], env())).rejects.toMatchObject({ name: 'LuaValueTooDeep' })
    expect(await values(vm, 'echo', ['still here'])).toEqual(['still here'])
  })

  it('the string cache starts over when full, and values stay right across the reset', async () => {
    const big = Array.from({ length: 60_000 }, (_, i) => `string-number-${i}`)
    for (let round = 0; round < 3; round++) {
      const part = big.map((s) => `${s}-${round}`)
      const [back] = await values(vm, 'echo', [part])
      expect(back).toEqual(part)
    }
    const [again] = await values(vm, 'echo', [message({ k: 'string-number-7-0', f: new Float(0.5), a: new Atom('ok'), e: emptyMessage() })])
    expectSame(again, message({ k: 'string-number-7-0', f: new Float(0.5), a: 'ok', e: [] }))
  })
})
