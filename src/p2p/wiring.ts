/**
 * A node's processes on the network: what ties scheduler@1.0, process@1.0 and
 * p2p@1.0 to gossip (joinNetwork wires it unless given its own
 * validateAssignment). Browser-pure.
 *
 *   assignments   each assignment this node's scheduler makes is published on
 *                 the process's assignments topic once stored (scheduler hook
 *                 `assigned`); gossiped ones are imported by the intake
 *                 (intake.ts: importAssignment as the topic validator, gaps
 *                 held and fetched by catch-up, a new process learnt from
 *                 slot 0's assignment).
 *   messages      a message POSTed to /schedule at a node that does not
 *                 schedule its process (scheduler hook `forward`, instead of
 *                 404) is checked (signed, verifies) and gossiped on the
 *                 process's messages topic; the submitter gets 202 with its ID
 *                 and where to find its slot (/~p2p@1.0/scheduled). A scheduler
 *                 of the process schedules each message it receives there
 *                 (idempotent: one slot per message ID).
 *   following     a node follows (subscribes to the three topics of) the
 *                 processes it schedules, computes or is asked about (a
 *                 compute, a quorum read, a forwarded message, p2p@1.0
 *                 subscribe); on following it catches up from a peer on the
 *                 topic (a scheduler's peer first), and from then on computes
 *                 each slot as its assignment arrives.
 *   attestations  after computing a slot, process@1.0 tells the port; the node
 *                 signs and publishes its attestation (attestations.ts) and
 *                 keeps it with the ones it receives (validated: committed by
 *                 their `node`, well-formed) in its AttestationTable, which
 *                 quorum reads (process@1.0 compute&quorum=K) tally.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { isMessage, message, type Message } from '../core/value.ts'
import { messageId } from '../core/id.ts'
import { ok, type Outcome } from '../core/device.ts'
import { InvalidCommitment, StoreFailed } from '../core/errors.ts'
import type { AoNode } from '../node/node.ts'
import { headOf, parseSchedulers, scheduledAssignment, setSchedulerHooks, validlySigned, whenAssigned } from '../devices/scheduler.ts'
import { disputeFromMessage, disputeMessage, setNetworkPort, type AttestationEntry, type AttestationFacts, type Channel, type NetworkPort, type PeerInfo } from '../devices/p2p.ts'
import { AttestationTable, makeAttestation, readAttestation } from './attestations.ts'
import { AssignmentIntake } from './intake.ts'
import { catchUp, type CatchUpOptions, type CatchUpResult } from './catchup.ts'
import { NoPeers } from './errors.ts'
import { ATTESTATIONS_PROTOCOL, handleAttestationRequests, requestAttestations } from './attestation-sync.ts'
import { verifyMessage } from '../codecs/commitments.ts'
import type { GossipMeta, Origin } from './gossip.ts'
import { isProcessId, processTopic } from './topics.ts'
import { startFromSnapshot } from './snapshot-offers.ts'
import type { Verdict } from './verdict.ts'
import type { Network } from './network.ts'
import { setBounded } from '../core/bounded.ts'

export interface WiringOptions {
  /** Compute the followed processes' slots as their assignments arrive (default true; a function: per process). */
  compute?: boolean | ((pid: string) => boolean)
  /** How long a forwarded message waits for a peer on the process's topic (default 3 s). */
  forwardWaitMs?: number
  /** How long following waits for a peer to catch up from (default 3 s). */
  catchUpWaitMs?: number
  /** How long a read of a process this node has never seen waits for its peers to bring it (default 5 s). */
  findProcessMs?: number
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** How long a slot's quorum read waits for gossip before it pulls the attestations from peers. */
export const PULL_AFTER_MS = 250
const PULL_EVERY_MS = 1_000

/** Own attestations and disputes waiting to be kept, at most; past it the oldest copy is dropped (and reported). */
export const MAX_KEEP_QUEUED = 4_096
/** How many of its own attestations read back from the store a node keeps at hand to serve. */
const MAX_KEPT_SERVED = 1_024

/** Where a node keeps its own attestation of a slot. */
export const attestationPath = (pid: string, slot: bigint): string => `attestations/${pid}/${slot}`
/** Where a node keeps the disputes it found: a disputed wallet stays uncounted across restarts. */
export const disputePath = (pid: string, address: string): string => `disputes/${pid}/${address}`

