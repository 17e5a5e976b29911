/** httpsig@1.0 as a device: to/from/serialize against HyperBEAM's `httpsig_wire` and `signed` vectors, commit, verify. */
import { describe, it, expect, beforeAll } from 'vitest'
import { Atom, emptyMessage, message, type Message } from '../../../src/core/value.ts'
import { typed, typedValue, str, vectorBytes } from '../../vectors/oracle.ts'
import { fromUtf8, utf8, bytesEqual } from '../../../src/core/bytes.ts'
import { sortKeys } from '../../../src/core/keys.ts'
import type { Wallet } from '../../../src/crypto/wallet.ts'
import { context, numberCommitted, pathValue, pub, run, thrown, value, vectors, wallets, withKeys } from './helpers.ts'

const DEV = 'httpsig@1.0'
let key1: Wallet
beforeAll(async () => { [key1] = await wallets() })

const bundled = (c: any): boolean => !(typedValue(c.linkify_mode) instanceof Atom)
const headersOf = (http: Message): Message => {
  const h = emptyMessage()
  for (const k of Object.keys(http)) if (k !== 'body' && k !== 'priv') h[k] = http[k]!
  return h
}
const asBytes = (b: unknown): Uint8Array => (typeof b === 'string' ? utf8(b) : b as Uint8Array)

