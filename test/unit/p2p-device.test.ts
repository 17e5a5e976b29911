/**
 * p2p@1.0 over HTTP and the intake of gossiped assignments, with real libp2p
 * on 127.0.0.1: a scheduler node A and a node B (wired, not computing), and a
 * bare libp2p host that plays a peer publishing assignments out of order.
 *   - p2p@1.0 info, peers, topics, subscribe, publish, announce, attestations,
 *     scheduled; a node without a network answers 503 (NoNetwork), and so
 *     does a quorum read there.
 *   - POST /~scheduler@1.0/schedule at B (not the scheduler) is forwarded to
 *     A: 202 with the message ID; the slot is found through
 *     /~p2p@1.0/scheduled; the same message again at B answers its assignment.
 *   - assignments arriving out of order are held and imported in order;
 *     assignments of a process B does not know yet are held until slot 0
 *     (which carries the process message) arrives.
 *   - a node restarted on its store follows its processes again and catches
 *     up the assignments it missed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isMessage, message, type Message } from '../../src/core/value.ts'
import { commitMessage } from '../../src/codecs/commitments.ts'
import { messageId } from '../../src/core/id.ts'
import { generateWallet, type Wallet } from '../../src/crypto/wallet.ts'
import { createNode, type AoNode } from '../../src/node/node.ts'
import { MemoryStore } from '../../src/store/memory.ts'
import { createHost, type Host } from '../../src/p2p/host.ts'
import { joinNetwork } from '../../src/p2p/network.ts'
import { encodePayload } from '../../src/p2p/payload.ts'
import { processTopic } from '../../src/p2p/topics.ts'
import { peer, tcpAddr, waitFor, type TestPeer, http } from './p2p-helpers.ts'

const SCHED = message({ device: 'scheduler@1.0' })
const post = (body: Message): Message => message({ path: 'schedule', method: 'POST', body })

describe('p2p@1.0 and the intake of gossiped assignments', () => {
  let a: TestPeer, b: TestPeer
  let raw: Host | undefined
  let wa: Wallet, wb: Wallet, wu: Wallet
  /** An offline scheduler (no network) whose assignments the raw host plays to B. */
  let offline: AoNode

  beforeAll(async () => {
    ;[wa, wb, wu] = await Promise.all([generateWallet(), generateWallet(), generateWallet()])
    a = await peer(wa, { net: { wire: { compute: false } } })
    b = await peer(wb, { net: { bootstrap: [tcpAddr(a.host)], wire: { compute: false, forwardWaitMs: 500 } } })
    offline = await createNode({ wallet: wa, store: new MemoryStore() })
    await waitFor('A and B to know each other', () => a.net.nodes.byAddress(wb.address) && b.net.nodes.byAddress(wa.address))
  }, 60_000)

  afterAll(async () => {
    await raw?.stop()
    await Promise.all([a, b].map((p) => p?.net.stop()))
  })

  const spawn = async (node: AoNode, scheduler: string): Promise<{ proc: Message; pid: string }> => {
    const proc = await commitMessage(message({ type: 'Process', 'scheduler-device': 'scheduler@1.0', scheduler, 'test-seed': String(Math.random()) }), { wallet: wu })
    expect((await node.resolve(SCHED, post(proc))).status).toBe('ok')
    return { proc, pid: messageId(proc, 'signed') }
  }
  const msgFor = (pid: string, n: bigint) => commitMessage(message({ target: pid, n, 'test-seed': String(Math.random()) }), { wallet: wu })

  it('a node without a network answers 503 (NoNetwork) on p2p@1.0 and on a quorum read', async () => {
    const alone = await createNode({ wallet: wu, store: new MemoryStore() })
    const r = await http(alone, '/~p2p@1.0/peers')
    expect(r.status, r.text).toBe(503)
    expect(r.text).toContain('NoNetwork')
    const { pid } = await spawn(alone, wu.address)
    const q = await http(alone, `/${pid}~process@1.0/compute&slot+integer=0&quorum+integer=2`)
    expect(q.status, q.text).toBe(503)
    // scheduled needs only the store.
    const s = await http(alone, `/~p2p@1.0/scheduled?process=${pid}&message=${pid}`)
    expect(s.status, s.text).toBe(200)
    expect(s.msg['slot']).toBe(0n)
  })

  it('info, peers, topics, subscribe, announce, publish, attestations over HTTP', async () => {
    const info = await http(b.node, '/~p2p@1.0/info')
    expect(info.status, info.text).toBe(200)
    expect(info.msg['address']).toBe(wb.address)
    expect(info.msg['peer-id']).toBe(b.host.peerId)
    const peers = await http(b.node, '/~p2p@1.0/peers')
    expect(peers.text).toContain(a.host.peerId)
    expect(peers.text).toContain(wa.address)
    const { pid } = await spawn(a.node, wa.address)
    expect((await http(b.node, `/~p2p@1.0/subscribe?process=${pid}`)).status).toBe(200)
    const topics = await http(b.node, '/~p2p@1.0/topics')
    expect(topics.text).toContain(processTopic(pid, 'attestations'))
    expect(b.net.wiring!.followed()).toContain(pid)
    expect((await http(b.node, '/~p2p@1.0/announce')).status).toBe(200)
    // publish: a committed message on the messages topic reaches A, which schedules it (A is the scheduler).
    await waitFor('A on the topic at B', () => b.net.gossip.subscribers(pid).includes(a.host.peerId))
    const m = await msgFor(pid, 1n)
    const pub = await http(b.node, `/~p2p@1.0/publish?process=${pid}&channel=messages`, message({ body: m }))
    expect(pub.status, pub.text).toBe(200)
    expect(pub.msg['id']).toBe(messageId(m, 'signed'))
    await waitFor('A to schedule the published message', async () => (await http(a.node, `/~p2p@1.0/scheduled?process=${pid}&message=${messageId(m, 'signed')}`)).status === 200)
    const att = await http(b.node, `/~p2p@1.0/attestations?process=${pid}`)
    expect(att.status, att.text).toBe(200)
    const bad = await http(b.node, '/~p2p@1.0/subscribe?process=nope')
    expect(bad.status).toBe(400)
  })

  it('POST /~scheduler@1.0/schedule at a node that is not the scheduler is forwarded: 202, then the slot is found; a repeat answers the assignment', async () => {
    const { pid } = await spawn(a.node, wa.address)
    // B knows nothing of the process yet: without the network this is a 404.
    const m = await msgFor(pid, 7n)
    const r = await http(b.node, '/~scheduler@1.0/schedule', m)
    expect(r.status, r.text).toBe(202)
    expect(r.msg['message']).toBe(messageId(m, 'signed'))
    expect(String(r.msg['location'])).toContain('/~p2p@1.0/scheduled')
    const found = await waitFor('the slot at B', async () => {
      const s = await http(b.node, `/~p2p@1.0/scheduled?process=${pid}&message=${messageId(m, 'signed')}`)
      return s.status === 200 ? s.msg : undefined
    })
    expect(found['slot']).toBe(1n)
    expect(a.net.wiring!.counts.scheduled).toBeGreaterThan(0)
    const again = await http(b.node, '/~scheduler@1.0/schedule', m)
    expect(again.status, again.text).toBe(200)
    expect(again.msg['slot']).toBe(1n)
    // An unsigned message is refused (400), not forwarded.
    const unsigned = await http(b.node, '/~scheduler@1.0/schedule', message({ target: pid, n: 8n }))
    expect(unsigned.status, unsigned.text).toBe(400)
    // A process nobody follows: 503 (NoPeers) once the wait is over, and B does not keep following it.
    const nobody = 'N'.repeat(42) + String(Math.floor(Math.random() * 10))
    const lostMsg = await msgFor(nobody, 1n)
    const lost = await http(b.node, '/~scheduler@1.0/schedule', lostMsg)
    expect(lost.status, lost.text).toBe(503)
    expect(lost.text).toContain('NoPeers')
    expect(b.net.wiring!.followed()).not.toContain(nobody)
    // Once a peer follows it, the same message (same bytes) submitted again goes out: 202.
    a.net.wiring!.follow(nobody)
    const retried = await waitFor('the retry to be forwarded', async () => {
      const r = await http(b.node, '/~scheduler@1.0/schedule', lostMsg)
      return r.status === 202 ? r : undefined
    }, 10_000, 100)
    expect(retried.msg['recipients']).toBeGreaterThanOrEqual(1n)
  })

  it('assignments out of order are held and imported in order; a process learnt from slot 0 when it comes last', async () => {
    raw = await createHost({ wsPort: null })
    await raw.dial(tcpAddr(b.host))
    const play = async (pid: string, order: number[], list: Message[]): Promise<void> => {
      const topic = processTopic(pid, 'assignments')
      raw!.pubsub.subscribe(topic)
      b.net.wiring!.follow(pid)
      await waitFor('B on the topic at the raw host', () => raw!.pubsub.getSubscribers(topic).some((p) => p.toString() === b.host.peerId))
      await waitFor('the raw host on the topic at B', () => b.net.gossip.subscribers(pid, 'assignments').includes(raw!.peerId))
      for (const i of order) {
        await raw!.pubsub.publish(topic, encodePayload(list[i]!))
        await new Promise((r) => setTimeout(r, 30))
      }
    }
    // 1. slots 0, 2, 3, 1
    const one = await spawn(offline, wa.address)
    const list = [(await offline.store.read(`assignments/${one.pid}/0`)) as Message]
    for (let i = 1n; i <= 3n; i++) list.push((await offline.resolve(SCHED, post(await msgFor(one.pid, i)))).value as Message)
    const held = b.net.wiring!.intake.counts.held
    await play(one.pid, [0, 2, 3, 1], list)
    for (let s = 0; s <= 3; s++) await waitFor(`slot ${s} at B`, async () => isMessage(await b.node.store.read(`assignments/${one.pid}/${s}`)))
    expect(b.net.wiring!.intake.counts.held - held).toBeGreaterThanOrEqual(2)
    for (let s = 0; s <= 3; s++) {
      expect(messageId(await b.node.store.read(`assignments/${one.pid}/${s}`) as Message, 'signed')).toBe(messageId(list[s]!, 'signed'))
    }
    // 2. a process B has never seen: slots 2, 1, then 0 (the process message comes with slot 0).
    const two = await spawn(offline, wa.address)
    const list2 = [(await offline.store.read(`assignments/${two.pid}/0`)) as Message]
    for (let i = 1n; i <= 2n; i++) list2.push((await offline.resolve(SCHED, post(await msgFor(two.pid, i)))).value as Message)
    await play(two.pid, [2, 1, 0], list2)
    for (let s = 0; s <= 2; s++) await waitFor(`slot ${s} of the new process at B`, async () => isMessage(await b.node.store.read(`assignments/${two.pid}/${s}`)))
    expect(isMessage(await b.node.store.read(two.pid))).toBe(true)
    expect(b.net.wiring!.intake.heldSlots(two.pid)).toEqual([])
  })

  it('a node restarted on its store follows its processes again and catches up what it missed', async () => {
    const { pid } = await spawn(a.node, wa.address)
    b.net.wiring!.follow(pid)
    await waitFor('slot 0 at B', async () => isMessage(await b.node.store.read(`assignments/${pid}/0`)))
    const store = b.node.store
    await b.net.stop()
    // While B is away, A schedules two more messages.
    for (const n of [1n, 2n]) expect((await a.node.resolve(SCHED, post(await msgFor(pid, n)))).status).toBe('ok')
    // The restart: a new node, host and peer ID on the old store.
    const node = await createNode({ wallet: wb, store })
    const host = await createHost({ wsPort: null })
    const net = await joinNetwork(node, host, { bootstrap: [tcpAddr(a.host)], wire: { compute: false } })
    b = { node, host, net, blocks: b.blocks }
    expect(net.wiring!.followed()).toContain(pid)
    await waitFor('slot 2 at the restarted B', async () => isMessage(await store.read(`assignments/${pid}/2`)))
    // And what comes next arrives by gossip.
    expect((await a.node.resolve(SCHED, post(await msgFor(pid, 3n)))).status).toBe('ok')
    await waitFor('slot 3 at the restarted B', async () => isMessage(await store.read(`assignments/${pid}/3`)))
  })
})