export class NodeWiring implements NetworkPort {
  readonly table: AttestationTable
  readonly intake: AssignmentIntake
  /** What happened, for tests and operators. */
  readonly counts = { published: 0, forwarded: 0, scheduled: 0, attested: 0, computeErrors: 0, pulls: 0 }
  lastComputeError: unknown
  lastCatchUpError: unknown
  /** The last failure to keep an own attestation or a dispute in the store. */
  lastStoreError: unknown
  private readonly keepQueue: { path: string; value: Message }[] = []
  /** This node's attestations read back from its store to serve peers (after a restart), so a slot is read once. */
  private readonly keptServed = new Map<string, Message>()
  private keepFlush: Promise<void> | undefined
  private net: Network | undefined
  private readonly follows = new Map<string, () => void>()
  private readonly computing = new Map<string, { again: boolean }>()
  private readonly attesting = new Map<string, Promise<AttestationEntry>>()
  /** pid/slot → when a quorum read first asked for it, when its attestations were last pulled (ms). */
  private readonly pulls = new Map<string, { asked: number; last: number }>()
  /** Processes waiting for a peer to subscribe before their catch-up (→ stop waiting). */
  private readonly waitingForPeer = new Map<string, () => void>()
  /** Process ID → whether this node is one of its schedulers (from the stored process message). */
  private readonly schedulesKnown = new Map<string, boolean>()
  private closed = false

  constructor(readonly node: AoNode, private readonly o: WiringOptions = {}) {
    this.table = new AttestationTable(node.address, { onDispute: (pid, d) => this.keep(disputePath(pid, d.address), disputeMessage(d)) })
    this.intake = new AssignmentIntake(node.store, {
      catchUp: (pid, peer) => this.catchUpFrom(peer, pid),
      imported: (pid) => this.kick(pid),
    })
  }

  get address(): string { return this.node.address }
  get peerId(): string { return this.network.peerId }

  private get network(): Network {
    if (!this.net) throw new Error('the wiring is not attached to a network yet')
    return this.net
  }

  // ------------------------------------------------------------ validators (given to gossip before attach)

  readonly validateAssignment = (pid: string, a: Message, body: Message | undefined, origin?: Origin): Promise<Verdict> =>
    this.intake.validate(pid, a, body, origin)

  readonly validateAttestation = async (pid: string, m: Message): Promise<Verdict> => {
    try {
      return readAttestation(m).process === pid ? 'accept' : 'reject'
    } catch {
      return 'reject'
    }
  }

  // ------------------------------------------------------------ attach / detach

  async attach(net: Network): Promise<void> {
    this.net = net
    setSchedulerHooks(this.node.store, {
      assigned: (pid, a) => this.assigned(pid, a),
      forward: (pid, msg) => this.forwardOutcome(pid, msg),
    })
    setNetworkPort(this.node.store, this)
    this.node.context().capabilities.findMessage = (id, device) => this.findProcess(id, device)
    await handleAttestationRequests(net.host.libp2p, (pid, slot) => this.servedAttestations(pid, slot))
    await this.restoreDisputes()
    // Every process with assignments here is followed again from the start (a restarted node): what
    // it missed while away is caught up; slots are computed as their assignments come.
    for (const pid of await this.node.store.list('assignments').catch(() => [] as string[])) {
      if (!isProcessId(pid) || !this.subscribeTo(pid)) continue
      void this.initialCatchUp(pid)
    }
  }

  /** Stop serving the network; what is queued for the store is written before this resolves. */
  async detach(): Promise<void> {
    this.closed = true
    setSchedulerHooks(this.node.store, undefined)
    setNetworkPort(this.node.store, undefined)
    delete this.node.context().capabilities.findMessage
    void this.net?.host.libp2p.unhandle(ATTESTATIONS_PROTOCOL).catch(() => undefined)
    for (const off of this.follows.values()) off()
    this.follows.clear()
    for (const off of [...this.waitingForPeer.values()]) off()
    this.intake.close()
    while (this.keepFlush) await this.keepFlush
  }

  // ------------------------------------------------------------ NetworkPort

  multiaddrs(): string[] { return this.network.multiaddrs() }

