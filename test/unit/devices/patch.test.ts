/** patch@1.0 — HyperBEAM's dev_patch tests, plus the error cases. */
import { describe, it, expect, beforeAll } from 'vitest'
import { context, run, show, wallets } from './helpers.ts'
import { patchDevice, deepMerge } from '../../../src/devices/patch.ts'
import { message, type Message, type Value } from '../../../src/core/value.ts'
import { commitMessage } from '../../../src/codecs/commitments.ts'
import type { Wallet } from '../../../src/crypto/wallet.ts'

let w1: Wallet
beforeAll(async () => { [w1] = await wallets() })
const ctx = () => context({ extra: [patchDevice] })

function at(m: Value, path: string): Value | undefined {
  let cur: Value | undefined = m
  for (const p of path.split('/')) cur = cur !== undefined && typeof cur === 'object' && cur !== null && !Array.isArray(cur) ? (cur as Message)[p] : undefined
  return cur
}

const outbox = () => message({
  1: message({ method: 'PATCH', prices: message({ apple: 100n, banana: 200n }) }),
  2: message({ method: 'GET', prices: message({ apple: 1000n }) }),
})

describe('patch@1.0', () => {
  it('uninitialized_patch: PATCH messages of results/outbox merged at the root; the rest stays', async () => {
    const o = await run(message({
      device: 'patch@1.0', results: message({ outbox: outbox() }), 'other-message': 'other-value',
      'patch-to': '/', 'patch-from': '/results/outbox',
    }), 'compute', ctx())
    expect(o.status, show(o.value)).toBe('ok')
    const v = o.value as Message
    expect(at(v, 'prices/apple')).toBe(100n)
    expect(at(v, 'results/outbox/1')).toBeUndefined()
    expect(at(v, 'results/outbox/2/method')).toBe('GET')
    expect(v['other-message']).toBe('other-value')
  })

  it('patch_to_submessage: a committed PATCH message deep-merged at /state', async () => {
    const patch = await commitMessage(message({ method: 'PATCH', prices: message({ apple: 100n, banana: 200n }) }), { wallet: w1 })
    const o = await run(message({
      device: 'patch@1.0', results: message({ outbox: message({ 1: patch }) }),
      state: message({ prices: message({ apple: 1000n, cherry: 5n }) }),
      'patch-to': '/state', 'patch-from': '/results/outbox',
    }), 'patches', ctx())
    const v = o.value as Message
    expect(at(v, 'state/prices/apple')).toBe(100n)
    expect(at(v, 'state/prices/cherry')).toBe(5n)
    expect(at(v, 'state/commitments')).toBeUndefined()
    expect(at(v, 'state/method')).toBeUndefined()
  })

  it('all_mode: everything at the source moves; the source is removed', async () => {
    const o = await run(message({
      device: 'patch@1.0', input: message({ zones: outbox() }), state: message({ prices: message({ apple: 1000n }) }),
    }), message({ path: 'all', 'patch-to': '/state', 'patch-from': '/input/zones' }), ctx())
    const v = o.value as Message
    expect(at(v, 'state/1/prices/apple')).toBe(100n)
    expect(at(v, 'state/2/prices/apple')).toBe(1000n)
    expect(at(v, 'state/prices/apple')).toBe(1000n)
    expect(at(v, 'input/zones')).toBeUndefined()
  })

  it('req_prefix: the source read from the request; the answer is the patched request', async () => {
    const o = await run(message({ device: 'patch@1.0', state: message({ prices: message({ apple: 1000n }) }) }), message({
      path: 'all', 'patch-from': 'req:/results/outbox/1', 'patch-to': '/state',
      results: message({ outbox: message({ 1: message({ method: 'PATCH', prices: message({ apple: 100n, banana: 200n }) }) }) }),
    }), ctx())
    const v = o.value as Message
    expect(at(v, 'state/prices/apple')).toBe(100n)
    expect(at(v, 'state/prices/banana')).toBe(200n)
    expect(at(v, 'results/outbox/1')).toBeUndefined()
  })

  it('from/to keys and base: prefix; init, normalize, snapshot leave the base alone', async () => {
    const c = ctx()
    const base = message({ device: 'patch@1.0', src: message({ a: message({ device: 'patch@1.0', k: 'v' }) }), from: 'base:src', to: 'dst' })
    const o = (await run(base, 'compute', c)).value as Message
    expect(at(o, 'dst/k')).toBe('v')
    expect(at(o, 'dst/device')).toBe('patch@1.0')
    for (const k of ['init', 'normalize', 'snapshot']) expect(((await run(base, k, c)).value as Message)['src']).toEqual(base['src'])
  })

  it('a missing source is not_found; a source that is not a message is an error in patches mode', async () => {
    const c = ctx()
    expect((await run(message({ device: 'patch@1.0', 'patch-from': '/nothing' }), 'compute', c)).status).toBe('not_found')
    expect((await run(message({ device: 'patch@1.0', 'patch-from': '/s', s: 'text' }), 'compute', c)).status).toBe('error')
    // all mode moves a scalar.
    const all = (await run(message({ device: 'patch@1.0', s: 'text', 'patch-to': '/t' }), message({ path: 'all', 'patch-from': '/s' }), c)).value as Message
    expect(all['t']).toBe('text')
    expect(all['s']).toBeUndefined()
  })

  it('deepMerge merges messages and skips the keys set never sets', () => {
    const m = deepMerge(message({ a: message({ x: '1' }), path: 'p' }), message({ a: message({ y: '2' }), path: 'q', commitments: message({}) }))
    expect(m).toEqual(message({ a: message({ x: '1', y: '2' }), path: 'p' }))
  })
})
