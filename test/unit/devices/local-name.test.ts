/** local-name@1.0: HyperBEAM's dev_local_name tests, the operator check, in process and over the HTTP API. */
import { describe, it, expect, beforeAll } from 'vitest'
import { message, type Message } from '../../../src/core/value.ts'
import { commitMessage } from '../../../src/codecs/commitments.ts'
import type { Wallet } from '../../../src/crypto/wallet.ts'
import { createNode } from '../../../src/node/node.ts'
import { MemoryStore } from '../../../src/store/memory.ts'
import { messageToHttpParts } from '../../../src/devices/relay.ts'
import { context, pathValue, pub, run, thrown, value, wallets, withKeys } from './helpers.ts'

const DEV = 'local-name@1.0'
let operator: Wallet
let other: Wallet
beforeAll(async () => { [operator, other] = await wallets() })

const names = message({ device: DEV })
const operatorCtx = () => context({ node: message({ operator: operator.address }) })
const register = (w: Wallet, m: Record<string, Message[string]>) => commitMessage(message({ path: 'register', ...m }), { wallet: w })

describe('local-name@1.0', () => {
  it('lookup: nothing registered → not_found (no_names_test); the node message\'s local_names (lookup_opts_name_test)', async () => {
    expect((await run(names, message({ path: 'lookup', key: 'name1' }), context())).status).toBe('not_found')
    const ctx = context({ node: message({ local_names: message({ name1: 'value1' }) }) })
    expect(await value(names, message({ path: 'lookup', key: 'name1' }), ctx)).toBe('value1')
    expect(await pathValue('/~local-name@1.0/lookup?key=name1', ctx)).toBe('value1')
    expect(await pathValue('/~local-name@1.0/name1', ctx)).toBe('value1')
  })

  it('register by the operator, then lookup by key or as the key itself, case-insensitively (register_test)', async () => {
    const ctx = operatorCtx()
    expect(await value(names, await register(operator, { key: 'TEST-Name', value: 'TEST-VALUE' }), ctx)).toBe('Registered.')
    expect(await value(names, message({ path: 'lookup', key: 'TEST-Name', load: false }), ctx)).toBe('TEST-VALUE')
    expect(await pathValue('/~local-name@1.0/lookup?key=test-name', ctx)).toBe('TEST-VALUE')
    expect(await pathValue('/~local-name@1.0/test-name', ctx)).toBe('TEST-VALUE')
    // A message value; `key` may be a path into it.
    await value(names, await register(operator, { key: 'thing', value: message({ inner: 'deep' }) }), ctx)
    expect(pub(await pathValue('/~local-name@1.0/thing', ctx))).toEqual(message({ inner: 'deep' }))
    expect(await pathValue('/~local-name@1.0/lookup?key=thing/inner', ctx)).toBe('deep')
    // Re-registering replaces the value.
    await value(names, await register(operator, { key: 'thing', value: 'v2' }), ctx)
    expect(await pathValue('/~local-name@1.0/thing', ctx)).toBe('v2')
  })

  it('the node wallet is the operator when the node message names none', async () => {
    const ctx = context({ wallet: operator })
    expect(await value(names, await register(operator, { key: 'n', value: 'v' }), ctx)).toBe('Registered.')
  })

  it('register is refused: another signer 403 (unauthorized_test), unsigned 401, tampered 401, value not covered 401', async () => {
    const ctx = operatorCtx()
    expect(await thrown(run(names, await register(other, { key: 'name1', value: 'value1' }), ctx))).toMatchObject({ name: 'Forbidden', status: 403 })
    expect(await thrown(run(names, message({ path: 'register', key: 'name1', value: 'value1' }), ctx))).toMatchObject({ name: 'Unauthorized', status: 401 })
    const signed = await register(operator, { key: 'name1', value: 'value1' })
    expect(await thrown(run(names, withKeys(signed, { value: 'forged' }), ctx))).toMatchObject({ name: 'Unauthorized', status: 401 })
    const keyOnly = await register(operator, { key: 'name1' })
    expect(await thrown(run(names, withKeys(keyOnly, { value: 'smuggled' }), ctx))).toMatchObject({ name: 'Unauthorized', status: 401 })
    expect((await run(names, message({ path: 'lookup', key: 'name1' }), ctx)).status).toBe('not_found')
    // No operator and no wallet: nobody registers. An `unclaimed` operator lets anyone (as meta@1.0 and HyperBEAM).
    expect(await thrown(run(names, signed, context()))).toMatchObject({ name: 'Forbidden', status: 403 })
    const open = context({ node: message({ operator: 'unclaimed' }) })
    expect(await value(names, message({ path: 'register', key: 'k', value: 'v' }), open)).toBe('Registered.')
  })

  it('errors: register without key or value is 400; keys/set/direct_register are not this device\'s', async () => {
    const ctx = operatorCtx()
    expect(await thrown(run(names, await register(operator, { key: 'k' }), ctx))).toMatchObject({ name: 'BadInput', status: 400 })
    expect(await thrown(run(names, await register(operator, { value: 'v' }), ctx))).toMatchObject({ name: 'BadInput', status: 400 })
    expect(await pathValue('/~local-name@1.0&a=1/keys', ctx)).toEqual(['a', 'device'])
    expect(pub(await value(names, message({ path: 'set', x: '1' }), ctx))).toEqual(message({ device: DEV, x: '1' }))
    expect((await run(names, message({ path: 'direct_register', key: 'k', value: 'v' }), ctx)).status).toBe('not_found')
    expect((await run(names, 'priv', ctx)).status).toBe('not_found')
    expect((await run(names, 'lookup', ctx)).status).toBe('not_found')
  })

  it('over the HTTP API: the operator POSTs a signed register, anyone GETs lookup (http_test); others get 403', async () => {
    const node = await createNode({ wallet: operator, store: new MemoryStore() })
    const post = async (w: Wallet, m: Message) => {
      const { headers, body } = messageToHttpParts(await commitMessage(m, { wallet: w }))
      return node.handle(new Request('http://node/~local-name@1.0/register', { method: 'POST', headers, body: body as Uint8Array<ArrayBuffer> | undefined }))
    }
    const r = await post(operator, message({ path: '/~local-name@1.0/register', key: 'name1', value: 'value1' }))
    expect(r.status).toBe(200)
    expect(await r.text()).toBe('Registered.')
    const get = await node.handle(new Request('http://node/~local-name@1.0/lookup?key=name1'))
    expect(get.status).toBe(200)
    expect(await get.text()).toBe('value1')
    expect((await post(other, message({ path: '/~local-name@1.0/register', key: 'name2', value: 'x' }))).status).toBe(403)
  })
})