  peers(): PeerInfo[] {
    const net = this.network
    const connected = new Set(net.peers())
    const out = new Map<string, PeerInfo>()
    for (const a of net.nodes.all()) {
      if (a.peerId === net.peerId) continue
      out.set(a.peerId, { peerId: a.peerId, address: a.address, capabilities: a.capabilities, multiaddrs: a.multiaddrs, connected: connected.has(a.peerId), score: net.score(a.peerId) })
    }
    for (const p of connected) if (!out.has(p)) out.set(p, { peerId: p, capabilities: [], multiaddrs: [], connected: true, score: net.score(p) })
    return [...out.values()]
  }

  topics(): string[] { return this.network.host.pubsub.getTopics() }
  followed(): string[] { return [...this.follows.keys()].sort() }

  follow(pid: string): void {
    if (!this.subscribeTo(pid)) return
    void this.initialCatchUp(pid)
    this.kick(pid)
  }

  /** Subscribe to a process's topics; false when already following (or detached). */
  private subscribeTo(pid: string): boolean {
    if (this.follows.has(pid) || this.closed) return false
    const off = this.network.subscribe(pid, {
      message: (m) => { void this.onMessage(pid, m).catch(() => undefined) },
      attestation: (m, meta) => this.onAttestation(pid, m, meta),
    })
    this.follows.set(pid, off)
    return true
  }

  unfollow(pid: string): void {
    this.follows.get(pid)?.()
    this.follows.delete(pid)
    this.waitingForPeer.get(pid)?.()
  }

  /**
   * Follow a process for a try (a forward, a find); the function returned
   * drops it again unless it was followed before: a process nobody runs (a
   * mistyped ID, say) is not kept.
   */
  private tryFollowing(pid: string): () => void {
    const wasFollowed = this.follows.has(pid)
    this.follow(pid)
    return () => { if (!wasFollowed) this.unfollow(pid) }
  }

  publish(pid: string, channel: Channel, msg: Message): Promise<{ id: string; recipients: string[] }> {
    return this.network.gossip.publish(pid, channel, msg)
  }

  announce(): Promise<Message> { return this.network.announcer.announce() }

  async forward(pid: string, msg: Message): Promise<{ id: string; recipients: string[] }> {
    if (!(await validlySigned(msg))) throw new InvalidCommitment('a message forwarded to the scheduler must be signed, and its commitments must verify')
    const giveUp = this.tryFollowing(pid)
    const net = this.network
    const end = Date.now() + (this.o.forwardWaitMs ?? 3_000)
    while (net.gossip.subscribers(pid, 'messages').length === 0 && Date.now() < end) await sleep(25)
    // Not published to nobody: gossip would then drop the same bytes as a duplicate when the client retries.
    const r = net.gossip.subscribers(pid, 'messages').length > 0 ? await net.publishMessage(pid, msg) : { id: messageId(msg, 'signed'), recipients: [] }
    if (r.recipients.length === 0) {
      giveUp()
      throw new NoPeers(`no peer follows process ${pid}: the message reached no scheduler`)
    }
    this.counts.forwarded++
    return r
  }

  computed(pid: string, facts: AttestationFacts): void {
    void this.attest(pid, facts).catch(() => undefined)
  }

  attest(pid: string, facts: AttestationFacts): Promise<AttestationEntry> {
    const own = this.table.own(pid, facts.slot)
    if (own) return Promise.resolve(own)
    const key = `${pid}/${facts.slot}`
    let p = this.attesting.get(key)
    if (!p) {
      p = (async () => {
        const att = await makeAttestation(this.node.wallet, pid, facts)
        const id = messageId(att, 'signed')
        this.table.add(pid, this.node.address, facts, { id, announced: true, message: att })
        this.keep(attestationPath(pid, facts.slot), att)
        this.counts.attested++
        this.follow(pid)
        if (!this.closed) void this.network.publishAttestation(pid, att).catch(() => undefined)
        return this.table.own(pid, facts.slot)!
      })().finally(() => this.attesting.delete(key))
      this.attesting.set(key, p)
    }
    return p
  }

  attestations(pid: string, slot: bigint): AttestationEntry[] { return this.table.slot(pid, slot) }

