/**
 * What the host does on a Lua state outside a call (snapshot, the function
 * list, looking up the function to call, encoding an error) runs none of the
 * script's code unlimited: metamethods the script set (`__tostring`, `_G`'s
 * `__index`) either do not run there or run inside the call, under its limits.
 */
import { describe, expect, it } from 'vitest'
import { LuaVM, type CallEnv } from '../../../src/lua/vm.ts'

const limits = { instructions: 1_000_000, memory: 64 << 20 }
const env: CallEnv = { seed: [1n, 2n], now: 0n, limits, host: async () => [] }

describe('lua: the host runs no script code outside a call', () => {
  it('a snapshot and the function list sort table keys without their __tostring', async () => {
    const vm = await LuaVM.create()
    vm.loadModule(`
      local mt = { __tostring = function() Side = (Side or 0) + 1; return 'x' end }
      Keys = {}
      for i = 1, 4 do Keys[setmetatable({}, mt)] = i end
      setmetatable(_G, { __index = function() Side = (Side or 0) + 100 end })
      function side() return rawget(_G, 'Side') or 0 end`, 'm', limits)
    vm.snapshot()
    vm.functions()
    const r = await vm.call('side', [], env)
    expect(r.ok && r.values).toEqual([0n])
  })

  it('a missing function is looked up in the call: a looping _G.__index ends with LuaInstructionLimit', async () => {
    const vm = await LuaVM.create()
    vm.loadModule('setmetatable(_G, { __index = function() while true do end end })', 'm', limits)
    await expect(vm.call('nowhere', [], env)).rejects.toMatchObject({ name: 'LuaInstructionLimit' })
  })

  it('an error value whose __tostring loops is reported by address, and the call ends', async () => {
    const vm = await LuaVM.create()
    vm.loadModule(`function fail()
      local e = setmetatable({}, { __tostring = function() while true do end end })
      e.self = e
      error(e)
    end`, 'm', limits)
    const r = await vm.call('fail', [], env)
    expect(r.ok).toBe(false)
    expect(!r.ok && String(r.error.body)).toMatch(/^table: 0x[0-9a-f]+$/)
  })
})
