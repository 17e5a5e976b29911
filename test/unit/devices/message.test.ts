/** message@1.0: every key of spec §1.6, through the resolver. */
import { describe, it, expect, beforeAll } from 'vitest'
import { createContext, resolve } from '../../../src/core/ao.ts'
import { preloadedDevices } from '../../../src/devices/index.ts'
import { MemoryStore } from '../../../src/store/memory.ts'
import { Atom, message, type Message } from '../../../src/core/value.ts'
import { loadJwk, type Wallet } from '../../../src/crypto/wallet.ts'
import { messageId } from '../../../src/core/id.ts'
import { commitMessage, verifyMessage } from '../../../src/codecs/commitments.ts'
import { nodeFixtures } from '../node-fixtures.ts'

let wallet: Wallet
let other: Wallet
beforeAll(async () => {
  wallet = await loadJwk(await nodeFixtures.json('hyperbeam-data/test/key-1.json'))
  other = await loadJwk(await nodeFixtures.json('hyperbeam-data/test/key-2.json'))
})
const ctx = () => createContext({ devices: preloadedDevices(), store: new MemoryStore(), wallet })
const run = async (base: Message, req: Message) => resolve(base, req, ctx())
const value = async (base: Message, req: Message) => {
  const o = await run(base, req)
  expect(o.status).toBe('ok')
  return o.value
}
/** The result without its hashpath (the resolver adds priv.hashpath to every map result). */
const pub = (v: unknown): Message => {
  const m = Object.assign(message({}), v as Message)
  delete m['priv']
  return m
}

