/** apply@1.0: HyperBEAM's dev_apply tests, HyperPATHs, prefixes, lists and errors, through the resolver. */
import { describe, it, expect, beforeAll } from 'vitest'
import { message, type Message } from '../../../src/core/value.ts'
import { commitMessage } from '../../../src/codecs/commitments.ts'
import type { Wallet } from '../../../src/crypto/wallet.ts'
import { context, pathValue, pub, run, value, wallets, withKeys } from './helpers.ts'

const DEV = 'apply@1.0'
let key1: Wallet
beforeAll(async () => { [key1] = await wallets() })

const errorBody = async (p: ReturnType<typeof run>): Promise<string> => {
  const o = await p
  expect(o.status).toBe('error')
  return String((o.value as Message)['body'])
}

describe('apply@1.0', () => {
  it('a key names a HyperPATH to resolve (resolve_key_test)', async () => {
    const ctx = context()
    const base = message({ device: DEV, irrelevant: 'irrelevant' })
    const req = message({ irrelevant2: 'irrelevant2', body: '/~meta@1.0/build/node', path: 'body' })
    expect(await value(base, req, ctx)).toBe('ao-tab')
    expect(await pathValue('/~apply@1.0/body?body=/~test-device@1.0/test_func', ctx)).toBe('GOOD_FUNCTION')
  })

  it('pair: the request found at `request` on the base found at `base` (resolve_pair_test)', async () => {
    const ctx = context()
    const base = message({ device: DEV, 'data-container': message({ relevant: 'DATA' }), base: 'data-container', irrelevant: 'irrelevant' })
    const req = message({ irrelevant2: 'irrelevant2', 'data-path': 'relevant', request: 'data-path', path: 'pair' })
    expect(await value(base, req, ctx)).toBe('DATA')
  })

  it('base: and request: prefixes (resolve_with_prefix_test, reverse_resolve_pair_test)', async () => {
    const ctx = context()
    const base = message({ device: DEV, 'example-resolver': message({ path: 'test-key', 'test-key': 'DATA' }) })
    expect(await value(base, 'base:example-resolver', ctx)).toBe('DATA')
    // `base=request:&request=base:` with the key as the path: the base's `node` looked up in the request.
    const build = pub(await pathValue('/~meta@1.0/build', ctx))
    const swapped = message({ path: 'node', node: 'TEST', base: 'request:', request: 'base:' })
    expect(await value(withKeys(build, { device: DEV }), swapped, ctx)).toBe('TEST')
    // request: (and req:) read from the request only; the base is not consulted.
    const both = message({ device: DEV, m: message({ path: 'k', k: 'FROM-BASE' }) })
    expect(await value(both, message({ path: 'request:m', m: message({ path: 'k', k: 'FROM-REQ' }) }), ctx)).toBe('FROM-REQ')
    expect(await value(both, message({ path: 'req:m', m: message({ path: 'k', k: 'FROM-REQ' }) }), ctx)).toBe('FROM-REQ')
    expect(await errorBody(run(both, 'request:m', ctx))).toBe('Source path `request:m` to apply not found.')
    // Without a prefix the request wins over the base.
    expect(await value(both, message({ path: 'm', m: message({ path: 'k', k: 'FROM-REQ' }) }), ctx)).toBe('FROM-REQ')
    expect(await value(both, 'm', ctx)).toBe('FROM-BASE')
  })

  // The HyperPATH form: `key~apply@1.0&…` is an `{as}` in request position, which hb_ao
  // subresolves on the previous result (the build message) with the device set to apply@1.0.
  it('/~meta@1.0/build/node~apply@1.0&node=TEST&base=request:&request=base: ({as} in request position)', async () => {
    const ctx = context()
    expect(await pathValue('/~meta@1.0/build/node~apply@1.0&node=TEST&base=request:&request=base:', ctx)).toBe('TEST')
  })

  it('a signed message carrying its own request (apply_over_http_test, in process)', async () => {
    const ctx = context({ wallet: key1 })
    const signed = await commitMessage(message({
      device: DEV,
      'user-request': message({ path: '/test-key', 'test-key': 'DATA' }),
    }), { wallet: key1 })
    expect(await value(signed, message({ path: '/user-request' }), ctx)).toBe('DATA')
  })

  it('a list is resolved as a message list; a message without a path is its own result; deep paths in pair', async () => {
    const ctx = context()
    const base = message({
      device: DEV,
      steps: [message({ x: message({ y: 'DEEP' }) }), message({ path: 'x' }), message({ path: 'y' })],
      plain: message({ a: 'b' }),
      data: message({ deep: message({ relevant: 'DATA' }) }),
    })
    expect(await value(base, 'steps', ctx)).toBe('DEEP')
    expect(pub(await value(base, 'plain', ctx))).toEqual(message({ a: 'b' }))
    expect(await value(base, message({ path: 'pair', base: 'data/deep', request: 'p', p: 'relevant' }), ctx)).toBe('DATA')
    // The default handler always applies the key it was called with: a `source` in the request is overwritten.
    expect(pub(await value(base, message({ path: 'plain', source: 'steps' }), ctx))).toEqual(message({ a: 'b' }))
  })

  it('keys and set are not apply\'s: message@1.0 answers them on the base', async () => {
    const ctx = context()
    expect(await value(message({ device: DEV, a: '1' }), 'keys', ctx)).toEqual(['a', 'device'])
    expect(pub(await value(message({ device: DEV, a: '1' }), message({ path: 'set', b: '2' }), ctx))).toEqual(message({ device: DEV, a: '1', b: '2' }))
  })

  it('errors: missing source, missing pair halves, invalid paths, private keys, a non-message request to re-path', async () => {
    const ctx = context()
    const base = message({ device: DEV, priv: message({ secret: 's' }), str: 'x' })
    expect(await errorBody(run(base, 'nothing', ctx))).toBe('Source path `nothing` to apply not found.')
    expect(await errorBody(run(base, 'pair', ctx))).toBe('Path `request` to apply not found.')
    expect(await errorBody(run(base, message({ path: 'pair', request: 'str' }), ctx))).toBe('Path `base` to apply not found.')
    expect(await errorBody(run(base, message({ path: 'pair', base: 'base:', request: '/' }), ctx))).toBe('Path `/` is invalid.')
    expect(await errorBody(run(base, 'other:thing', ctx))).toBe('Path `other:thing` is invalid.')
    expect(await errorBody(run(base, 'priv', ctx))).toBe('Source path `priv` to apply not found.')
    expect(await errorBody(run(base, message({ path: 'k', base: 'base:', request: 'str' }), ctx))).toBe('The request at `str` is not a message.')
    expect(await errorBody(run(withKeys(base, { n: 5n }), 'n', ctx))).toBe('The value to apply is neither a path, a message nor a list.')
  })
})
