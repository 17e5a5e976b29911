/** flat@1.0 as a device: to/from/serialize/deserialize against HyperBEAM's `flat` vectors, commit, verify. */
import { describe, it, expect, beforeAll } from 'vitest'
import { message, type Message } from '../../../src/core/value.ts'
import { typed, str } from '../../vectors/oracle.ts'
import type { Wallet } from '../../../src/crypto/wallet.ts'
import { nodeFixtures } from '../node-fixtures.ts'
import { context, pathValue, pub, run, thrown, value, vectors, wallets, withKeys } from './helpers.ts'

const DEV = 'flat@1.0'
let key1: Wallet
beforeAll(async () => { [key1] = await wallets() })

describe('flat@1.0', () => {
  it('to (bundle) and from: every `flat` vector', async () => {
    const ctx = context()
    for (const c of await vectors('flat')) {
      const name = str(c.name)
      const flat = pub(await value(withKeys(typed(c.input), { device: DEV }), message({ path: 'to', bundle: true }), ctx))
      expect(flat, name).toEqual(typed(c.flat))
      const tabm = pub(await value(withKeys(flat, { device: DEV }), 'from', ctx))
      expect(tabm, name).toEqual(typed(c.tabm))
    }
  })

  it('serialize: every `flat` vector\'s text (nested messages linked); deserialize reads it back', async () => {
    const ctx = context()
    for (const c of await vectors('flat')) {
      const name = str(c.name)
      const text = await value(withKeys(typed(c.input), { device: DEV }), 'serialize', ctx)
      expect(text, name).toBe(str(c.serialized))
      if (str(c.serialized) === '') continue
      const back = pub(await value(message({ device: DEV, body: text }), 'deserialize', ctx))
      const tabm = typed(c.tabm)
      // Flat messages come back with their types; nested ones come back as links.
      if (!Object.values(tabm).some((v) => typeof v === 'object')) expect(back, name).toEqual(typed(c.input))
    }
  })

  it('deserialize: HyperBEAM\'s config.flat, from `body` or the key named by `target`', async () => {
    const ctx = context()
    const text = new TextDecoder().decode(await nodeFixtures.bytes('hyperbeam-data/test/config.flat'))
    const fromBody = pub(await value(message({ device: DEV, body: text }), 'deserialize', ctx))
    const fromKey = pub(await value(message({ device: DEV, conf: text }), message({ path: 'deserialize', target: 'conf' }), ctx))
    expect(fromKey).toEqual(fromBody)
    expect(Object.keys(fromBody).length).toBeGreaterThan(0)
  })

  it('as a HyperPATH: to and serialize', async () => {
    const ctx = context()
    expect(pub(await pathValue('/~flat@1.0&a=b&n+integer=1/to', ctx))).toEqual(message({ a: 'b', n: '1', 'ao-types': 'n="integer"' }))
    expect(await pathValue('/~flat@1.0&a=b&n+integer=1/serialize', ctx)).toBe('a: b\nao-types: n="integer"\nn: 1\n')
  })

  it('commit and verify go through httpsig@1.0', async () => {
    const ctx = context({ wallet: key1 })
    const signed = pub(await value(message({ device: DEV, a: 'b', num: 7n }), 'commit', ctx))
    const comms = signed['commitments'] as Message
    expect(Object.values(comms).every((c) => (c as Message)['commitment-device'] === 'httpsig@1.0')).toBe(true)
    expect(await value(withKeys(signed, { device: DEV }), 'verify', ctx)).toBe(true)
    expect(await value(withKeys(signed, { device: DEV, a: 'x' }), 'verify', ctx)).toBe(false)
  })

  it('errors: unknown/private keys not_found; collisions, bad lines, missing text and non-binary values are 400', async () => {
    const ctx = context()
    expect((await run(message({ device: DEV }), 'nope', ctx)).status).toBe('not_found')
    expect((await run(message({ device: DEV, privacy: 'x' }), 'privacy', ctx)).status).toBe('not_found')
    expect(await thrown(run(message({ device: DEV, a: 'x', 'a/b': 'y' }), 'from', ctx))).toMatchObject({ name: 'FlatCollision', status: 400 })
    expect(await thrown(run(message({ device: DEV, a: 1n }), 'from', ctx))).toMatchObject({ status: 400 })
    expect(await thrown(run(message({ device: DEV, body: 'no separator' }), 'deserialize', ctx))).toMatchObject({ status: 400 })
    expect(await thrown(run(message({ device: DEV }), 'deserialize', ctx))).toMatchObject({ name: 'BadInput', status: 400 })
  })
})