describe('message@1.0', () => {
  it('get (default): exact, then case-insensitive; private keys and missing keys are not_found', async () => {
    const m = message({ Key: 'v', other: 'o', priv: message({ s: '1' }) })
    expect(await value(m, message({ path: 'Key' }))).toBe('v')
    expect(await value(m, message({ path: 'key' }))).toBe('v')
    expect((await run(m, message({ path: 'priv' }))).status).toBe('not_found')
    expect((await run(m, message({ path: 'absent' }))).status).toBe('not_found')
    expect(await value(m, message({ path: 'get', key: 'other' }))).toBe('o')
  })

  it('keys: public keys in sorted order', async () => {
    expect(await value(message({ b: '1', a: '2', private: 'x', priv: message({}) }), message({ path: 'keys' }))).toEqual(['a', 'b'])
  })

  it('set: deep merge by default, explicit merge with set-mode, unset removes, reserved keys ignored, priv kept', async () => {
    const base = message({ a: '1', m: message({ x: '1', y: '1' }), priv: message({ hashpath: 'h' }), gone: 'g' })
    const deep = await value(base, message({ path: 'set', m: message({ y: '2' }), b: '3', gone: new Atom('unset'), id: 'ignored' })) as Message
    expect(pub(deep)).toEqual(message({ a: '1', m: message({ x: '1', y: '2' }), b: '3' }))
    // priv is kept, and the hashpath extends the base's.
    expect(String((deep['priv'] as Message)['hashpath'])).toMatch(/^h\//)
    const explicit = await value(base, message({ path: 'set', 'set-mode': 'explicit', m: message({ y: '2' }) })) as Message
    expect(explicit['m']).toEqual(message({ y: '2' }))
  })

  it('set: overwriting a committed key with a new value drops the commitments; the same value keeps them', async () => {
    const signed = await commitMessage(message({ a: 'b', n: 1n }), { wallet })
    const changed = await value(signed, message({ path: 'set', a: 'changed' })) as Message
    expect('commitments' in changed).toBe(false)
    const same = await value(signed, message({ path: 'set', a: 'b' })) as Message
    expect((await verifyMessage(same)).verified).toBe(true)
    const extra = await value(signed, message({ path: 'set', extra: 'x' })) as Message
    expect('commitments' in extra).toBe(true)
  })

  it('set_path sets or removes path; remove takes item or items', async () => {
    expect(pub(await value(message({ a: '1' }), message({ path: 'set_path', value: '/x' })))).toEqual(message({ a: '1', path: '/x' }))
    expect(pub(await value(message({ a: '1', path: 'p' }), message({ path: 'set-path', value: new Atom('unset') })))).toEqual(message({ a: '1' }))
    expect(pub(await value(message({ a: '1', b: '2', c: '3' }), message({ path: 'remove', item: 'a' })))).toEqual(message({ b: '2', c: '3' }))
    expect(pub(await value(message({ a: '1', b: '2', c: '3' }), message({ path: 'remove', items: ['a', 'b'] })))).toEqual(message({ c: '3' }))
  })

  it('id: unsigned by default; committers=all gives the signed ID; commitments=all accumulates all', async () => {
    const plain = message({ a: 'b', num: 7n })
    expect(await value(plain, message({ path: 'id' }))).toBe('Jz4gKLl1U4hz7afgJSHfOkUcgcESB8wlNxvB4-Konhk')
    const signed = await commitMessage(plain, { wallet })
    expect(await value(signed, message({ path: 'id' }))).toBe('Jz4gKLl1U4hz7afgJSHfOkUcgcESB8wlNxvB4-Konhk')
    const signedId = await value(signed, message({ path: 'id', committers: 'all' }))
    expect(signedId).toBe(messageId(signed, 'signed'))
    expect(await value(signed, message({ path: 'id', commitments: 'all' }))).toBe(messageId(signed, 'all-commitments'))
    expect(await value(signed, message({ path: 'id', committers: wallet.address }))).toBe(signedId)
  })

  it('commit with the node wallet, then verify, committers and committed', async () => {
    const base = message({ a: 'b', m: message({ x: 'y' }) })
    const signed = await value(base, message({ path: 'commit' })) as Message
    expect(await value(signed, message({ path: 'verify' }))).toBe(true)
    expect(await value(signed, message({ path: 'committers' }))).toEqual([wallet.address])
    expect(await value(signed, message({ path: 'committed' }))).toEqual(['a', 'm'])
    expect(await value(signed, message({ path: 'committed', raw: true }))).toEqual(['a', 'm'])
    const unsigned = await value(base, message({ path: 'commit', type: 'unsigned' })) as Message
    expect(await value(unsigned, message({ path: 'committers' }))).toEqual([])
    const tampered = Object.assign(message({}), signed, { a: 'x' })
    expect(await value(tampered, message({ path: 'verify' }))).toBe(false)
  })

  it('commit with another device (ans104@1.0) and verify', async () => {
    const signed = await value(message({ a: 'b', data: 'd' }), message({ path: 'commit', 'commitment-device': 'ans104@1.0' })) as Message
    expect(await value(signed, message({ path: 'verify' }))).toBe(true)
    expect(await value(signed, message({ path: 'committers' }))).toEqual([wallet.address])
  })

  it('a message signed by two wallets lists both committers', async () => {
    const one = await commitMessage(message({ a: 'b' }), { wallet })
    const two = await commitMessage(one, { wallet: other })
    expect(new Set(await value(two, message({ path: 'committers' })) as string[])).toEqual(new Set([wallet.address, other.address]))
  })

  it('index: resolves the node\'s default_index (a device name or a message), or errors without one', async () => {
    const devices = preloadedDevices().add({ name: 'page@1.0', keys: { index: (base) => ({ status: 'ok', value: `page of ${String(base['a'])}` }) } })
    const byName = createContext({ devices, node: message({ default_index: 'page@1.0' }) })
    expect((await resolve(message({ a: '1' }), 'index', byName)).value).toBe('page of 1')
    const byMessage = createContext({ devices, node: message({ default_index: message({ device: 'page@1.0' }) }) })
    expect((await resolve(message({ a: '2' }), 'index', byMessage)).value).toBe('page of 2')
    expect((await run(message({ a: '1' }), message({ path: 'index' }))).status).toBe('error')
  })

  it('a default_index that loops back into message@1.0 index is caught as infinite recursion (508)', async () => {
    const c = createContext({ devices: preloadedDevices(), node: message({ default_index: message({ device: 'message@1.0' }) }) })
    await expect(resolve(message({ a: '1' }), 'index', c)).rejects.toMatchObject({ name: 'InfiniteRecursion', status: 508 })
  })
})
