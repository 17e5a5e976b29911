/**
 * The network layer with real libp2p on 127.0.0.1 (TCP): a relay and three
 * headless nodes that find each other through node announcements, gossip per
 * process with validation and peer scoring, the catch-up protocol for a late
 * node, and snapshot blocks fetched by CID through Helia/bitswap.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { message, type Message } from '../../src/core/value.ts'
import { commitMessage, verifyMessage } from '../../src/codecs/commitments.ts'
import { messageId } from '../../src/core/id.ts'
import { bytesEqual, utf8 } from '../../src/core/bytes.ts'
import { generateWallet, loadJwk, type Wallet } from '../../src/crypto/wallet.ts'
import { createHost, type Host } from '../../src/p2p/host.ts'
import { MAX_PAYLOAD_BYTES, encodePayload } from '../../src/p2p/payload.ts'
import { NODES_TOPIC, processTopic } from '../../src/p2p/topics.ts'
import { makeAnnouncement } from '../../src/p2p/announce.ts'
import { catchUp, handleCatchup, storeSource, type AssignmentSource } from '../../src/p2p/catchup.ts'
import type { GossipMeta } from '../../src/p2p/gossip.ts'
import { nodeFixtures } from './node-fixtures.ts'
import { peer, tcpAddr, waitFor, type TestPeer } from './p2p-helpers.ts'

const SCHED = message({ device: 'scheduler@1.0' })
const post = (body: Message): Message => message({ path: 'schedule', method: 'POST', body })

describe('p2p: a relay and three headless nodes on 127.0.0.1', () => {
  let relay: TestPeer, a: TestPeer, b: TestPeer, c: TestPeer
  let late: TestPeer | undefined
  let attacker: Host | undefined
  let w: Wallet[]
  let lateWallet: Wallet
  let boot: string
  const schedulers = new Map<string, string>()
  const checkedAssignments: Array<[string, Message, Message | undefined]> = []

  beforeAll(async () => {
    w = await Promise.all(['hyperbeam-data/test/key-1.json', 'hyperbeam-data/test/key-2.json', 'hyperbeam-data/test/admissible-report-wallet.json']
      .map(async (f) => loadJwk(await nodeFixtures.json(f))))
    const [rw, lw] = await Promise.all([generateWallet(), generateWallet()])
    lateWallet = lw
    relay = await peer(rw, { host: { mode: 'relay', wsPort: 0 } })
    boot = tcpAddr(relay.host)
    // The node's assignment check: signed by a scheduler the process names (here: a table the test fills).
    const validateAssignment = async (pid: string, x: Message, body: Message | undefined): Promise<'accept' | 'reject' | 'ignore'> => {
      checkedAssignments.push([pid, x, body])
      const sched = schedulers.get(pid)
      if (sched === undefined) return 'ignore'
      return (await verifyMessage(x)).committers.includes(sched) ? 'accept' : 'reject'
    }
    ;[a, b, c] = await Promise.all(w.map((wallet) => peer(wallet, { net: { bootstrap: [boot], validateAssignment } })))
  }, 60_000)

  afterAll(async () => {
    await Promise.all([late, relay, a, b, c].map((p) => p?.net.stop()))
    await attacker?.stop()
  })

  it('every node sees every announcement (address ↔ peer ID, capabilities), and nodes connect directly', async () => {
    const all = [relay, a, b, c]
    for (const p of all) {
      await waitFor(`${p.node.address.slice(0, 8)} to know all four nodes`, () => all.every((q) => p.net.nodes.byAddress(q.node.address)?.peerId === q.host.peerId))
    }
    for (const p of [a, b, c]) {
      expect(p.net.nodes.byPeer(relay.host.peerId)?.address).toBe(relay.node.address)
      expect(p.net.nodes.byAddress(relay.node.address)?.capabilities).toContain('relay')
      expect(p.net.nodes.byAddress(a.node.address)?.capabilities).toEqual(['blocks'])
      expect(p.net.nodes.byAddress(b.node.address)?.multiaddrs).toEqual(b.host.multiaddrs())
    }
    // Found through the announcements, not only through the relay.
    for (const p of [a, b, c]) {
      await waitFor('a full mesh of direct connections', () => [a, b, c].every((q) => q === p || p.net.peers().includes(q.host.peerId)))
    }
    expect(relay.net.announcer.counts.reject).toBe(0)
  })

  it('a message published on a process topic reaches the other nodes, same signed ID, verified', async () => {
    const proc = await commitMessage(message({ type: 'Process', scheduler: a.node.address, 'test-seed': String(Math.random()) }), { wallet: w[0]! })
    const pid = messageId(proc, 'signed')
    const got = new Map<TestPeer, Array<[Message, GossipMeta]>>()
    for (const p of [a, b, c]) {
      got.set(p, [])
      p.net.subscribe(pid, { message: (m, meta) => got.get(p)!.push([m, meta]) })
    }
    await waitFor('a to see b and c on the topic', () => [b, c].every((q) => a.net.gossip.subscribers(pid).includes(q.host.peerId)))
    const msg = await commitMessage(message({ target: pid, action: 'Transfer', quantity: 10n, data: 'hello' }), { wallet: w[1]! })
    const t0 = performance.now()
    const receipt = await a.net.publishMessage(pid, msg)
    expect(receipt.id).toBe(messageId(msg, 'signed'))
    for (const p of [b, c]) await waitFor('delivery', () => got.get(p)!.length === 1, 10_000, 5)
    const ms = performance.now() - t0
    for (const p of [b, c]) {
      const [m, meta] = got.get(p)![0]!
      expect(messageId(m, 'signed')).toBe(messageId(msg, 'signed'))
      expect((await verifyMessage(m)).verified).toBe(true)
      expect(meta).toMatchObject({ pid, channel: 'messages', id: receipt.id, from: a.host.peerId, committers: [w[1]!.address] })
    }
    expect(got.get(a)).toHaveLength(0) // no echo to the publisher
    console.log(`gossip: published → delivered at 2 nodes in ${ms.toFixed(1)} ms`)
    // Assignments and attestations travel the same way (an attestation must be committed by its `node`).
    const att = await commitMessage(message({ process: pid, slot: 0n, node: c.node.address, result: 'r', hashpath: 'h' }), { wallet: w[2]! })
    const seen: Message[] = []
    b.net.subscribe(pid, { attestation: (m) => seen.push(m) })
    await c.net.publishAttestation(pid, att)
    await waitFor('the attestation at b', () => seen.length === 1)
    expect(messageId(seen[0]!, 'signed')).toBe(messageId(att, 'signed'))
  })

  it('invalid payloads are rejected, not delivered, and lower the sender\'s score; announcing another peer is rejected', async () => {
    const proc = await commitMessage(message({ type: 'Process', 'test-seed': String(Math.random()) }), { wallet: w[0]! })
    const pid = messageId(proc, 'signed')
    const topic = processTopic(pid, 'messages')
    const delivered: Message[] = []
    b.net.subscribe(pid, { message: (m) => delivered.push(m) })
    // Oversize is refused at the publisher already, as a typed error.
    const big = message({ target: pid, data: 'x'.repeat(MAX_PAYLOAD_BYTES) })
    await expect(b.net.publishMessage(pid, big)).rejects.toMatchObject({ name: 'PayloadTooLarge', status: 413 })

    attacker = await createHost({ wsPort: null })
    attacker.pubsub.subscribe(topic)
    attacker.pubsub.subscribe(NODES_TOPIC)
    await attacker.dial(tcpAddr(b.host))
    await waitFor('the attacker to see b on the topic', () => attacker!.pubsub.getSubscribers(topic).some((p) => p.toString() === b.host.peerId))
    const before = b.net.score(attacker.peerId)
    expect(before).toBeGreaterThanOrEqual(0)
    // An announcement signed by a real wallet but naming another peer (a) than its sender.
    const rejects = b.net.announcer.counts.reject
    const forged = await makeAnnouncement(relay.node.wallet, { peerId: a.host.peerId, capabilities: ['snp'], multiaddrs: [], timestamp: Date.now() + 1000 })
    await attacker.pubsub.publish(NODES_TOPIC, encodePayload(forged))
    await waitFor('the forged announcement to be rejected', () => b.net.announcer.counts.reject > rejects)
    expect(b.net.nodes.byAddress(relay.node.address)?.peerId).toBe(relay.host.peerId)

    const counts = { ...b.net.gossip.counts.messages }

    // 1. a signed message with one committed value changed after signing
    const good = await commitMessage(message({ target: pid, n: 1n, 'test-seed': String(Math.random()) }), { wallet: w[1]! })
    const tampered = message({ ...good, n: 2n })
    expect((await verifyMessage(tampered)).verified).toBe(false)
    await attacker.pubsub.publish(topic, encodePayload(tampered))
    // 2. over the size limit
    await attacker.pubsub.publish(topic, utf8(JSON.stringify({ data: 'y'.repeat(MAX_PAYLOAD_BYTES) })))
    // 3. not a message at all
    await attacker.pubsub.publish(topic, new Uint8Array([0xff, 0xfe, 1, 2, 3]))
    await waitFor('three rejections at b', () => b.net.gossip.counts.messages.reject - counts.reject >= 3)
    const after = await waitFor('the attacker\'s score to drop', () => { const s = b.net.score(attacker!.peerId); return s <= -80 ? s : undefined }, 10_000)
    expect(after).toBeLessThanOrEqual(-80) // graylisted: its RPCs are ignored from now on
    expect(b.net.gossip.counts.messages.accept).toBe(counts.accept)

    // The honest message still gets through, from an honest peer.
    a.net.subscribe(pid)
    await waitFor('a on the topic at b', () => b.net.gossip.subscribers(pid).includes(a.host.peerId) && a.net.gossip.subscribers(pid).includes(b.host.peerId))
    const good2 = await commitMessage(message({ target: pid, n: 3n, 'test-seed': String(Math.random()) }), { wallet: w[1]! })
    await a.net.publishMessage(pid, good2)
    await waitFor('the honest message at b', () => delivered.some((m) => messageId(m, 'signed') === messageId(good2, 'signed')))
    expect(delivered.some((m) => m['n'] === 2n)).toBe(false)
    console.log(`score of the attacker at b: ${before} → ${after}; rejected ${b.net.gossip.counts.messages.reject - counts.reject} payloads`)
  })

  it('assignments are delivered only when the node\'s validateAssignment accepts them; an assignment from a non-scheduler lowers its sender\'s score', async () => {
    const proc = await commitMessage(message({ type: 'Process', 'scheduler-device': 'scheduler@1.0', scheduler: a.node.address, 'test-seed': String(Math.random()) }), { wallet: w[0]! })
    const pid = messageId(proc, 'signed')
    schedulers.set(pid, a.node.address)
    const got = new Map<TestPeer, string[]>([[a, []], [b, []], [c, []]])
    for (const p of [a, b, c]) p.net.subscribe(pid, { assignment: (x) => got.get(p)!.push(messageId(x, 'signed')) })
    await waitFor('the topic mesh', () => [a, c].every((p) => [b, c, a].filter((q) => q !== p).every((q) => p.net.gossip.subscribers(pid, 'assignments').includes(q.host.peerId))))
    // a is the scheduler: it assigns slot 0 and 1 and gossips the assignments.
    const s0 = (await a.node.resolve(SCHED, post(proc))).value as Message
    const m1 = await commitMessage(message({ target: pid, n: 1n }), { wallet: w[1]! })
    const s1 = (await a.node.resolve(SCHED, post(m1))).value as Message
    for (const x of [s0, s1]) await a.net.publishAssignment(pid, x)
    for (const p of [b, c]) await waitFor('both assignments', () => got.get(p)!.length === 2)
    const call = checkedAssignments.find(([p, x]) => p === pid && x['slot'] === 1n)!
    expect(messageId(call[2]!, 'signed')).toBe(messageId(m1, 'signed')) // the assigned message, as the callback's third argument
    // c forges slot 2 with its own wallet: valid commitments, wrong signer.
    const before = b.net.score(c.host.peerId)
    const rejected = b.net.gossip.counts.assignments.reject
    const { commitments: _c, ...fields } = s1 as Record<string, Message>
    const forged = await commitMessage(message({ ...fields, slot: 2n }), { wallet: w[2]! })
    expect((await verifyMessage(forged)).verified).toBe(true)
    await c.net.publishAssignment(pid, forged)
    await waitFor('b to reject the forged assignment', () => b.net.gossip.counts.assignments.reject > rejected)
    await waitFor('c\'s score at b to drop', () => b.net.score(c.host.peerId) < before)
    expect(got.get(b)).toHaveLength(2)
    // The same assignment again is no news: the same bytes are dropped by gossipsub itself, the
    // same signed ID in other bytes (an uncommitted key added) is ignored by the validator.
    await c.net.publishAssignment(pid, s1)
    await c.net.publishAssignment(pid, message({ ...s1, note: 'uncommitted' }))
    await waitFor('b to ignore the duplicate', () => b.net.gossip.counts.assignments.ignore > 0)
    expect(got.get(b)).toHaveLength(2)
  })

  it('a node that joins late catches up a schedule through /ao-tab/assignments/1.0.0 (several bounded pages), checking each', async () => {
    const proc = await commitMessage(message({ type: 'Process', 'scheduler-device': 'scheduler@1.0', scheduler: a.node.address, 'test-seed': String(Math.random()) }), { wallet: w[0]! })
    const pid = messageId(proc, 'signed')
    const t0 = performance.now()
    expect((await a.node.resolve(SCHED, post(proc))).status).toBe('ok')
    const N = 120
    for (let i = 1; i <= N; i++) {
      const m = await commitMessage(message({ target: pid, n: BigInt(i) }), { wallet: w[1]! })
      const o = await a.node.resolve(SCHED, post(m))
      expect(o.status).toBe('ok')
    }
    const tSched = performance.now() - t0
    late = await peer(lateWallet, { net: { bootstrap: [boot] } })
    await waitFor('the late node to learn a\'s peer', () => late!.net.nodes.byAddress(a.node.address)?.peerId)
    const peerA = late.net.nodes.byAddress(a.node.address)!.peerId
    const t1 = performance.now()
    const r = await late.net.catchUp(peerA, pid)
    const tCatch = performance.now() - t1
    expect(r).toEqual({ stored: N + 1, last: BigInt(N), pages: 2 })
    for (const s of [0, 1, 57, 100, N]) {
      const mine = await late.node.store.read(`assignments/${pid}/${s}`) as Message
      const theirs = await a.node.store.read(`assignments/${pid}/${s}`) as Message
      expect(messageId(mine, 'signed')).toBe(messageId(theirs, 'signed'))
      expect((await verifyMessage(mine)).verified).toBe(true)
    }
    // Asking again from where it stopped stores nothing new; a range gives just that range.
    expect(await late.net.catchUp(peerA, pid)).toMatchObject({ stored: 0 })
    const range: bigint[] = []
    expect(await late.net.catchUp(peerA, pid, { from: 10n, to: 15n, sink: async (_p, x) => { range.push(x['slot'] as bigint) } })).toEqual({ stored: 6, last: 15n, pages: 1 })
    expect(range).toEqual([10n, 11n, 12n, 13n, 14n, 15n])
    console.log(`catch-up: ${N + 1} assignments scheduled in ${tSched.toFixed(0)} ms, fetched and checked in ${tCatch.toFixed(0)} ms (${((N + 1) / tCatch * 1000).toFixed(0)}/s)`)

    // A peer that serves a tampered schedule: the catch-up stops at the first bad assignment.
    const src = storeSource(a.node.store)
    const evil = async (mutate: (a: Message) => Promise<Message>): Promise<{ stored: number; error: unknown }> => {
      const h = await createHost({ wsPort: null })
      const bad: AssignmentSource = async (p, from, to, limit) => Promise.all((await src(p, from, to, limit)).map((x) => (x['slot'] === 5n ? mutate(x) : x)))
      await handleCatchup(h.libp2p, bad)
      const kept: Message[] = []
      const error = await catchUp(late!.host.libp2p, h.libp2p.getMultiaddrs(), pid, { from: 0n, sink: async (_p, x) => { kept.push(x) } }).then(() => undefined, (e) => e)
      await h.stop()
      return { stored: kept.length, error }
    }
    const sig = await evil(async (x) => message({ ...x, timestamp: 1n }))
    expect(sig.error).toMatchObject({ name: 'CatchupFailed' })
    expect(sig.stored, String(sig.error)).toBe(5)
    expect(sig.error).toMatchObject({ name: 'CatchupFailed', message: expect.stringMatching(/assignment 5: its commitments do not verify/) })
    // Re-signed by the scheduler's own wallet, but the hash-chain does not continue.
    const chain = await evil(async (x) => {
      const { commitments: _c, ...rest } = x as Record<string, Message>
      return commitMessage(message({ ...rest, 'hash-chain': 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }), { wallet: w[0]! })
    })
    expect(chain.stored).toBe(5)
    expect(chain.error).toMatchObject({ name: 'CatchupFailed', message: expect.stringMatching(/hash-chain does not continue/) })
  })

  it('a snapshot block put on one node is fetched by CID on another (Helia, bitswap)', async () => {
    const bytes = globalThis.crypto.getRandomValues(new Uint8Array(60_000))
    const cid = await a.blocks.putBlock(bytes)
    expect(await c.blocks.has(cid)).toBe(false)
    const t0 = performance.now()
    const got = await c.host.blocks.getBlock(cid)
    const ms = performance.now() - t0
    expect(bytesEqual(got, bytes)).toBe(true)
    expect(await c.blocks.has(cid)).toBe(true) // kept in c's own blockstore
    // A snapshot over one chunk: raw chunks under a dag-cbor root, fetched whole by the root CID.
    const large = new Uint8Array(1_500_000).map((_, i) => (i * 31) & 0xff)
    const root = await b.blocks.putBytes(large)
    const t1 = performance.now()
    const whole = await c.host.blocks.getBytes(root)
    const ms2 = performance.now() - t1
    expect(whole.length).toBe(large.length)
    expect(bytesEqual(whole, large)).toBe(true) // (not toEqual: vitest compares 1.5 MB element by element for seconds)
    console.log(`bitswap: a 60 kB block in ${ms.toFixed(0)} ms; a 1.5 MB snapshot (2 chunks + root) in ${ms2.toFixed(0)} ms`)
  })
})