  /**
   * This node's attestations (`attestations/<pid>/<slot>`) and the disputes it found
   * (`disputes/<pid>/<address>`) are kept in its store too, written in batches behind
   * the computation: the table lives in memory, and after a restart (of this node, or
   * of the whole network) peers can still fetch the attestations, and a disputed
   * wallet is still never counted.
   */
  private keep(path: string, value: Message): void {
    if (this.keepQueue.length >= MAX_KEEP_QUEUED) {
      // The store is failing or far behind: the attestation or dispute stands in memory, its copy is lost.
      const dropped = this.keepQueue.shift()!
      this.lastStoreError = new StoreFailed(`the store is ${MAX_KEEP_QUEUED} writes behind: ${dropped.path} was not kept`)
    }
    this.keepQueue.push({ path, value })
    if (this.keepFlush) return
    this.keepFlush = sleep(50).then(async () => {
      while (this.keepQueue.length > 0) {
        const batch = this.keepQueue.splice(0, 64)
        const store = this.node.store
        try {
          if (store.batch) await store.batch(batch.map((b) => ({ op: 'write' as const, path: b.path, value: b.value })))
          else await Promise.all(batch.map((b) => store.write(b.path, b.value)))
        } catch (e) {
          // The attestation or dispute still stands in memory (and on the network); only its copy is lost.
          this.lastStoreError = e
        }
      }
    }).finally(() => { this.keepFlush = undefined })
  }

  /** The disputes this node found before it (re)started: those wallets stay uncounted. */
  private async restoreDisputes(): Promise<void> {
    const store = this.node.store
    for (const pid of await store.list('disputes').catch(() => [] as string[])) {
      if (!isProcessId(pid)) continue
      for (const address of await store.list(`disputes/${pid}`).catch(() => [] as string[])) {
        const m = await store.read(disputePath(pid, address)).catch(() => undefined)
        const d = isMessage(m) ? disputeFromMessage(m) : undefined
        if (d && d.address === address) this.table.restoreDispute(pid, d)
      }
    }
  }

  /** What this node serves for a slot: the attestations it holds, and its own from its store when it holds none. */
  private async servedAttestations(pid: string, slot: bigint): Promise<Message[]> {
    const held = this.table.slot(pid, slot).map((e) => e.message).filter((m): m is Message => m !== undefined)
    if (this.table.own(pid, slot)) return held
    const path = attestationPath(pid, slot)
    const queued = this.keepQueue.find((q) => q.path === path)?.value ?? this.keptServed.get(path)
    const kept = queued ?? await this.node.store.read(path).catch(() => undefined)
    if (!isMessage(kept)) return held
    if (queued === undefined) setBounded(this.keptServed, path, kept, MAX_KEPT_SERVED)
    return [kept, ...held]
  }

  /**
   * A process this node has never seen, named by a read (`/<pid>~process@1.0/…`):
   * following it catches up its schedule from the peers that run it, and slot 0
   * carries the process message. Undefined, and not followed, when no peer
   * brings it within `findProcessMs`.
   */
  async findProcess(pid: string, device: string): Promise<Message | undefined> {
    if (device !== 'process@1.0' || !isProcessId(pid) || this.closed) return undefined
    const store = this.node.store
    const giveUp = this.tryFollowing(pid)
    const end = Date.now() + (this.o.findProcessMs ?? 5_000)
    for (;;) {
      const m = await store.read(pid)
      if (isMessage(m)) return m
      const left = end - Date.now()
      if (left <= 0 || this.closed) break
      const t = Date.now()
      await whenAssigned(store, pid, 0n, Math.min(left, 250))
      // Slot 0 is here but its process message not yet: do not spin.
      if (Date.now() - t < 5) await sleep(25)
    }
    giveUp()
    return undefined
  }

  async startFromSnapshot(pid: string, quorum: number): ReturnType<NetworkPort['startFromSnapshot']> {
    const net = this.network
    const r = await startFromSnapshot(net, this.node.store, net.host.blocks, pid, { quorum })
    return { slot: r.slot, cid: r.cid, peer: r.peer, attesters: r.attesters, caughtUp: r.caughtUp }
  }
  attestedSlots(pid: string): bigint[] { return this.table.slots(pid) }
  disputed(pid: string): ReturnType<NetworkPort['disputed']> { return this.table.disputed(pid) }
  nextAttestation(pid: string, slot: bigint, ms: number): Promise<void> { return this.table.next(pid, slot, ms) }

