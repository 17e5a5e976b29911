/** ans104@1.0 as a device: to/serialize/from/deserialize against HyperBEAM's `ans104` vectors, commit, verify. */
import { describe, it, expect, beforeAll } from 'vitest'
import { message, type Message } from '../../../src/core/value.ts'
import { fromB64, bytesEqual } from '../../../src/core/bytes.ts'
import { parseItem, itemId, verifyItem, unsignedId } from '../../../src/codecs/ans104/data-item.ts'
import { typed, str } from '../../vectors/oracle.ts'
import type { Wallet } from '../../../src/crypto/wallet.ts'
import { context, pathValue, pub, run, thrown, value, vectors, wallets, withKeys } from './helpers.ts'
import { tabmToStructured } from '../../../src/devices/structured.ts'

const DEV = 'ans104@1.0'
let key1: Wallet
beforeAll(async () => { [key1] = await wallets() })

describe('ans104@1.0', () => {
  it('to and serialize: HyperBEAM\'s signed messages give its data items, byte for byte', async () => {
    const ctx = context()
    for (const c of await vectors('ans104')) {
      const name = str(c.name)
      const base = withKeys(typed(c.signed_message), { device: DEV })
      const bytes = await value(base, 'to', ctx)
      expect(bytes instanceof Uint8Array, name).toBe(true)
      expect(bytesEqual(bytes as Uint8Array, fromB64(str(c.item_b64))), name).toBe(true)
      expect(bytesEqual(await value(base, 'serialize', ctx) as Uint8Array, fromB64(str(c.item_b64))), name).toBe(true)
    }
  })

  it('from and deserialize: items decode to HyperBEAM\'s recovered messages, which verify', async () => {
    const ctx = context()
    for (const c of await vectors('ans104')) {
      const name = str(c.name)
      const base = message({ device: DEV, body: fromB64(str(c.item_b64)) })
      const tabm = pub(await value(base, 'from', ctx))
      expect(tabmToStructured(tabm), name).toEqual(typed(c.recovered_structured))
      expect(pub(await value(base, 'deserialize', ctx)), name).toEqual(tabm)
      expect(await value(withKeys(tabm, { device: DEV }), 'verify', ctx), name).toBe(c.recovered_verify === true)
      expect(await value(withKeys(typed(c.signed_message), { device: DEV }), 'verify', ctx), name).toBe(true)
    }
  })

  it('commit: signed with the node wallet gives HyperBEAM\'s commitment fields and a verifiable item', async () => {
    const ctx = context({ wallet: key1 })
    for (const c of await vectors('ans104')) {
      const name = str(c.name)
      const signed = pub(await value(withKeys(typed(c.input), { device: DEV }), 'commit', ctx))
      const [id, comm] = Object.entries(signed['commitments'] as Message)[0]!
      const theirs = Object.values(typed(c.signed_message)['commitments'] as Message)[0] as Message
      for (const k of ['commitment-device', 'committed', 'committer', 'keyid', 'type']) expect((comm as Message)[k], `${name} ${k}`).toEqual(theirs[k])
      expect(await value(withKeys(signed, { device: DEV }), 'verify', ctx), name).toBe(true)
      const item = parseItem(await value(withKeys(signed, { device: DEV }), 'serialize', ctx) as Uint8Array)
      expect(itemId(item), name).toBe(id)
      expect(await verifyItem(item), name).toBe(true)
      expect(unsignedId(item), name).toBe(str(c.item_unsigned_id))
    }
  })

  it('commit unsigned: normalizes the message through a data item (keys lower-cased, no signature)', async () => {
    const ctx = context()
    const plain = await value(message({ device: DEV, a: 'b', n: 1n }), message({ path: 'commit', type: 'unsigned' }), ctx)
    expect(pub(plain)).toEqual(message({ a: 'b', n: 1n }))
    const vec = (await vectors('ans104')).find((c) => str(c.name) === 'ans-mixed-case')
    const mixed = pub(await value(withKeys(typed(vec.input), { device: DEV }), message({ path: 'commit', type: 'unsigned-sha256' }), ctx))
    expect(mixed).toEqual(message({ 'content-type': 'text/plain', data: 'x' }))
    expect(await value(withKeys(mixed, { device: DEV }), 'verify', ctx)).toBe(false)
  })

  it('verify: false without ans104 commitments, false when tampered; content_type', async () => {
    const ctx = context()
    expect(await value(message({ device: DEV, a: 'b' }), 'verify', ctx)).toBe(false)
    const c = (await vectors('ans104'))[0]
    expect(await value(withKeys(typed(c.signed_message), { device: DEV, extra: 'x' }), 'verify', ctx)).toBe(false)
    expect(await pathValue('/~ans104@1.0/content_type', ctx)).toBe('application/ans104')
  })

  it('errors: unknown/private keys not_found; no item, a broken item, reserved fields, bundles, no wallet', async () => {
    const ctx = context()
    expect((await run(message({ device: DEV }), 'nope', ctx)).status).toBe('not_found')
    expect((await run(message({ device: DEV, priv: message({}) }), 'priv', ctx)).status).toBe('not_found')
    expect(await thrown(run(message({ device: DEV }), 'from', ctx))).toMatchObject({ name: 'BadInput', status: 400 })
    expect(await thrown(run(message({ device: DEV, body: new Uint8Array([1, 2, 3]) }), 'deserialize', ctx))).toMatchObject({ status: 400 })
    expect(await thrown(run(message({ device: DEV, owner: 'x' }), 'to', ctx))).toMatchObject({ name: 'ReservedItemField', status: 400 })
    expect(await thrown(run(message({ device: DEV, m: message({ a: '1' }) }), message({ path: 'to', bundle: true }), ctx)))
      .toMatchObject({ name: 'UnsupportedBundle', status: 400 })
    expect(await thrown(run(message({ device: DEV, a: 'b' }), 'commit', ctx))).toMatchObject({ name: 'Unauthorized', status: 401 })
    expect(await thrown(run(message({ device: DEV, a: 'b' }), message({ path: 'commit', type: 'hmac-sha256' }), ctx))).toMatchObject({ status: 400 })
  })
})
