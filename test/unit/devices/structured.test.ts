/** structured@1.0 as a device: from/to against HyperBEAM's `ids` vectors, commit, verify, errors. */
import { describe, it, expect, beforeAll } from 'vitest'
import { Float, Link, message, type Message } from '../../../src/core/value.ts'
import { typed, str } from '../../vectors/oracle.ts'
import { messageId } from '../../../src/core/id.ts'
import { normalizeKey } from '../../../src/core/keys.ts'
import { commitMessage } from '../../../src/codecs/commitments.ts'
import type { Wallet } from '../../../src/crypto/wallet.ts'
import { context, pathValue, pub, run, thrown, value, vectors, wallets, withKeys } from './helpers.ts'

const DEV = 'structured@1.0'
let key1: Wallet
beforeAll(async () => { [key1] = await wallets() })

describe('structured@1.0', () => {
  it('from: every `ids` vector gives HyperBEAM\'s TABM (nested messages linked)', async () => {
    const ctx = context()
    let n = 0
    for (const c of await vectors('ids')) {
      const name = str(c.name)
      // A list cannot be a base (the resolver numbers it); priv is never part of a subject.
      if (name === 'top-level-list' || name === 'priv-excluded') continue
      const out = pub(await value(withKeys(typed(c.input), { device: DEV }), 'from', ctx))
      expect(out, name).toEqual(typed(c.tabm))
      n++
    }
    expect(n).toBe(38)
  })

  it('from: as a HyperPATH, and linked children are offloaded to the store', async () => {
    const ctx = context()
    expect(pub(await pathValue('/~structured@1.0&a=b&n+integer=3&f+float=1.5&s=t/from', ctx))).toEqual(message({
      a: 'b', n: '3', s: 't', f: '1.50000000000000000000e+00', 'ao-types': 'f="float", n="integer"',
    }))
    const tabm = pub(await value(message({ device: DEV, a: '1', nested: message({ b: '2' }) }), 'from', ctx))
    expect(tabm['nested+link']).toBe('Q53TsRwUt9odC2c2Mv0lnGrRX46FfpWHagpceiGpYB4')
    expect(await ctx.store!.read('Q53TsRwUt9odC2c2Mv0lnGrRX46FfpWHagpceiGpYB4')).toEqual(message({ b: '2' }))
    // bundle: nested messages stay inline.
    const bundled = pub(await value(message({ device: DEV, nested: message({ b: '2', n: 3n }) }), message({ path: 'from', bundle: true }), ctx))
    expect(bundled).toEqual(message({ nested: message({ b: '2', n: '3', 'ao-types': 'n="integer"' }) }))
  })

  it('to: TABMs of the `ids` vectors decode back to the input (links for linked children)', async () => {
    const ctx = context()
    for (const c of await vectors('ids')) {
      const name = str(c.name)
      if (name === 'top-level-list' || name === 'priv-excluded') continue
      const tabm = typed(c.tabm)
      const out = pub(await value(withKeys(tabm, { device: DEV }), 'to', ctx))
      const expected = message(Object.entries(typed(c.input)).filter(([k]) => !normalizeKey(k).startsWith('priv')).map(([k, v]) => [normalizeKey(k), v] as const))
      for (const k of Object.keys(tabm)) if (k.endsWith('+link')) expected[k.slice(0, -5)] = new Link(tabm[k] as string)
      expect(out, name).toEqual(expected)
    }
  })

  it('to: a `.="list"` TABM becomes a list; typed values pass through; a device key that is content stays', async () => {
    const ctx = context()
    const list = await value(message({ device: DEV, 1: 'x', 2: '2', 'ao-types': '.="list", 2="integer"' }), 'to', ctx)
    expect(list).toEqual(['x', 2n])
    const mixed = pub(await value(message({ device: DEV, n: 5n, f: new Float(1), s: 'x' }), 'to', ctx))
    expect(mixed).toEqual(message({ n: 5n, f: new Float(1), s: 'x' }))
    // A committed `device` key is content, not routing: it stays in the subject.
    const own = await commitMessage(message({ device: DEV, a: 'b' }), { wallet: key1 })
    expect(await value(own, 'verify', ctx)).toBe(true)
    expect(pub(await value(own, 'to', ctx))['device']).toBe(DEV)
  })

  it('commit: unsigned gives the HMAC commitment (ID = unsigned ID); signed uses the node wallet; verify checks them', async () => {
    const ctx = context({ wallet: key1 })
    const base = message({ device: DEV, a: 'b', num: 7n })
    const hmac = pub(await value(base, message({ path: 'commit', type: 'unsigned' }), ctx))
    expect(Object.keys(hmac['commitments'] as Message)).toEqual(['Jz4gKLl1U4hz7afgJSHfOkUcgcESB8wlNxvB4-Konhk'])
    expect('device' in hmac).toBe(false)
    const signed = pub(await value(base, 'commit', ctx))
    expect(Object.keys(signed['commitments'] as Message)).toHaveLength(2)
    expect(messageId(signed)).toBe('Jz4gKLl1U4hz7afgJSHfOkUcgcESB8wlNxvB4-Konhk')
    expect(await value(withKeys(signed, { device: DEV }), 'verify', ctx)).toBe(true)
    expect(await value(withKeys(signed, { device: DEV, a: 'changed' }), 'verify', ctx)).toBe(false)
    expect(await value(base, 'verify', ctx)).toBe(false)
  })

  it('errors: unknown and private keys are not_found; a bad typed value is a 400; signing without a wallet is a 401', async () => {
    const ctx = context()
    expect((await run(message({ device: DEV }), 'nope', ctx)).status).toBe('not_found')
    expect((await run(message({ device: DEV, priv: message({ a: '1' }) }), 'priv', ctx)).status).toBe('not_found')
    const bad = await thrown(run(message({ device: DEV, n: 'abc', 'ao-types': 'n="integer"' }), 'to', ctx))
    expect(bad.status).toBe(400)
    const nowallet = await thrown(run(message({ device: DEV, a: 'b' }), 'commit', ctx))
    expect(nowallet).toMatchObject({ name: 'Unauthorized', status: 401 })
    const badType = await thrown(run(message({ device: DEV, a: 'b' }), message({ path: 'commit', type: 'rsa-pss-sha256' }), ctx))
    expect(badType).toMatchObject({ name: 'UnsupportedCommitment', status: 400 })
  })
})
