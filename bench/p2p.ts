/**
 * The network, 5 Node peers on loopback in one run (a relay besides them),
 * every peer wired (joinNetwork: assignments published and imported, messages
 * forwarded to the scheduler, slots computed and attested):
 *
 *   latency      a transfer to a hyper-token process submitted over HTTP at a
 *                peer that is not the scheduler (POST …/schedule → 202), until
 *                a quorum-3 read at that peer answers 200 (forwarded by gossip,
 *                scheduled and signed by peer 0, gossiped, imported, computed and
 *                attested by the peers): p50 and p95. Goal p50 ≤ 150 ms.
 *                Baseline: a raw gossipsub publish of a payload of the same size
 *                from one peer until the four others have it.
 *   throughput   assignments made by peer 0 (signed, RSA-4096), gossiped, checked
 *                (importAssignment) and stored by all four other peers, per
 *                second, with 64 submissions in flight (these peers do not
 *                compute these processes): for one process (its assignments
 *                are made one at a time) and for 4 side by side. Goal ≥ 500/s.
 *                Baseline: raw gossipsub
 *                payloads of the same size delivered to the four others per
 *                second; and the scheduler's own signing rate alone.
 */
import '../test/setup.ts'
import { MemoryBlockstore } from 'blockstore-core'
import { createNode, type AoNode } from '../src/node/node.ts'
import { MemoryStore } from '../src/store/memory.ts'
import { Blocks } from '../src/snapshot/blocks.ts'
import { createHost, type Host } from '../src/p2p/host.ts'
import { joinNetwork, type Network } from '../src/p2p/network.ts'
import { encodePayload } from '../src/p2p/payload.ts'
import { isMessage, message, type Message } from '../src/core/value.ts'
import { commitMessage } from '../src/codecs/commitments.ts'
import { messageId } from '../src/core/id.ts'
import { generateWallet, type Wallet } from '../src/crypto/wallet.ts'
import { scheduledAssignment } from '../src/devices/scheduler.ts'
import { messageToHttpParts } from '../src/devices/relay.ts'
import type { GossipsubMessage } from '@libp2p/gossipsub'
import { fmt } from './harness.ts'
import { commitAll, sharedText, testWallets } from './process-setup.ts'

interface Peer { node: AoNode; host: Host; net: Network }

