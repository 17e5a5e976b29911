/** lookup@1.0: HyperBEAM's dev_lookup tests through HyperPATHs, and its errors. */
import { describe, it, expect } from 'vitest'
import { message } from '../../../src/core/value.ts'
import { resolvePath } from '../../../src/core/ao.ts'
import { createNode } from '../../../src/node/node.ts'
import { MemoryStore } from '../../../src/store/memory.ts'
import { commitMessage } from '../../../src/codecs/commitments.ts'
import { messageToHttpParts } from '../../../src/devices/relay.ts'
import { cacheWrite } from '../../../src/devices/cache.ts'
import { context, pathValue, pub, run, thrown, wallets } from './helpers.ts'

describe('lookup@1.0', () => {
  it('read: a binary by its ID (binary_lookup_test) and a message by its ID (message_lookup_test)', async () => {
    const ctx = context()
    const path = await cacheWrite(ctx.store!, 'Simple unsigned data item')
    expect(await pathValue(`/~lookup@1.0/read?target=${path}`, ctx)).toBe('Simple unsigned data item')
    const msg = message({ 'test-key': 'test-value', data: 'test-data' })
    const id = await cacheWrite(ctx.store!, msg)
    expect(pub(await pathValue(`/~lookup@1.0/read?target=${id}`, ctx))).toEqual(msg)
  })

  it('read with accept: application/aos-2 (aos2_message_lookup_test)', async () => {
    const ctx = context()
    const id = await cacheWrite(ctx.store!, message({ 'test-key': 'test-value', data: 'test-data' }))
    const out = pub(await pathValue(`/~lookup@1.0/read?target=${id}&accept=application/aos-2`, ctx))
    expect(out['content-type']).toBe('application/aos-2')
    expect(JSON.parse(out['body'] as string).Data).toBe('test-data')
    // Other accept values return the message itself.
    expect(pub(await pathValue(`/~lookup@1.0/read?target=${id}&accept=application/json`, ctx))['test-key']).toBe('test-value')
  })

  it('over the HTTP API, a signed POST with accept: application/aos-2 (http_lookup_test)', async () => {
    const [w] = await wallets()
    const node = await createNode({ wallet: w, store: new MemoryStore() })
    const id = await cacheWrite(node.store, message({ 'test-key': 'test-value', data: 'test-data' }))
    const signed = await commitMessage(message({
      path: `/~lookup@1.0/read?target=${id}`, device: 'lookup@1.0', accept: 'application/aos-2',
    }), { wallet: w })
    const { headers, body } = messageToHttpParts(signed)
    const r = await node.handle(new Request(`http://node/~lookup@1.0/read?target=${id}`, { method: 'POST', headers, body: body as Uint8Array<ArrayBuffer> | undefined }))
    expect(r.status).toBe(200)
    expect(JSON.parse(await r.text()).Data).toBe('test-data')
  })

  it('errors: an absent ID is not_found (404), no target or no store is 400, other keys are message@1.0\'s', async () => {
    const ctx = context()
    const missing = await resolvePath('/~lookup@1.0/read?target=Q53TsRwUt9odC2c2Mv0lnGrRX46FfpWHagpceiGpYB4', ctx)
    expect(missing.status).toBe('not_found')
    expect(await thrown(run(message({ device: 'lookup@1.0' }), 'read', ctx))).toMatchObject({ name: 'BadInput', status: 400 })
    const storeless = context({ store: undefined })
    expect(await thrown(run(message({ device: 'lookup@1.0' }), message({ path: 'read', target: 'x' }), storeless))).toMatchObject({ status: 400 })
    expect((await run(message({ device: 'lookup@1.0' }), 'nope', ctx)).status).toBe('not_found')
    expect((await run(message({ device: 'lookup@1.0', priv: message({}) }), 'priv', ctx)).status).toBe('not_found')
    expect(await pathValue('/~lookup@1.0&a=1/a', ctx)).toBe('1')
  })
})
