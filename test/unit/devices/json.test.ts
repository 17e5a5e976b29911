/** json@1.0 as a device: to/serialize against HyperBEAM's `json` vectors, deserialize, from, committed, commit, verify. */
import { describe, it, expect, beforeAll } from 'vitest'
import { Float, message } from '../../../src/core/value.ts'
import { typed, str } from '../../vectors/oracle.ts'
import type { Wallet } from '../../../src/crypto/wallet.ts'
import { context, pathValue, pub, run, thrown, value, vectors, wallets, withKeys } from './helpers.ts'

const DEV = 'json@1.0'
let key1: Wallet
beforeAll(async () => { [key1] = await wallets() })

describe('json@1.0', () => {
  it('to (bundle): every `json` vector\'s text; serialize wraps it with the content type', async () => {
    const ctx = context()
    for (const c of await vectors('json')) {
      const name = str(c.name)
      const base = withKeys(typed(c.input), { device: DEV })
      const json = await value(base, message({ path: 'to', bundle: true }), ctx)
      // More than 32 keys: HyperBEAM writes Erlang's HAMT order, we write sorted keys (the same JSON value).
      if (name === 'json-33-keys') expect(JSON.parse(json as string), name).toEqual(JSON.parse(str(c.json)))
      else expect(json, name).toBe(str(c.json))
      const ser = pub(await value(base, message({ path: 'serialize', bundle: true }), ctx))
      expect(ser, name).toEqual(message({ 'content-type': 'application/json', body: json as string }))
    }
  })

  it('to: nested messages are linked by default; as a HyperPATH', async () => {
    const ctx = context()
    expect(await value(message({ device: DEV, m: message({ b: '2' }) }), 'to', ctx))
      .toBe('{"m+link":"Q53TsRwUt9odC2c2Mv0lnGrRX46FfpWHagpceiGpYB4"}')
    expect(await pathValue('/~json@1.0&a=b&n+integer=3/to', ctx)).toBe('{"a":"b","ao-types":"n=\\"integer\\"","n":"3"}')
  })

  it('deserialize: JSON text at body (or target) to a message without added types; missing → error 404', async () => {
    const ctx = context()
    const out = pub(await value(message({ device: DEV, body: '{"a":"b","n":1,"f":1.5,"l":[1,"x"],"t":true,"z":null}' }), 'deserialize', ctx))
    expect(out).toEqual(message({ a: 'b', n: 1n, f: new Float(1.5), l: [1n, 'x'], t: true, z: null }))
    const fromKey = pub(await value(message({ device: DEV, data: '{"k":"v"}' }), message({ path: 'deserialize', target: 'data' }), ctx))
    expect(fromKey).toEqual(message({ k: 'v' }))
    const missing = await run(message({ device: DEV }), 'deserialize', ctx)
    expect(missing.status).toBe('error')
    expect(pub(missing.value)).toEqual(message({ status: 404n, body: 'JSON payload not found in the base message.Searched for: body' }))
    // Round trip through the vectors' JSON: the TABM comes back.
    for (const c of await vectors('json')) {
      const back = pub(await value(message({ device: DEV, body: str(c.json) }), 'deserialize', ctx))
      expect(back, str(c.name)).toEqual(pub(typed(c.tabm)))
    }
  })

  it('from: a message is already decoded and comes back as it is; content_type', async () => {
    const ctx = context()
    expect(pub(await value(message({ device: DEV, a: 'b', n: 1n }), 'from', ctx))).toEqual(message({ a: 'b', n: 1n }))
    expect(await pathValue('/~json@1.0/content_type', ctx)).toBe('application/json')
    expect(await pathValue('/~json@1.0/content-type', ctx)).toBe('application/json')
  })

  it('commit, verify (httpsig@1.0) and committed', async () => {
    const ctx = context({ wallet: key1 })
    const signed = pub(await value(message({ device: DEV, a: 'b', num: 7n }), 'commit', ctx))
    expect(await value(withKeys(signed, { device: DEV }), 'verify', ctx)).toBe(true)
    expect(await value(withKeys(signed, { device: DEV, num: 8n }), 'verify', ctx)).toBe(false)
    expect(await value(withKeys(signed, { device: DEV }), 'committed', ctx)).toEqual(['a', 'ao-types', 'num'])
    expect(await value(message({ device: DEV, a: 'b' }), 'committed', ctx)).toEqual([])
  })

  it('errors: unknown/private keys not_found; invalid JSON, non-text payloads and non-UTF-8 values are 400', async () => {
    const ctx = context()
    expect((await run(message({ device: DEV }), 'nope', ctx)).status).toBe('not_found')
    expect((await run(message({ device: DEV, priv: message({}) }), 'priv', ctx)).status).toBe('not_found')
    expect(await thrown(run(message({ device: DEV, body: '{not json' }), 'deserialize', ctx))).toMatchObject({ name: 'InvalidJson', status: 400 })
    expect(await thrown(run(message({ device: DEV, body: '[1]' }), 'deserialize', ctx))).toMatchObject({ status: 400 })
    expect(await thrown(run(message({ device: DEV, body: 5n }), 'deserialize', ctx))).toMatchObject({ name: 'BadInput', status: 400 })
    expect(await thrown(run(message({ device: DEV, b: new Uint8Array([0xff, 0xfe]) }), 'to', ctx))).toMatchObject({ status: 400 })
  })
})