export interface Percentiles { samples: number; p50: number; p95: number; mean: number }
export interface Rate { count: number; seconds: number; perSecond: number }
export interface P2pBench {
  peers: number
  /** Processes the second throughput run schedules side by side (the first: one). */
  processes: number
  latency: Percentiles
  baselineLatency: Percentiles
  /** One process. */
  assignments: Rate
  /** `processes` processes side by side. */
  assignmentsSeveral: Rate
  baselineDelivery: Rate
  /** Assignments made by the scheduler alone (signed and stored, nothing on the network awaited). */
  schedulerOnly: Rate
  schedulerOnlySeveral: Rate
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
async function until<T>(what: string, f: () => T | Promise<T>, ms = 30_000, every = 1): Promise<NonNullable<Awaited<T>>> {
  const end = Date.now() + ms
  for (;;) {
    const v = await f()
    if (v) return v as NonNullable<Awaited<T>>
    if (Date.now() > end) throw new Error(`bench p2p: timed out waiting for ${what}`)
    await sleep(every)
  }
}

function percentiles(xs: number[]): Percentiles {
  const s = [...xs].sort((a, b) => a - b)
  const at = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!
  return { samples: s.length, p50: at(0.5), p95: at(0.95), mean: s.reduce((a, b) => a + b, 0) / s.length }
}

/**
 * AO_BENCH_SCHEDULER_SIGNATURES=N sets every peer's `scheduler_signatures`
 * (RSA signatures of assignments in flight; default: cores − 1), to compare
 * limits: `AO_BENCH_SCHEDULER_SIGNATURES=64 npm run bench -- p2p`.
 */
const SIGNATURES = process.env['AO_BENCH_SCHEDULER_SIGNATURES']

async function startPeer(wallet: Wallet, o: { mode?: 'relay'; bootstrap?: string[]; compute?: (pid: string) => boolean } = {}): Promise<Peer> {
  const blockstore = new MemoryBlockstore()
  const config = SIGNATURES === undefined ? undefined : message({ scheduler_signatures: SIGNATURES })
  const node = await createNode({ wallet, store: new MemoryStore(), blocks: new Blocks(blockstore), ...(config && { config }) })
  const host = await createHost({ wsPort: null, blockstore, ...(o.mode ? { mode: o.mode } : {}) })
  const net = await joinNetwork(node, host, { bootstrap: o.bootstrap ?? [], wire: { compute: o.compute ?? true } })
  return { node, host, net }
}

const tcp = (h: Host): string => h.multiaddrs().find((m) => !m.includes('/ws'))!

/** Deliveries of a raw topic at a peer: payload hash → time. */
function listen(p: Peer, topic: string, seen: Map<string, number>): void {
  p.host.pubsub.subscribe(topic)
  p.host.pubsub.addEventListener('gossipsub:message', (e: CustomEvent<GossipsubMessage>) => {
    if (e.detail.msg.topic === topic) seen.set(new TextDecoder().decode(e.detail.msg.data.subarray(0, 40)), performance.now())
  })
}

export async function benchP2p({ peers = 5, samples = 40, assignments = 1000, processes = 4 } = {}): Promise<P2pBench> {
  const [w1, w2] = await testWallets()
  const relay = await startPeer(await generateWallet(), { mode: 'relay' })
  const throughputPids = new Set<string>()
  const wallets = [w1, ...await Promise.all(Array.from({ length: peers - 1 }, () => generateWallet()))]
  const all = await Promise.all(wallets.map((w) => startPeer(w, { bootstrap: [tcp(relay.host)], compute: (pid) => !throughputPids.has(pid) })))
  const [sched, ...others] = all as [Peer, ...Peer[]]
  try {
    for (const p of all) await until('a full mesh', () => all.every((q) => q === p || p.net.peers().includes(q.host.peerId)))

    // ---------------------------------------------------------------- latency
    const proc = await commitMessage(message({
      device: 'process@1.0', type: 'Process', 'scheduler-device': 'scheduler@1.0', 'execution-device': 'lua@5.3a',
      scheduler: w1.address, authority: [w1.address], module: message({ 'content-type': 'application/lua', body: sharedText('hyperbeam-data/scripts/hyper-token.lua') }),
      balance: message({ [w1.address]: 1_000_000n, [w2.address]: 1_000_000n }), 'bench-seed': String(Math.random()),
    }), { wallet: w1 })
    const pid = messageId(proc, 'signed')
    if ((await sched.node.resolve(message({ device: 'scheduler@1.0' }), message({ path: 'schedule', method: 'POST', body: proc }))).status !== 'ok') throw new Error('spawn failed')
    for (const p of others) p.net.wiring!.follow(pid)
    for (const p of others) await until('slot 0 at every peer', async () => isMessage(await p.node.store.read(`assignments/${pid}/0`)))
    for (const p of all) await until('the topic mesh', () => all.every((q) => q === p || p.net.gossip.subscribers(pid, 'attestations').includes(q.host.peerId)))
    const warm = 3
    const transfers = await commitAll(Array.from({ length: warm + samples }, (_, i) => ({
      wallet: i % 2 === 0 ? w1 : w2,
      msg: message({ type: 'Message', target: pid, action: 'Transfer', recipient: 'r'.repeat(43), quantity: 1n, nonce: BigInt(i) }),
    })))
    const times: number[] = []
    for (let i = 0; i < transfers.length; i++) {
      const at = others[i % others.length]!
      const m = transfers[i]!
      const id = messageId(m, 'signed')
      const parts = messageToHttpParts(m, { bundle: true })
      const t0 = performance.now()
      const r = await at.node.handle(new Request(`http://peer/${pid}~process@1.0/schedule`, { method: 'POST', headers: parts.headers, body: parts.body as Uint8Array<ArrayBuffer> }))
      if (r.status !== 202) throw new Error(`submit: ${r.status} ${await r.text()}`)
      const a = await until('the slot at the submitting peer', () => scheduledAssignment(at.node.store, pid, id))
      const q = await at.node.resolvePath(`/${pid}~process@1.0/compute&slot+integer=${a['slot'] as bigint}&quorum+integer=3&quorum-wait+integer=10000`)
      const status = isMessage(q.value) ? q.value['status'] : undefined
      if (q.status !== 'ok' || status !== undefined) throw new Error(`quorum read: ${q.status} ${String(status)} ${String(isMessage(q.value) ? q.value['body'] : '')}`)
      if (i >= warm) times.push(performance.now() - t0)
    }

    // Baseline: a raw gossipsub payload of the same size, one peer to the four others.
    const topic = `/ao-tab/bench/${Math.random()}`
    const seen = new Map<Peer, Map<string, number>>(others.map((p) => [p, new Map()]))
    for (const p of others) listen(p, topic, seen.get(p)!)
    const src = others[0]!
    const receivers = [sched, ...others.slice(1)]
    seen.set(sched, new Map())
    listen(sched, topic, seen.get(sched)!)
    src.host.pubsub.subscribe(topic)
    await until('the raw topic mesh', () => receivers.every((q) => src.host.pubsub.getSubscribers(topic).some((x) => x.toString() === q.host.peerId)))
    await sleep(1200) // a heartbeat: the mesh forms
    const size = encodePayload(transfers[0]!).length
    const raw: number[] = []
    for (let i = 0; i < warm + samples; i++) {
      const tag = `${String(i).padStart(8, '0')}-${Math.random().toString(36).slice(2)}`.padEnd(40, 'x')
      const bytes = new TextEncoder().encode(tag.padEnd(size, ' '))
      const t0 = performance.now()
      await src.host.pubsub.publish(topic, bytes)
      await until('raw delivery', () => receivers.every((q) => seen.get(q)!.has(tag)))
      if (i >= warm) raw.push(performance.now() - t0)
    }

    // ---------------------------------------------------------------- throughput
    // Assignments of `n` processes scheduled by peer 0 side by side (each process's are made one at a time).
    const throughput = async (n: number): Promise<{ all: Rate; scheduler: Rate; firstPid: string }> => {
      const tpids: string[] = []
      for (let i = 0; i < n; i++) {
        const tproc = await commitMessage(message({ type: 'Process', 'scheduler-device': 'scheduler@1.0', scheduler: w1.address, 'bench-seed': String(Math.random()) }), { wallet: w1 })
        const tpid = messageId(tproc, 'signed')
        throughputPids.add(tpid)
        tpids.push(tpid)
        await sched.node.resolve(message({ device: 'scheduler@1.0' }), message({ path: 'schedule', method: 'POST', body: tproc }))
        for (const p of others) p.net.wiring!.follow(tpid)
      }
      for (const tpid of tpids) {
        for (const p of others) await until('slot 0 of the throughput process', async () => isMessage(await p.node.store.read(`assignments/${tpid}/0`)))
        for (const p of all) await until('its topic mesh', () => all.every((q) => q === p || p.net.gossip.subscribers(tpid, 'assignments').includes(q.host.peerId)))
      }
      await sleep(1200)
      const per = Math.floor(assignments / n)
      const msgs = await commitAll(Array.from({ length: per * n }, (_, i) => ({ wallet: w2, msg: message({ target: tpids[i % n]!, n: BigInt(i) }) })))
      const t0 = performance.now()
      let next = 0
      await Promise.all(Array.from({ length: 64 }, async () => {
        while (next < msgs.length) {
          const m = msgs[next++]!
          const o = await sched.node.resolve(message({ device: 'scheduler@1.0' }), message({ path: 'schedule', method: 'POST', body: m }))
          if (o.status !== 'ok') throw new Error(`schedule: ${o.status}`)
        }
      }))
      const tSched = performance.now()
      for (const tpid of tpids) {
        for (const p of others) await until('the last assignment at every peer', async () => isMessage(await p.node.store.read(`assignments/${tpid}/${per}`)), 120_000, 5)
      }
      const tAll = performance.now()
      return { all: rate(per * n, tAll - t0), scheduler: rate(per * n, tSched - t0), firstPid: tpids[0]! }
    }
    const rate = (count: number, ms: number): Rate => ({ count, seconds: ms / 1000, perSecond: count / (ms / 1000) })
    const one = await throughput(1)
    const several = await throughput(processes)

    // Baseline: raw payloads of an assignment's size, from the scheduler to the four others.
    const asize = encodePayload(await sched.node.store.read(`assignments/${one.firstPid}/1`) as Message).length
    const topic2 = `/ao-tab/bench/${Math.random()}`
    const got = new Map<Peer, Map<string, number>>(others.map((p) => [p, new Map()]))
    for (const p of others) listen(p, topic2, got.get(p)!)
    sched.host.pubsub.subscribe(topic2)
    await until('the raw topic mesh', () => others.every((q) => sched.host.pubsub.getSubscribers(topic2).some((x) => x.toString() === q.host.peerId)))
    await sleep(1200)
    const b0 = performance.now()
    for (let i = 0; i < assignments; i++) {
      const tag = `${String(i).padStart(8, '0')}-${Math.random().toString(36).slice(2)}`.padEnd(40, 'x')
      await sched.host.pubsub.publish(topic2, new TextEncoder().encode(tag.padEnd(asize, ' ')))
    }
    await until('every raw payload at every peer', () => others.every((q) => got.get(q)!.size >= assignments), 120_000, 5)
    const b1 = performance.now()

    return {
      peers,
      latency: percentiles(times),
      baselineLatency: percentiles(raw),
      processes,
      assignments: one.all,
      assignmentsSeveral: several.all,
      baselineDelivery: rate(assignments, b1 - b0),
      schedulerOnly: one.scheduler,
      schedulerOnlySeveral: several.scheduler,
    }
  } finally {
    await Promise.all([...all, relay].map((p) => p.net.stop().catch(() => undefined)))
  }
}

export function printP2p(b: P2pBench): void {
  console.log(`\nThe network: ${b.peers} Node peers on loopback (and a relay), every peer wired`)
  console.log('| | p50 ms | p95 ms | mean ms | samples | baseline: raw gossipsub, one peer → the four others | p50 ms | p95 ms | p50 / baseline p50 |')
  console.log('|---|---:|---:|---:|---:|---|---:|---:|---:|')
  const l = b.latency, r = b.baselineLatency
  console.log(`| submitted at a non-scheduler peer → quorum-3 verified there (goal p50 ≤ 150 ms) | ${l.p50.toFixed(0)} | ${l.p95.toFixed(0)} | ${l.mean.toFixed(0)} | ${l.samples} | same payload size | ${r.p50.toFixed(1)} | ${r.p95.toFixed(1)} | ${(l.p50 / r.p50).toFixed(1)} |`)
  console.log('| | count | seconds | per second | baseline | per second | ratio |')
  console.log('|---|---:|---:|---:|---|---:|---:|')
  const row = (what: string, r: Rate) => `| ${what} | ${r.count} | ${r.seconds.toFixed(2)} | ${fmt(r.perSecond)} | raw gossipsub payloads of that size at 4 peers | ${fmt(b.baselineDelivery.perSecond)} | ${(b.baselineDelivery.perSecond / r.perSecond).toFixed(1)} |`
  console.log(row('assignments signed, gossiped, checked and stored at 4 peers, 1 process (goal ≥ 500/s)', b.assignments))
  console.log(row(`the same, ${b.processes} processes side by side`, b.assignmentsSeveral))
  console.log(`| (the scheduler alone, signed and stored: 1 process / ${b.processes}) | | | ${fmt(b.schedulerOnly.perSecond)} / ${fmt(b.schedulerOnlySeveral.perSecond)} | | | |`)
}

if (import.meta.url === `file://${process.argv[1]}`) printP2p(await benchP2p())