  // ------------------------------------------------------------ catch-up

  /** Fetch a process's assignments from a peer (peer ID or multiaddr) through importAssignment. */
  async catchUpFrom(peer: string, pid: string, co: Omit<CatchUpOptions, 'store' | 'sink'> = {}): Promise<CatchUpResult> {
    const target = peer.startsWith('/') ? multiaddr(peer) : peerIdFromString(peer)
    const r = await catchUp(this.network.host.libp2p, target, pid, { ...co, store: this.node.store, sink: this.intake.sink })
    this.kick(pid)
    return r
  }

  // ------------------------------------------------------------ internals

  private async schedules(pid: string): Promise<boolean> {
    // A process message never changes (its ID is its content): once found, the answer is kept.
    const known = this.schedulesKnown.get(pid)
    if (known !== undefined) return known
    const proc = await this.node.store.read(pid)
    if (!isMessage(proc)) return false
    const mine = parseSchedulers(proc['scheduler'] ?? proc['scheduler-location']).includes(this.node.address)
    if (this.schedulesKnown.size > 10_000) this.schedulesKnown.clear()
    this.schedulesKnown.set(pid, mine)
    return mine
  }

  /** The scheduler hook: a new assignment made here. */
  private assigned(pid: string, a: Message): void {
    if (this.closed) return
    this.follow(pid)
    void this.network.publishAssignment(pid, a).then(() => { this.counts.published++ }, () => undefined)
    this.kick(pid)
  }

  /** The scheduler hook: a message for a process scheduled elsewhere. */
  private async forwardOutcome(pid: string, msg: Message): Promise<Outcome | undefined> {
    if (this.closed) return undefined
    const id = messageId(msg, 'signed')
    // Already scheduled (its assignment came back through gossip): as a scheduler answers a repeat.
    const known = await scheduledAssignment(this.node.store, pid, id)
    if (known) return ok(known)
    const r = await this.forward(pid, msg)
    return ok(message({
      status: 202n,
      process: pid,
      message: id,
      forwarded: true,
      recipients: BigInt(r.recipients.length),
      location: `/~p2p@1.0/scheduled?process=${pid}&message=${id}`,
      'cache-control': 'no-store',
    }))
  }

  /** A message gossiped for a process: scheduled here if this node is one of its schedulers. */
  private async onMessage(pid: string, m: Message): Promise<void> {
    if (!(await this.schedules(pid))) return
    const o = await this.node.resolve(message({ device: 'scheduler@1.0' }), message({ path: 'schedule', method: 'POST', body: m }))
    if (o.status === 'ok') this.counts.scheduled++
  }

  private onAttestation(pid: string, m: Message, meta: GossipMeta): void {
    const f = readAttestation(m)
    const announced = this.network.nodes.byAddress(f.node)?.peerId === meta.from
    this.table.add(pid, f.node, f, { id: meta.id, announced, message: m })
  }

  /**
   * Pulls wait: gossip brings a slot's attestations within tens of ms, and a
   * pull opens a stream to every peer on the topic (in a tab, a WebRTC data
   * channel each). So a slot is pulled only once it has waited PULL_AFTER_MS
   * since its first quorum read here (the attestations gossiped before this
   * node followed the process, or while it was away), then at most once a second.
   */
  pull(pid: string, slot: bigint): number {
    const key = `${pid}/${slot}`
    const now = Date.now()
    let p = this.pulls.get(key)
    if (!p) {
      p = { asked: now, last: 0 }
      setBounded(this.pulls, key, p, 10_000)
    }
    const due = Math.max(p.asked + PULL_AFTER_MS, p.last + PULL_EVERY_MS) - now
    if (this.closed) return PULL_EVERY_MS
    if (due > 0) return due
    p.last = now
    this.counts.pulls++
    const net = this.network
    const peers = net.gossip.subscribers(pid, 'attestations').slice(0, 8)
    void Promise.all(peers.map(async (peer) => {
      const list = await requestAttestations(net.host.libp2p, peerIdFromString(peer), pid, slot).catch(() => [] as Message[])
      for (const m of list) await this.keepPulled(pid, slot, m).catch(() => undefined)
    }))
    return PULL_EVERY_MS
  }

