/** cache@1.0: read (raw and aos-2), write and link for trusted writers only, in process and over the HTTP API. */
import { describe, it, expect, beforeAll } from 'vitest'
import { message, type Message } from '../../../src/core/value.ts'
import { commitMessage } from '../../../src/codecs/commitments.ts'
import { messageId } from '../../../src/core/id.ts'
import type { Wallet } from '../../../src/crypto/wallet.ts'
import { createNode } from '../../../src/node/node.ts'
import { MemoryStore } from '../../../src/store/memory.ts'
import { messageToHttpParts } from '../../../src/devices/relay.ts'
import { cacheWrite, headerCase } from '../../../src/devices/cache.ts'
import { context, pathValue, pub, run, thrown, value, wallets, withKeys } from './helpers.ts'

const DEV = 'cache@1.0'
let writer: Wallet
let stranger: Wallet
beforeAll(async () => { [writer, stranger] = await wallets() })

const writerCtx = () => context({ node: message({ cache_writers: [writer.address] }) })
const cache = message({ device: DEV })
const signedBy = (w: Wallet, m: Record<string, Message[string]>) => commitMessage(message(m), { wallet: w })

describe('cache@1.0', () => {
  it('read: a message by its ID, a binary by its data/ path; absent → not_found (404)', async () => {
    const ctx = context()
    const msg = message({ 'test-key': 'test-value', data: 'test-data' })
    const id = await cacheWrite(ctx.store!, msg)
    expect(id).toBe(messageId(msg))
    expect(pub(await pathValue(`/~cache@1.0/read?target=${id}`, ctx))).toEqual(msg)
    const path = await cacheWrite(ctx.store!, 'Simple unsigned data item')
    expect(path).toBe(`data/${messageId('Simple unsigned data item')}`)
    expect(await pathValue(`/~cache@1.0/read?target=${path}`, ctx)).toBe('Simple unsigned data item')
    // Private keys are never stored.
    const withPriv = await cacheWrite(ctx.store!, message({ a: '1', priv: message({ secret: 's' }) }))
    expect(await ctx.store!.read(withPriv)).toEqual(message({ a: '1' }))
    const missing = await resolveMissing(ctx)
    expect(missing.status).toBe('not_found')
  })

  it('read with accept: application/aos-2 gives the AOS JSON form (aos2_message_lookup_test)', async () => {
    const ctx = context()
    const msg = message({ 'test-key': 'test-value', data: 'test-data' })
    const id = await cacheWrite(ctx.store!, msg)
    const out = pub(await value(cache, message({ path: 'read', target: id, accept: 'application/aos-2' }), ctx))
    expect(out['content-type']).toBe('application/aos-2')
    expect(JSON.parse(out['body'] as string)).toEqual({
      Anchor: '', Data: 'test-data', From: '', Id: id, Owner: '', Signature: '',
      Tags: [{ name: 'Test-Key', value: 'test-value' }], Target: '',
    })
    // A signed message: Owner and From are the signer, Id the signed ID; a body becomes Data.
    const signed = await signedBy(writer, { body: 'hello', 'content-type': 'text/plain' })
    const sid = await cacheWrite(ctx.store!, signed)
    const json = JSON.parse(pub(await value(cache, message({ path: 'read', target: messageId(signed, 'signed'), accept: 'application/aos-2' }), ctx))['body'] as string)
    expect(json.Id).toBe(messageId(signed, 'signed'))
    expect(json.Owner).toBe(writer.address)
    expect(json.From).toBe(writer.address)
    expect(json.Data).toBe('hello')
    expect(json.Tags).toEqual([{ name: 'Ao-Data-Key', value: 'body' }, { name: 'Content-Type', value: 'text/plain' }])
    expect(sid).toBe(messageId(signed))
    expect(headerCase('x--a-b')).toBe('X-A-B')
  })

  it('write: a trusted writer stores a binary, a message, or a batch; the result can be read back', async () => {
    const ctx = writerCtx()
    const bin = pub(await value(cache, await signedBy(writer, { path: 'write', body: 'test_binary' }), ctx))
    expect(bin).toEqual(message({ status: 200n, path: `data/${messageId('test_binary')}` }))
    expect(await pathValue(`/~cache@1.0/read?target=${bin['path']}`, ctx)).toBe('test_binary')
    const data = message({ test_key: 'test_value', n: 3n })
    const msg = pub(await value(cache, await signedBy(writer, { path: 'write', body: data }), ctx))
    expect(msg['path']).toBe(messageId(data))
    expect(pub(await pathValue(`/~cache@1.0/read?target=${msg['path']}`, ctx))).toEqual(data)
    const batch = pub(await value(cache, await signedBy(writer, {
      path: 'write', type: 'batch', body: message({ one: message({ body: 'b1' }), two: message({ body: message({ x: '2' }) }) }),
    }), ctx))
    expect((batch['one'] as Message)['path']).toBe(`data/${messageId('b1')}`)
    expect((batch['two'] as Message)['path']).toBe(messageId(message({ x: '2' })))
  })

  it('write: a signed message is readable by its signed ID too (commitment IDs are linked)', async () => {
    const ctx = writerCtx()
    const inner = await signedBy(stranger, { a: 'b' })
    const r = pub(await value(cache, await signedBy(writer, { path: 'write', body: inner }), ctx))
    expect(r['path']).toBe(messageId(inner))
    expect(pub(await value(cache, message({ path: 'read', target: messageId(inner, 'signed') }), ctx))).toEqual(inner)
  })

  it('link: destination resolves to the source; only for trusted writers', async () => {
    const ctx = writerCtx()
    const path = await cacheWrite(ctx.store!, 'linked value')
    const r = pub(await value(cache, await signedBy(writer, { path: 'link', source: path, destination: 'names/favourite' }), ctx))
    expect(r).toEqual(message({ status: 200n }))
    expect(await pathValue('/~cache@1.0/read?target=names/favourite', ctx)).toBe('linked value')
    // write with operation: link does the same.
    await value(cache, await signedBy(writer, { path: 'write', operation: 'link', source: path, destination: 'names/other' }), ctx)
    expect(await ctx.store!.read('names/other')).toBe('linked value')
    expect(await thrown(run(cache, await signedBy(stranger, { path: 'link', source: path, destination: 'x' }), ctx)))
      .toMatchObject({ name: 'Forbidden', status: 403 })
    expect(await thrown(run(cache, message({ path: 'link', source: path, destination: 'x' }), ctx)))
      .toMatchObject({ name: 'Unauthorized', status: 401 })
  })

  it('write is refused: unsigned 401, another signer 403, tampered 401, body not covered by the signature 401', async () => {
    const ctx = writerCtx()
    expect(await thrown(run(cache, message({ path: 'write', body: 'x' }), ctx))).toMatchObject({ name: 'Unauthorized', status: 401 })
    expect(await thrown(run(cache, await signedBy(stranger, { path: 'write', body: 'x' }), ctx))).toMatchObject({ name: 'Forbidden', status: 403 })
    const signed = await signedBy(writer, { path: 'write', body: 'x' })
    expect(await thrown(run(cache, withKeys(signed, { body: 'changed' }), ctx))).toMatchObject({ name: 'Unauthorized', status: 401 })
    const signedPathOnly = await signedBy(writer, { path: 'write' })
    expect(await thrown(run(cache, withKeys(signedPathOnly, { body: 'smuggled' }), ctx))).toMatchObject({ name: 'Unauthorized', status: 401 })
    // No cache_writers at all: nobody may write.
    expect(await thrown(run(cache, signed, context()))).toMatchObject({ name: 'Forbidden', status: 403 })
  })

  it('write errors as HyperBEAM answers them: no body, a location, an unknown type or operation → 400', async () => {
    const ctx = writerCtx()
    const answer = async (m: Record<string, Message[string]>) => {
      const o = await run(cache, await signedBy(writer, m), ctx)
      expect(o.status).toBe('error')
      return pub(o.value)
    }
    expect(await answer({ path: 'write' })).toEqual(message({ status: 400n, body: 'No body to write.' }))
    expect(await answer({ path: 'write', body: 'x', location: 'somewhere' })).toEqual(message({ status: 400n, body: 'Invalid write type.' }))
    expect(await answer({ path: 'write', body: 'x', type: 'other' })).toEqual(message({ status: 400n, body: 'Invalid write type.' }))
    expect(await answer({ path: 'write', body: 'x', operation: 'erase' })).toEqual(message({ status: 400n, body: 'Invalid write type.' }))
    expect((await answer({ path: 'write', type: 'batch', body: message({ a: message({ location: 'x', body: 'y' }) }) }))['status']).toBe(400n)
  })

  it('other errors: read without target 400; unknown and private keys not_found', async () => {
    const ctx = context()
    expect(await thrown(run(cache, 'read', ctx))).toMatchObject({ name: 'BadInput', status: 400 })
    expect((await run(cache, 'nope', ctx)).status).toBe('not_found')
    expect((await run(withKeys(cache, { priv: message({ a: '1' }) }), 'priv', ctx)).status).toBe('not_found')
  })

  it('over the HTTP API: a signed POST /~cache@1.0/write by a writer, then GET read; a stranger gets 403', async () => {
    const node = await createNode({ wallet: writer, store: new MemoryStore(), config: message({ cache_writers: [writer.address] }) })
    const post = async (w: Wallet, m: Message) => {
      const signed = await commitMessage(m, { wallet: w })
      const { headers, body } = messageToHttpParts(signed)
      return node.handle(new Request(`http://node${m['path'] as string}`, { method: 'POST', headers, body: body as Uint8Array<ArrayBuffer> | undefined }))
    }
    const ok = await post(writer, message({ path: '/~cache@1.0/write', body: 'over http' }))
    expect(ok.status).toBe(200)
    expect(ok.headers.get('path')).toBe(`data/${messageId('over http')}`)
    const read = await node.handle(new Request(`http://node/~cache@1.0/read?target=data/${messageId('over http')}`))
    expect(read.status).toBe(200)
    expect(await read.text()).toBe('over http')
    const denied = await post(stranger, message({ path: '/~cache@1.0/write', body: 'nope' }))
    expect(denied.status).toBe(403)
    const unsigned = await node.handle(new Request('http://node/~cache@1.0/write', { method: 'POST', body: 'x' }))
    expect(unsigned.status).toBe(401)
  })
})

function resolveMissing(ctx: ReturnType<typeof context>) {
  return run(cache, message({ path: 'read', target: 'Q53TsRwUt9odC2c2Mv0lnGrRX46FfpWHagpceiGpYB4' }), ctx)
}
