/**
 * The network's message formats without a network: gossip payloads round-trip
 * committed messages (httpsig@1.0, ans104@1.0, HMAC) to the same signed ID;
 * size limits and malformed payloads are typed errors; topic names; node
 * announcements and the address ↔ peer table.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { Atom, Float, message, type Message } from '../../src/core/value.ts'
import { commitMessage, verifyMessage } from '../../src/codecs/commitments.ts'
import { messageId } from '../../src/core/id.ts'
import { utf8 } from '../../src/core/bytes.ts'
import { loadJwk, type Wallet } from '../../src/crypto/wallet.ts'
import { decodePayload, encodePayload, MAX_PAYLOAD_BYTES } from '../../src/p2p/payload.ts'
import { NODES_TOPIC, parseProcessTopic, processTopic } from '../../src/p2p/topics.ts'
import { checkAnnouncement, makeAnnouncement, NodeTable } from '../../src/p2p/announce.ts'
import { nodeFixtures } from './node-fixtures.ts'

let w1: Wallet, w2: Wallet
beforeAll(async () => {
  ;[w1, w2] = await Promise.all(['hyperbeam-data/test/key-1.json', 'hyperbeam-data/test/key-2.json'].map(async (f) => loadJwk(await nodeFixtures.json(f))))
})

const PEER = '12D3KooWC141vXYb6LupY3JzBkebF8hok3aKk84CCo1oxDax4W88'
const OTHER = '12D3KooWHcXC4uHqWzXfq6cWXLuZ6HW3pxoLRcrzpRcGZzBDzGvM'

describe('gossip payloads', () => {
  const rich = (): Message => message({
    target: 'x'.repeat(43), n: 42n, big: 12345678901234567890123n, f: new Float(1.5), whole: new Float(2), at: new Atom('ok'), t: true, nil: null,
    bin: new Uint8Array([0xff, 0, 1]), list: [1n, 'x', [2n], message({ k: 'v' })], nested: message({ k: 'v', deeper: message({ z: 7n }) }),
    data: 'hello',
  })

  it('a committed message decodes to the same message: same signed ID, commitments verify (httpsig, ans104, HMAC)', async () => {
    const cases: Array<[string, Message]> = [
      ['httpsig@1.0', await commitMessage(rich(), { wallet: w1 })],
      ['ans104@1.0', await commitMessage(message({ target: 'y'.repeat(43), action: 'Eval', data: 'print(1)' }), { wallet: w2, device: 'ans104@1.0' })],
      ['two signers', await commitMessage(await commitMessage(rich(), { wallet: w1 }), { wallet: w2 })],
      ['hmac', await commitMessage(rich())],
    ]
    for (const [name, m] of cases) {
      const bytes = encodePayload(m)
      const back = decodePayload(bytes)
      expect(messageId(back, 'signed'), name).toBe(messageId(m, 'signed'))
      expect(messageId(back, 'all-commitments'), name).toBe(messageId(m, 'all-commitments'))
      expect((await verifyMessage(back)).verified, name).toBe(true)
      expect(encodePayload(back), name).toEqual(bytes) // canonical: the same message is the same bytes
    }
    const two = decodePayload(encodePayload(cases[2]![1]))
    expect((await verifyMessage(two)).committers.sort()).toEqual([w1.address, w2.address].sort())
  })

  it('tampering shows: a changed value keeps the claimed ID but no longer verifies', async () => {
    const m = await commitMessage(rich(), { wallet: w1 })
    const text = new TextDecoder().decode(encodePayload(m)).replace('"hello"', '"hellO"')
    const back = decodePayload(utf8(text))
    expect((await verifyMessage(back)).verified).toBe(false)
  })

  it('size limit and malformed payloads are typed errors', () => {
    const big = message({ data: 'x'.repeat(MAX_PAYLOAD_BYTES) })
    expect(() => encodePayload(big)).toThrow(expect.objectContaining({ name: 'PayloadTooLarge', status: 413 }))
    expect(() => encodePayload(message({ data: 'x'.repeat(100) }), 50)).toThrow(expect.objectContaining({ name: 'PayloadTooLarge' }))
    expect(() => decodePayload(new Uint8Array(MAX_PAYLOAD_BYTES + 1))).toThrow(expect.objectContaining({ name: 'PayloadTooLarge' }))
    for (const bad of ['not json', '[1,2]', '"text"', '{"a": 1.5}', '{"a": {"@as": ["x", {}]}}', '{"a": {"@resolve": []}}']) {
      expect(() => decodePayload(utf8(bad)), bad).toThrow(expect.objectContaining({ name: 'InvalidPayload', status: 400 }))
    }
    expect(() => decodePayload(new Uint8Array([0xff, 0xfe]))).toThrow(expect.objectContaining({ name: 'InvalidPayload' }))
    let deep = '{}'
    for (let i = 0; i < 80; i++) deep = `{"a":${deep}}`
    expect(() => decodePayload(utf8(deep))).toThrow(expect.objectContaining({ name: 'InvalidPayload' }))
  })

  it('topic names', () => {
    const pid = 'A'.repeat(42) + 'b'
    expect(processTopic(pid, 'assignments')).toBe(`/ao-tab/process/1.0.0/${pid}/assignments`)
    for (const ch of ['messages', 'assignments', 'attestations'] as const) expect(parseProcessTopic(processTopic(pid, ch))).toEqual({ pid, channel: ch })
    expect(parseProcessTopic(NODES_TOPIC)).toBeUndefined()
    expect(parseProcessTopic(`/ao-tab/process/1.0.0/${pid}/other`)).toBeUndefined()
    expect(parseProcessTopic(`/ao-tab/process/1.0.0/short/messages`)).toBeUndefined()
    expect(parseProcessTopic(`/ao-tab/process/1.0.0/${pid}/messages/x`)).toBeUndefined()
  })
})

describe('node announcements', () => {
  it('bind the wallet address to the sender\'s peer ID', async () => {
    const m = await makeAnnouncement(w1, { peerId: PEER, capabilities: ['snp', 'blocks'], multiaddrs: [`/ip4/127.0.0.1/tcp/1/p2p/${PEER}`], timestamp: 1_000 })
    const a = await checkAnnouncement(decodePayload(encodePayload(m)), PEER)
    expect(a).toMatchObject({ address: w1.address, peerId: PEER, capabilities: ['snp', 'blocks'], multiaddrs: [`/ip4/127.0.0.1/tcp/1/p2p/${PEER}`], timestamp: 1000 })
    expect(a.id).toBe(messageId(m, 'signed'))
    // No capabilities is an empty list, not an error.
    const none = await checkAnnouncement(await makeAnnouncement(w1, { peerId: PEER, capabilities: [], multiaddrs: [] }), PEER)
    expect(none.capabilities).toEqual([])
  })

  it('are refused when sent by another peer, not committed by the address, tampered, unsigned or from the future', async () => {
    const m = await makeAnnouncement(w1, { peerId: PEER, capabilities: [], multiaddrs: [] })
    await expect(checkAnnouncement(m, OTHER)).rejects.toMatchObject({ name: 'InvalidAnnouncement', message: expect.stringMatching(/sent by/) })
    // w2 signs an announcement that claims w1's address.
    const { commitments: _c, ...fields } = m as Record<string, Message>
    const claim = await commitMessage(message(fields), { wallet: w2 })
    await expect(checkAnnouncement(claim, PEER)).rejects.toMatchObject({ message: expect.stringMatching(/not committed by/) })
    await expect(checkAnnouncement(message({ ...m, capabilities: ['snp'] }), PEER)).rejects.toMatchObject({ message: expect.stringMatching(/do not verify/) })
    await expect(checkAnnouncement(await commitMessage(message(fields)), PEER)).rejects.toMatchObject({ name: 'InvalidAnnouncement' })
    const future = await makeAnnouncement(w1, { peerId: PEER, capabilities: [], multiaddrs: [], timestamp: Date.now() + 3_600_000 })
    await expect(checkAnnouncement(future, PEER)).rejects.toMatchObject({ message: expect.stringMatching(/future/) })
    await expect(checkAnnouncement(message({ a: 'b' }), PEER)).rejects.toMatchObject({ name: 'InvalidAnnouncement' })
  })

  it('the table keeps the newest announcement per address, and follows a node to a new peer ID', async () => {
    const t = new NodeTable()
    const a1 = await checkAnnouncement(await makeAnnouncement(w1, { peerId: PEER, capabilities: [], multiaddrs: [], timestamp: 10 }))
    const a0 = await checkAnnouncement(await makeAnnouncement(w1, { peerId: OTHER, capabilities: [], multiaddrs: [], timestamp: 5 }))
    const a2 = await checkAnnouncement(await makeAnnouncement(w1, { peerId: OTHER, capabilities: ['snp'], multiaddrs: [], timestamp: 20 }))
    expect(t.offer(a1)).toBe(true)
    expect(t.offer(a0)).toBe(false)
    expect(t.offer(a1)).toBe(false)
    expect(t.byPeer(PEER)?.address).toBe(w1.address)
    expect(t.offer(a2)).toBe(true)
    expect(t.byAddress(w1.address)?.peerId).toBe(OTHER)
    expect(t.byPeer(PEER)).toBeUndefined()
    expect(t.byPeer(OTHER)?.capabilities).toEqual(['snp'])
    expect(t.size).toBe(1)
  })
})