  /** A pulled attestation, checked as gossip checks one, then kept. */
  private async keepPulled(pid: string, slot: bigint, m: Message): Promise<void> {
    const f = readAttestation(m)
    if (f.process !== pid || f.slot !== slot || this.table.slot(pid, slot).some((e) => e.address === f.node && e.id === messageId(m, 'signed'))) return
    const v = await verifyMessage(m)
    if (!v.verified || !v.committers.includes(f.node)) return
    // Relayed by a peer, not published by it: announced means the wallet has an announcement.
    const announced = this.network.nodes.byAddress(f.node) !== undefined
    this.table.add(pid, f.node, f, { id: messageId(m, 'signed'), announced, message: m })
  }

  /** Compute a followed process up to its newest slot; again if more arrived meanwhile. */
  private kick(pid: string): void {
    const c = this.o.compute ?? true
    if (this.closed || !this.follows.has(pid) || (typeof c === 'function' ? !c(pid) : !c)) return
    const running = this.computing.get(pid)
    if (running) { running.again = true; return }
    const state = { again: false }
    this.computing.set(pid, state)
    void (async () => {
      try {
        do {
          state.again = false
          const head = await headOf(this.node.store, pid)
          if (head.written < 0n) break
          const o = await this.node.resolvePath(`/${pid}~process@1.0/compute&slot+integer=${head.written}`)
          if (o.status !== 'ok') { this.counts.computeErrors++; this.lastComputeError = o.value }
        } while (state.again && !this.closed)
      } catch (e) {
        this.counts.computeErrors++
        this.lastComputeError = e
      } finally {
        this.computing.delete(pid)
      }
    })()
  }

  /** On following: fetch what peers on the topic have (a scheduler's peer first). */
  private async initialCatchUp(pid: string): Promise<void> {
    if (await this.schedules(pid)) return
    const net = this.network
    const end = Date.now() + (this.o.catchUpWaitMs ?? 3_000)
    let subs: string[] = []
    while (!this.closed && (subs = net.gossip.subscribers(pid, 'assignments')).length === 0 && Date.now() < end) await sleep(25)
    if (subs.length > 0) { await sleep(50); subs = net.gossip.subscribers(pid, 'assignments') } // the others' subscriptions, too
    const proc = await this.node.store.read(pid)
    const schedPeers = isMessage(proc)
      ? parseSchedulers(proc['scheduler'] ?? proc['scheduler-location']).map((a) => net.nodes.byAddress(a)?.peerId).filter((p): p is string => p !== undefined)
      : []
    const order = [...schedPeers.filter((p) => subs.includes(p)), ...subs.filter((p) => !schedPeers.includes(p))]
    // A peer that knows nothing of the process answers with nothing: ask the next one.
    let failed = false
    for (const peer of order.slice(0, 4)) {
      if (this.closed) return
      try {
        if ((await this.catchUpFrom(peer, pid)).stored > 0) return
      } catch (e) { this.lastCatchUpError = e; failed = true }
    }
    // No peer on the topic yet (a tab just reloaded, its peers still dialing), or none could
    // answer: catch up from the first peer that subscribes to the process's assignments.
    if (order.length === 0 || failed) this.catchUpOnSubscription(pid)
  }

  /** Once: when a peer subscribes to the process's assignments topic, catch up from it. */
  private catchUpOnSubscription(pid: string): void {
    if (this.closed || !this.follows.has(pid) || this.waitingForPeer.has(pid)) return
    const pubsub = this.network.host.pubsub
    const topic = processTopic(pid, 'assignments')
    const on = (e: Event): void => {
      const d = (e as CustomEvent<{ peerId: unknown; subscriptions: { topic: string; subscribe: boolean }[] }>).detail
      if (!d?.subscriptions?.some((x) => x.topic === topic && x.subscribe)) return
      off()
      const peer = String(d.peerId)
      void this.catchUpFrom(peer, pid).catch((err) => {
        this.lastCatchUpError = err
        this.catchUpOnSubscription(pid) // and the next peer, then
      })
    }
    const off = (): void => {
      pubsub.removeEventListener('subscription-change', on)
      this.waitingForPeer.delete(pid)
    }
    pubsub.addEventListener('subscription-change', on)
    this.waitingForPeer.set(pid, off)
  }
}
