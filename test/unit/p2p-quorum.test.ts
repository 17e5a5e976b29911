/**
 * Peer-verified results with real libp2p on 127.0.0.1: a relay and three
 * wired headless nodes (joinNetwork wires them: assignments published and
 * imported, messages forwarded to the scheduler, slots computed and attested).
 * A hyper-token process scheduled by node A; a transfer submitted over HTTP at
 * node B is forwarded to A and scheduled there; the assignment reaches all
 * three, all three compute, and a quorum-3 read is verified (200) on each; a
 * quorum of 4 waits (202) until a fourth honest node joins late, catches up,
 * computes and attests. A byzantine node that attests a wrong result is
 * disputed and never counted (200 with the honest three, 409 for a quorum it
 * alone could complete). Forged assignments (wrong signer, broken hash-chain,
 * reused slot) are rejected by every node. A flood of invalid payloads lowers
 * the flooder's score and honest delivery still completes, in a time compared
 * with the time without the flood.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { isMessage, message, type Message, type Value } from '../../src/core/value.ts'
import { commitMessage } from '../../src/codecs/commitments.ts'
import { messageId } from '../../src/core/id.ts'
import { generateWallet, loadJwk, type Wallet } from '../../src/crypto/wallet.ts'
import { flushResults } from '../../src/devices/process.ts'
import { storedSlots } from '../../src/devices/scheduler.ts'
import { multiaddr } from '@multiformats/multiaddr'
import { makeAttestation, readAttestation } from '../../src/p2p/attestations.ts'
import { requestAttestations } from '../../src/p2p/attestation-sync.ts'
import { attestationPath, disputePath, PULL_AFTER_MS } from '../../src/p2p/wiring.ts'
import { createHost, type Host } from '../../src/p2p/host.ts'
import { processTopic } from '../../src/p2p/topics.ts'
import { utf8 } from '../../src/core/bytes.ts'
import { nodeFixtures } from './node-fixtures.ts'
import { peer, tcpAddr, waitFor, type TestPeer, http } from './p2p-helpers.ts'

const SHARED = process.env['AO_SHARED'] ?? join(import.meta.dirname, '../../../shared')
const TOKEN = readFileSync(join(SHARED, 'hyperbeam-data/scripts/hyper-token.lua'), 'utf8')
const SCHED = message({ device: 'scheduler@1.0' })
const post = (body: Message): Message => message({ path: 'schedule', method: 'POST', body })

const texts = (v: Value | undefined): string[] => (Array.isArray(v) ? v : isMessage(v) ? Object.keys(v).sort((a, b) => Number(a) - Number(b)).map((k) => v[k]!) : []).map(String)
const quorumPath = (pid: string, slot: bigint | number, k: number) => `/${pid}~process@1.0/compute&slot+integer=${slot}&quorum+integer=${k}`

describe('p2p: gossip wired into scheduling and computing, attestations, quorum reads', () => {
  let relay: TestPeer, a: TestPeer, b: TestPeer, c: TestPeer
  let late: TestPeer | undefined, byz: TestPeer | undefined, lonely: TestPeer | undefined, stranger: TestPeer | undefined
  let restarted: TestPeer | undefined
  const storedSlotsOf = (p: TestPeer) => storedSlots(p.node.store, pid)
  let flooder: Host | undefined
  let w: Wallet[]
  let proc: Message
  let pid: string
  let boot: string

  beforeAll(async () => {
    w = await Promise.all(['hyperbeam-data/test/key-1.json', 'hyperbeam-data/test/key-2.json', 'hyperbeam-data/test/admissible-report-wallet.json']
      .map(async (f) => loadJwk(await nodeFixtures.json(f))))
    relay = await peer(await generateWallet(), { host: { mode: 'relay' } })
    boot = tcpAddr(relay.host)
    ;[a, b, c] = await Promise.all(w.map((wallet) => peer(wallet, { net: { bootstrap: [boot] } })))
    for (const p of [a, b, c]) {
      await waitFor('a full mesh of direct connections', () => [a, b, c].every((q) => q === p || p.net.peers().includes(q.host.peerId)))
      await waitFor('the announcements', () => [a, b, c].every((q) => p.net.nodes.byAddress(q.node.address)?.peerId === q.host.peerId))
    }
    proc = await commitMessage(message({
      device: 'process@1.0', type: 'Process', 'scheduler-device': 'scheduler@1.0', 'execution-device': 'lua@5.3a',
      scheduler: a.node.address, authority: [a.node.address],
      module: message({ 'content-type': 'application/lua', body: TOKEN }),
      balance: message({ [w[0]!.address]: 1_000_000n, [w[1]!.address]: 1_000_000n }),
      'test-seed': String(Math.random()),
    }), { wallet: w[0]! })
    pid = messageId(proc, 'signed')
  }, 60_000)

  afterAll(async () => {
    await flooder?.stop()
    await Promise.all([late, byz, lonely, stranger, restarted, a, b, c, relay].map((p) => p?.net.stop().catch(() => undefined)))
  })

  const transfer = (from: Wallet, quantity: bigint) => commitMessage(message({
    type: 'Message', target: pid, action: 'Transfer', recipient: 'r'.repeat(43), quantity, 'test-seed': String(Math.random()),
  }), { wallet: from })

  /** Submit at a node that is not the scheduler; the slot it gets (seen at that node). */
  async function submitAt(p: TestPeer, m: Message): Promise<bigint> {
    const r = await http(p.node, `/${pid}~process@1.0/schedule`, m)
    expect(r.status, r.text).toBe(202)
    const id = messageId(m, 'signed')
    expect(r.msg['message']).toBe(id)
    const found = await waitFor('the forwarded message\'s slot', async () => {
      const s = await http(p.node, `/~p2p@1.0/scheduled?process=${pid}&message=${id}`)
      return s.status === 200 ? s.msg : undefined
    }, 20_000, 10)
    return BigInt(found['slot'] as bigint | string)
  }

  /** Poll a quorum read until 200 (202, and 409 when `until` says so, mean not yet). */
  async function verified(p: TestPeer, slot: bigint, k: number, o: { disagreementIsPending?: boolean } = {}): Promise<Message> {
    return waitFor(`quorum ${k} at ${p.node.address.slice(0, 6)}`, async () => {
      const r = await http(p.node, quorumPath(pid, slot, k))
      const pendingStatus = o.disagreementIsPending ? [202, 409] : [202]
      if (r.status !== 200 && !pendingStatus.includes(r.status)) throw new Error(`${r.status} ${r.text.slice(0, 500)}`)
      return r.status === 200 ? r.msg : undefined
    }, 30_000, 20)
  }

  it('a message submitted at B is scheduled by A; the assignment reaches all three; all compute; quorum 3 is verified on each', async () => {
    // Before: B does not schedule the process, and without the network it would answer 404.
    const spawned = await a.node.resolve(SCHED, post(proc))
    expect(spawned.status).toBe('ok')
    for (const p of [b, c]) {
      const s = await http(p.node, `/~p2p@1.0/subscribe?process=${pid}`)
      expect(s.status, s.text).toBe(200)
    }
    for (const p of [b, c]) await waitFor('slot 0 everywhere', async () => isMessage(await p.node.store.read(`assignments/${pid}/0`)))

    const t0 = performance.now()
    const m = await transfer(w[1]!, 7n)
    const slot = await submitAt(b, m)
    expect(slot).toBe(1n)
    const results = await Promise.all([a, b, c].map((p) => verified(p, slot, 3)))
    const ms = performance.now() - t0
    for (const [i, p] of [a, b, c].entries()) {
      const r = results[i]!
      expect(new Set(texts(r['quorum-attesters']))).toEqual(new Set(w.map((x) => x.address)))
      expect(r['quorum-result']).toBe(results[0]!['quorum-result'])
      expect(r['quorum-hashpath']).toBe(results[0]!['quorum-hashpath'])
      // The same assignment at slot 1 on every node, A's, and the result ID is the one stored.
      const mine = await p.node.store.read(`assignments/${pid}/1`) as Message
      expect(messageId(mine, 'signed')).toBe(messageId(await a.node.store.read(`assignments/${pid}/1`) as Message, 'signed'))
      await flushResults(p.node.store)
      expect(await p.node.store.read(`computed/${pid}/${String(r['quorum-result'])}`)).toBeDefined()
    }
    console.log(`quorum: submitted at B → quorum-3 verified on all three in ${ms.toFixed(0)} ms`)
    // p2p@1.0 shows the three attestations of slot 1 at every node.
    const att = await http(c.node, `/~p2p@1.0/attestations?process=${pid}&slot+integer=1`)
    expect(att.status, att.text).toBe(200)
    expect(att.text).toContain(a.node.address)
  })

  it('a slot\'s attestations are pulled from peers only after it waited PULL_AFTER_MS since its first quorum read, then at most once a second', async () => {
    const wiring = a.net.wiring!
    const slot = 1_000_000n // asked for the first time here
    const before = wiring.counts.pulls
    const due = wiring.pull(pid, slot)
    expect(due).toBeGreaterThan(PULL_AFTER_MS - 50)
    expect(due).toBeLessThanOrEqual(PULL_AFTER_MS)
    expect(wiring.counts.pulls).toBe(before) // gossip gets its moment: no stream is opened yet
    await new Promise((r) => setTimeout(r, due + 5))
    expect(wiring.pull(pid, slot)).toBe(1_000)
    expect(wiring.counts.pulls).toBe(before + 1)
    const again = wiring.pull(pid, slot)
    expect(again).toBeGreaterThan(900)
    expect(wiring.counts.pulls).toBe(before + 1)
  })

  it('quorum 4 with three nodes is 202 (with the count); a fourth node joins late, catches up, computes, attests: 200', async () => {
    const pending = await http(a.node, quorumPath(pid, 1n, 4))
    expect(pending.status, pending.text).toBe(202)
    expect(pending.msg['attested']).toBe(3n)
    late = await peer(await generateWallet(), { net: { bootstrap: [boot] } })
    await waitFor('the late node to meet A', () => late!.net.nodes.byAddress(a.node.address))
    // It learns the process by following it: the catch-up brings slot 0 (the process message) and slot 1.
    expect((await http(late.node, `/~p2p@1.0/subscribe?process=${pid}`)).status).toBe(200)
    const r = await verified(late, 1n, 4)
    expect(texts(r['quorum-attesters'])).toHaveLength(4)
    const atA = await verified(a, 1n, 4)
    expect(new Set(texts(atA['quorum-attesters']))).toEqual(new Set([...w.map((x) => x.address), late.node.address]))
  })

  it('a node that follows a process before it has peers catches up as soon as one subscribes (not at the next assignment)', async () => {
    lonely = await peer(await generateWallet(), { net: { wire: { catchUpWaitMs: 100, compute: false } } })
    lonely.net.wiring!.follow(pid)
    await new Promise((r) => setTimeout(r, 300)) // its first catch-up found nobody
    expect(await lonely.node.store.read(`assignments/${pid}/0`)).toBeUndefined()
    const head = (await storedSlotsOf(a)).at(-1)!
    await lonely.host.libp2p.dial(multiaddr(boot))
    // No new assignment is made: what the node gets, it gets by catch-up.
    await waitFor('the schedule at the lonely node', async () => isMessage(await lonely!.node.store.read(`assignments/${pid}/${head}`)), 20_000)
    expect((await storedSlotsOf(a)).at(-1)).toBe(head)
    await lonely.net.stop() // not a peer of the tests below
    lonely = undefined
  })

  it('a node that attests a wrong result is disputed and never counted; 409 shows the differing hashpaths', async () => {
    byz = await peer(await generateWallet(), { net: { bootstrap: [boot], wire: { compute: false } } })
    await waitFor('the byzantine node to meet A', () => byz!.net.nodes.byAddress(a.node.address))
    byz.net.wiring!.follow(pid)
    await waitFor('the byzantine node on the topic at A', () => a.net.gossip.subscribers(pid, 'attestations').includes(byz!.host.peerId))
    const m = await transfer(w[0]!, 3n)
    const slot = await submitAt(c, m)
    await verified(a, slot, 3)
    const honest = a.net.wiring!.table.own(pid, slot)!
    const lie = await makeAttestation(byz.node.wallet, pid, { ...honest, result: 'x'.repeat(43), hashpath: `${honest.hashpath.slice(0, -4)}AAAA` })
    await byz.net.publishAttestation(pid, lie)
    for (const p of [a, b, c]) await waitFor('the lie to arrive', () => p.net.wiring!.table.disputed(pid).has(byz!.node.address))
    // The honest four still verify a quorum of 4 (the byzantine node is reported, not counted).
    // (409 until the fourth honest attestation arrives: the lie is a disagreement meanwhile.)
    const ok4 = await verified(b, slot, 4, { disagreementIsPending: true })
    expect(texts(ok4['quorum-attesters'])).not.toContain(byz.node.address)
    expect(texts(ok4['quorum-disputed'])).toEqual([byz.node.address])
    // A quorum of 5 could only be met with the liar: 409, with both hashpaths.
    const conflict = await http(b.node, quorumPath(pid, slot, 5))
    expect(conflict.status, conflict.text).toBe(409)
    const hp = await b.node.resolvePath(`${quorumPath(pid, slot, 5)}`)
    const list = (hp.value as Message)['hashpaths'] as Value
    const rows = (Array.isArray(list) ? list : Object.values(list as Message)) as Message[]
    expect(rows.map((x) => x['address'])).toEqual([b.node.address, byz.node.address])
    expect(rows.map((x) => x['hashpath'])).toEqual([honest.hashpath, `${honest.hashpath.slice(0, -4)}AAAA`])
    // Later the liar attests the honest result of a later slot: still never counted.
    const m2 = await transfer(w[1]!, 1n)
    const slot2 = await submitAt(b, m2)
    await verified(a, slot2, 4)
    const honest2 = a.net.wiring!.table.own(pid, slot2)!
    await byz.net.publishAttestation(pid, await makeAttestation(byz.node.wallet, pid, honest2))
    await waitFor('the liar\'s second attestation at A', () => a.net.wiring!.table.slot(pid, slot2).some((e) => e.address === byz!.node.address))
    const five = await http(a.node, quorumPath(pid, slot2, 5))
    expect(five.status, five.text).toBe(202)
    expect(five.msg['attested']).toBe(4n)
    const shown = await http(a.node, `/~p2p@1.0/attestations?process=${pid}&slot+integer=${slot2}`)
    expect(shown.text).toContain('disputed')
  })

  it('forged assignments (wrong signer, broken hash-chain, reused slot) are rejected by every node', async () => {
    const forger = byz!
    const last = (await a.node.resolve(proc, message({ path: 'slot' }))).value as Message
    const current = last['current'] as bigint
    const real = await a.node.store.read(`assignments/${pid}/${current}`) as Message
    const { commitments: _c, ...fields } = real as Record<string, Value>
    const other = await transfer(w[1]!, 99n)
    const before = [a, b, c].map((p) => p.net.wiring!.intake.counts.rejected)
    const forgeries = [
      // 1. the next slot, signed by a wallet that is not the process's scheduler
      await commitMessage(message({ ...fields, slot: current + 1n, body: other }), { wallet: forger.node.wallet }),
      // 2. the next slot, signed by the scheduler's own key, whose hash-chain does not continue
      await commitMessage(message({ ...fields, slot: current + 1n, body: other, 'hash-chain': 'A'.repeat(43) }), { wallet: w[0]! }),
      // 3. a slot that is taken, re-used for another message (signed by the scheduler's key)
      await commitMessage(message({ ...fields, body: other }), { wallet: w[0]! }),
    ]
    for (const f of forgeries) await forger.net.publishAssignment(pid, f)
    for (const [i, p] of [a, b, c].entries()) {
      await waitFor('three refusals', () => p.net.wiring!.intake.counts.rejected - before[i]! >= 3)
      const stored = await p.node.store.read(`assignments/${pid}/${current}`) as Message
      expect(messageId(stored, 'signed')).toBe(messageId(real, 'signed'))
      expect(await p.node.store.read(`assignments/${pid}/${current + 1n}`)).toBeUndefined()
      await waitFor('the forger\'s score to drop', () => p.net.score(forger.host.peerId) < 0)
    }
    const names = [a, b, c].map((p) => p.net.wiring!.intake.lastRefusal.get(pid)?.name)
    expect(names.every((n) => n !== undefined)).toBe(true)
    // The schedule goes on: the next honest message gets the next slot everywhere.
    const m = await transfer(w[1]!, 2n)
    const slot = await submitAt(c, m)
    expect(slot).toBe(current + 1n)
    await Promise.all([a, b, c].map((p) => verified(p, slot, 3)))
  })

  it('a flood of invalid payloads lowers the flooder\'s score; honest delivery still completes in comparable time', async () => {
    const honestRun = async (): Promise<number> => {
      const t0 = performance.now()
      const slot = await submitAt(b, await transfer(w[1]!, 1n))
      await Promise.all([a, b, c].map((p) => verified(p, slot, 3)))
      return performance.now() - t0
    }
    const base = [await honestRun(), await honestRun(), await honestRun()].sort((x, y) => x - y)[1]!
    flooder = await createHost({ wsPort: null })
    const topics = (['messages', 'assignments', 'attestations'] as const).map((ch) => processTopic(pid, ch))
    for (const t of topics) flooder.pubsub.subscribe(t)
    for (const p of [a, b, c]) await flooder.dial(tcpAddr(p.host))
    await waitFor('the flooder to see the nodes on the topics', () => [a, b, c].every((p) => flooder!.pubsub.getSubscribers(topics[1]!).some((x) => x.toString() === p.host.peerId)))
    let stop = false
    let sent = 0
    const flood = (async () => {
      while (!stop) {
        const t = topics[sent % 3]!
        await flooder!.pubsub.publish(t, utf8(`{"garbage": ${sent}, "data": "${'z'.repeat(200)}"}`)).catch(() => undefined)
        sent++
        if (sent % 20 === 0) await new Promise((r) => setTimeout(r, 1))
      }
    })()
    await waitFor('the flooder graylisted at every node', () => [a, b, c].every((p) => p.net.score(flooder!.peerId) <= -80), 15_000)
    const during = [await honestRun(), await honestRun(), await honestRun()].sort((x, y) => x - y)[1]!
    stop = true
    await flood
    const scores = [a, b, c].map((p) => p.net.score(flooder!.peerId))
    console.log(`flood: ${sent} invalid payloads; flooder's score ${scores.map((s) => s.toFixed(0)).join(', ')}; honest submit → quorum-3: ${base.toFixed(0)} ms without, ${during.toFixed(0)} ms during the flood (medians of 3)`)
    for (const s of scores) expect(s).toBeLessThanOrEqual(-80)
    expect(during).toBeLessThan(10 * base)
  })

  it('a node that has never seen the process answers a quorum read of it: it learns the process from its peers; an ID no peer runs is 404, and not followed', async () => {
    stranger = await peer(await generateWallet(), { net: { bootstrap: [boot], wire: { findProcessMs: 1_500 } } })
    await waitFor('the stranger to meet A', () => stranger!.net.nodes.byAddress(a.node.address))
    expect(await stranger.node.store.read(pid)).toBeUndefined()
    // No subscribe: the read names the process, and the node finds it on the network.
    const r = await verified(stranger, 1n, 3)
    expect(texts(r['quorum-attesters']).length).toBeGreaterThanOrEqual(3)
    expect((await http(stranger.node, '/~p2p@1.0/topics')).text).toContain(pid)
    const nobody = 'n'.repeat(43)
    const t0 = Date.now()
    const missing = await http(stranger.node, quorumPath(nobody, 1n, 2))
    expect(missing.status, missing.text).toBe(404)
    expect(Date.now() - t0).toBeLessThan(6_000)
    expect((await http(stranger.node, '/~p2p@1.0/topics')).text).not.toContain(nobody)
  })

  it('a node keeps its own attestations and its disputes in its store: restarted with an empty table, it still serves them, and the liar stays uncounted', async () => {
    await verified(b, 1n, 3)
    await waitFor('B\'s attestation of slot 1 in its store', () => b.node.store.read(attestationPath(pid, 1n)))
    const liar = byz!.node.address
    const dispute = b.net.wiring!.table.disputed(pid).get(liar)!
    await waitFor('B\'s dispute of the liar in its store', () => b.node.store.read(disputePath(pid, liar)))
    await b.net.stop()
    restarted = await peer(b.node.wallet, { store: b.node.store, net: { bootstrap: [boot] } })
    await waitFor('A to reach the restarted B', () => a.net.peers().includes(restarted!.host.peerId))
    expect(restarted.net.wiring!.attestations(pid, 1n)).toEqual([])
    expect(restarted.net.wiring!.table.disputed(pid).get(liar)).toEqual(dispute)
    const served = await requestAttestations(a.host.libp2p, restarted.host.libp2p.peerId, pid, 1n)
    const facts = served.map((m) => readAttestation(m))
    expect(facts.map((f) => f.node)).toContain(b.node.address)
    expect(facts.find((f) => f.node === b.node.address)!.slot).toBe(1n)
    // Asked again, it serves the same without reading its store again.
    const store = restarted.node.store
    const reads: string[] = []
    const read = store.read.bind(store)
    store.read = (path: string) => { reads.push(path); return read(path) }
    try {
      const again = await requestAttestations(a.host.libp2p, restarted.host.libp2p.peerId, pid, 1n)
      expect(again.map((m) => readAttestation(m).node)).toContain(b.node.address)
      expect(reads.filter((r) => r === attestationPath(pid, 1n))).toEqual([])
    } finally {
      store.read = read
    }
  })
})
