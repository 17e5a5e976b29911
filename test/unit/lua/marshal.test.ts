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
