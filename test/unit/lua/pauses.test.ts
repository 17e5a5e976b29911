/**
 * A long Lua call lets its thread serve others (src/lua/vm.ts installHooks):
 * the count hook suspends the call's coroutine every `pauseEveryMs`, and the
 * instruction count, hence where a limit falls, is the same with or without
 * pauses.
 */
import { describe, expect, it } from 'vitest'
import { LuaVM, DEFAULT_LIMITS, type CallEnv } from '../../../src/lua/vm.ts'
import type { Value } from '../../../src/core/value.ts'

const env = (instructions = DEFAULT_LIMITS.instructions): CallEnv =>
  ({ seed: [1n, 2n], now: 0n, limits: { ...DEFAULT_LIMITS, instructions }, host: async () => [] })

const SCRIPT = `
  function busy(n) local x = 0 for i = 1, n do x = x + i % 7 end return x end
  function spin() Count = 0 while true do Count = Count + 1 end end
  function count() return Count, os.clock() end
  function sorted(n)
    local t = {} for i = 1, 200 do t[i] = (i * 7919) % 200 end
    -- A comparator is called from C (table.sort): no pause can happen inside it.
    table.sort(t, function(a, b) local s = 0 for i = 1, n do s = s + i end return a < b end)
    return t[1], t[200]
  end
  function nested(n) local co = coroutine.create(function() return busy(n) end) local ok, v = coroutine.resume(co) return v end
`

async function vmWith(pauseEveryMs: number): Promise<LuaVM> {
  const vm = await LuaVM.create()
  vm.pauseEveryMs = pauseEveryMs
  vm.loadModule(SCRIPT, 'pauses')
  return vm
}

async function one(vm: LuaVM, f: string, args: Value[], e = env()): Promise<Value[]> {
  const r = await vm.call(f, args, e)
  if (!r.ok) throw r.error
  return r.values
}

/** Timer ticks seen while `p` runs. */
async function ticksDuring(p: Promise<unknown>): Promise<number> {
  let ticks = 0
  const timer = setInterval(() => { ticks++ }, 2)
  try { await p } finally { clearInterval(timer) }
  return ticks
}

describe('lua: long calls pause', () => {
  it('a long call lets timers run while it computes; with pauses off it holds the thread', async () => {
    const paused = await vmWith(5)
    const held = await vmWith(0)
    const n = 30_000_000n
    const withPauses = await ticksDuring(one(paused, 'busy', [n]))
    const without = await ticksDuring(one(held, 'busy', [n]))
    expect(withPauses).toBeGreaterThanOrEqual(3)
    expect(without).toBe(0)
    // The same answer either way.
    expect(await one(paused, 'busy', [1000n])).toEqual(await one(held, 'busy', [1000n]))
  })

  it('the instruction limit falls on the same instruction with or without pauses', async () => {
    const results: Value[][] = []
    for (const ms of [0, 1]) {
      const vm = await vmWith(ms)
      await expect(vm.call('spin', [], env(30_000_000))).rejects.toMatchObject({ name: 'LuaInstructionLimit' })
      results.push(await one(vm, 'count', []))
    }
    expect(results[1]).toEqual(results[0])
    expect(results[0]![0]).toBeGreaterThan(1_000_000n)
  })

  it('no pause inside a C call (a table.sort comparator), and none lost in coroutines the script made', async () => {
    const vm = await vmWith(1)
    expect(await one(vm, 'sorted', [20_000n])).toEqual([0n, 199n])
    const held = await vmWith(0)
    expect(await one(vm, 'nested', [5_000_000n])).toEqual(await one(held, 'nested', [5_000_000n]))
  })
})