describe('httpsig@1.0', () => {
  it('to: the HMAC-committed TABM of every `httpsig_wire` vector gives HyperBEAM\'s headers and body', async () => {
    const ctx = context()
    for (const c of await vectors('httpsig_wire')) {
      const name = str(c.name)
      const committed = withKeys(typed(c.tabm), { commitments: numberCommitted(typed(c.hmac_commitment)), device: DEV })
      const req = message({ path: 'to', ...(bundled(c) ? { bundle: true } : {}) })
      const http = pub(await value(committed, req, ctx))
      expect(headersOf(http), name).toEqual(typed(c.headers))
      if (c.body === null) expect(http['body'], name).toBeUndefined()
      else expect(bytesEqual(asBytes(http['body']), vectorBytes(c.body)), name).toBe(true)
    }
  })

  it('commit (unsigned) then to: a structured message gives the same wire form (linked vectors)', async () => {
    const ctx = context()
    let n = 0
    for (const c of await vectors('httpsig_wire')) {
      if (bundled(c)) continue
      const committed = pub(await value(withKeys(typed(c.input), { device: DEV }), message({ path: 'commit', type: 'unsigned' }), ctx))
      expect(committed['commitments'], str(c.name)).toEqual(numberCommitted(typed(c.hmac_commitment)))
      const http = pub(await value(withKeys(committed, { device: DEV }), 'to', ctx))
      expect(headersOf(http), str(c.name)).toEqual(typed(c.headers))
      n++
    }
    expect(n).toBe(9)
  })

  it('from: HyperBEAM\'s wire form decodes to its TABM; verify agrees with HyperBEAM on every vector', async () => {
    const ctx = context()
    for (const c of await vectors('httpsig_wire')) {
      const name = str(c.name)
      const http = withKeys(typed(c.headers), { device: DEV })
      if (c.body !== null) http['body'] = fromUtf8(vectorBytes(c.body))
      const tabm = pub(await value(http, 'from', ctx))
      expect(tabm, name).toEqual(typed(c.decoded_tabm))
      const req = message({ path: 'verify', ...(bundled(c) ? { bundle: true } : {}) })
      expect(await value(withKeys(tabm, { device: DEV }), req, ctx), name).toBe(c.decoded_verifies === true)
    }
  })

  it('signed vectors: HyperBEAM\'s RSA commitments verify, tampered ones do not, the wire form round-trips', async () => {
    const ctx = context()
    for (const c of await vectors('signed')) {
      const name = str(c.name)
      const signed = typed(c.signed_message)
      expect(await value(withKeys(signed, { device: DEV }), 'verify', ctx), name).toBe(c.verify === true)
      for (const t of c.tampered) {
        expect(await value(withKeys(typed(t.message), { device: DEV }), 'verify', ctx), `${name} ${t.kind}`).toBe(t.verify === true)
      }
      const wire = withKeys(typed(c.wire_headers), { device: DEV })
      if (c.wire_body !== null && c.wire_body !== undefined) wire['body'] = fromUtf8(vectorBytes(c.wire_body))
      const decoded = pub(await value(wire, 'from', ctx))
      expect(await value(withKeys(decoded, { device: DEV }), 'verify', ctx), name).toBe(c.wire_roundtrip_verify === true)
      // One commitment given as the request (HyperBEAM's verify/3).
      const comms = signed['commitments'] as Message
      for (const id of Object.keys(comms)) {
        expect(await value(withKeys(signed, { device: DEV }), withKeys(comms[id] as Message, { path: 'verify' }), ctx), `${name} ${id}`).toBe(true)
      }
    }
  })

  it('serialize: HTTP/1.1-style text (headers sorted, CRLF, body), or {headers, body} with format=components', async () => {
    const ctx = context()
    const text = await pathValue('/~httpsig@1.0&body=hello&k=v/serialize', ctx)
    expect(typeof text).toBe('string')
    expect(text).toBe('content-digest: sha-256=:LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=:\r\nk: v\r\n\r\nhello')
    const parts = pub(await pathValue('/~httpsig@1.0&body=hello&k=v/serialize&format=components', ctx))
    expect(parts['body']).toBe('hello')
    const headers = parts['headers'] as Message
    expect(sortKeys(Object.keys(headers))).toEqual(['content-digest', 'k'])
    expect(headers['k']).toBe('v')
    // A committed message carries its signature headers.
    const committed = pub(await value(message({ device: 'httpsig@1.0', body: 'hello', k: 'v' }), message({ path: 'commit', type: 'unsigned' }), ctx))
    const signedText = await value(withKeys(committed, { device: 'httpsig@1.0' }), 'serialize', ctx)
    expect(signedText).toMatch(/^content-digest: [^\r]+\r\nk: v\r\nsignature: sig-[^\r]+\r\nsignature-input: sig-[^\r]+\r\n\r\nhello$/)
  })

  it('to: nested messages are linked and offloaded to the store, or inline multipart with bundle', async () => {
    const ctx = context()
    const base = message({ device: DEV, a: '1', nested: message({ b: '2' }) })
    const linked = pub(await value(base, 'to', ctx))
    expect(linked['nested+link']).toBe('Q53TsRwUt9odC2c2Mv0lnGrRX46FfpWHagpceiGpYB4')
    expect(await ctx.store!.read('Q53TsRwUt9odC2c2Mv0lnGrRX46FfpWHagpceiGpYB4')).toEqual(message({ b: '2' }))
    const multipart = pub(await value(base, message({ path: 'to', bundle: 'true' }), ctx))
    expect(String(multipart['content-type'])).toMatch(/^multipart\/form-data; boundary="/)
  })

  it('commit: signed with the node wallet (RSA + HMAC), hmac-sha256, explicit committed keys; verify', async () => {
    const ctx = context({ wallet: key1 })
    const base = message({ device: DEV, a: 'b', num: 7n })
    const signed = pub(await value(base, message({ path: 'commit', type: 'rsa-pss-sha512' }), ctx))
    const comms = signed['commitments'] as Message
    const types = Object.values(comms).map((c) => (c as Message)['type']).sort()
    expect(types).toEqual(['hmac-sha256', 'rsa-pss-sha512'])
    const rsa = Object.values(comms).find((c) => (c as Message)['type'] === 'rsa-pss-sha512') as Message
    expect(rsa['committer']).toBe('vcaPe4JWnrSOCktDHBgXge-zWUb6JRkqbom5w9t7i-4')
    expect(await value(withKeys(signed, { device: DEV }), 'verify', ctx)).toBe(true)
    const hmac = pub(await value(base, message({ path: 'commit', type: 'hmac-sha256' }), ctx))
    expect(Object.keys(hmac['commitments'] as Message)).toEqual(['Jz4gKLl1U4hz7afgJSHfOkUcgcESB8wlNxvB4-Konhk'])
    const partial = pub(await value(base, message({ path: 'commit', type: 'unsigned', committed: ['a'] }), ctx))
    const only = Object.values(partial['commitments'] as Message)[0] as Message
    expect(only['committed']).toEqual(message({ 1: 'a' }))
    // Only `a` is covered: changing num keeps it valid, changing a does not.
    expect(await value(withKeys(partial, { device: DEV, num: 8n }), 'verify', ctx)).toBe(true)
    expect(await value(withKeys(partial, { device: DEV, a: 'c' }), 'verify', ctx)).toBe(false)
  })

  it('errors: unknown/private keys not_found, non-binary HTTP fields 400, no wallet 401, unknown type 400', async () => {
    const ctx = context()
    expect((await run(message({ device: DEV }), 'nope', ctx)).status).toBe('not_found')
    expect((await run(message({ device: DEV }), 'private', ctx)).status).toBe('not_found')
    expect(await thrown(run(message({ device: DEV, n: 5n }), 'from', ctx))).toMatchObject({ name: 'BadInput', status: 400 })
    expect(await thrown(run(message({ device: DEV, a: 'b' }), 'commit', ctx))).toMatchObject({ name: 'Unauthorized', status: 401 })
    expect(await thrown(run(message({ device: DEV, a: 'b' }), message({ path: 'commit', type: 'ecdsa' }), ctx))).toMatchObject({ status: 400 })
    expect(await value(message({ device: DEV, a: 'b' }), 'verify', ctx)).toBe(false)
  })
})
