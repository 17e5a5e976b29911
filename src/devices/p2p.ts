/**
 * p2p@1.0 (ours; nothing in HyperBEAM): the node's network through AO-Core
 * paths and HTTP. Also the port through which devices reach the network: a
 * device never imports networking code; the network layer (src/p2p/wiring.ts)
 * registers a NetworkPort for the node's store when the node joins, and
 * devices look it up from their context (networkPort / needNetwork). A node
 * that has not joined answers every key but `scheduled` with NoNetwork (503).
 *
 *   info           address, peer ID, multiaddrs, how many peers, the processes followed
 *   peers          connected and announced peers: peer ID, address, capabilities, score
 *   topics         the gossip topics subscribed to, the processes followed
 *   subscribe      `process`: follow a process (its three topics; catch up from a peer; compute
 *                  and attest its slots as they come). unsubscribe: stop.
 *   from-snapshot  `process` [, `quorum` (default 2)]: follow it from a peer's newest snapshot
 *                  backed by that many attesting wallets instead of from slot 0 (502 when no
 *                  peer has one) → {slot, snapshot-cid, peer, attesters, caught-up}
 *   publish        POST `process`, `channel` (messages | assignments | attestations; default
 *                  messages), the committed message as `body`: gossip it as is → {id, recipients}
 *   announce       publish this node's announcement now
 *   attestations   `process` [, `slot`]: the attestations kept for a slot (address, result,
 *                  hashpath, assignment, hash-chain, own, announced, disputed), or the slots
 *                  attested; and the disputed wallets of the process with their evidence
 *   scheduled      `process`, `message`: the slot a (forwarded) message got, from the node's
 *                  store (404 until its assignment arrived); needs no network
 *
 * The quorum rule (tallyQuorum) is here too: process@1.0 `compute` with `quorum` uses it.
 */
import { binaryText, isMessage, message, toInt, type Message, type Value } from '../core/value.ts'
import { isHumanId } from '../core/keys.ts'
import { notFound, ok, type Device, type Outcome, type ResolveContext } from '../core/device.ts'
import { directGet } from '../core/resolver.ts'
import { BadInput } from '../core/errors.ts'
import type { Store } from '../store/store.ts'
import { NoNetwork } from '../p2p/errors.ts'
import { scheduledAssignment } from './scheduler.ts'
import { messageId } from '../core/id.ts'

export const P2P = 'p2p@1.0'
export type Channel = 'messages' | 'assignments' | 'attestations'
const CHANNELS: readonly Channel[] = ['messages', 'assignments', 'attestations']

/** What an attestation states about one slot of a process. */
export interface AttestationFacts {
  slot: bigint
  /** The signed ID of the slot's assignment. */
  assignment: string
  /** The assignment's hash-chain. */
  hashChain: string
  /** The result ID: the unsigned ID of the state after the slot (no snapshot). */
  result: string
  /** The computation's hashpath (the state's priv/hashpath). */
  hashpath: string
}

export interface AttestationEntry extends AttestationFacts {
  /** The attesting wallet. */
  address: string
  /** The attestation's signed ID. */
  id: string
  /** This node's own. */
  own: boolean
  /** The wallet is announced (gossiped: bound to the peer that published the attestation; pulled: has an announcement). */
  announced: boolean
  /** The attestation itself (committed), to hand to peers that missed it. */
  message?: Message
}

export interface Dispute {
  address: string
  slot: bigint
  assignment: string
  result: string
  hashpath: string
  reason: string
}

export interface PeerInfo {
  peerId: string
  address?: string
  capabilities: string[]
  multiaddrs: string[]
  connected: boolean
  score: number
}

/** The network as devices see it (implemented by src/p2p/wiring.ts). */
export interface NetworkPort {
  readonly address: string
  readonly peerId: string
  multiaddrs(): string[]
  peers(): PeerInfo[]
  topics(): string[]
  followed(): string[]
  /** Follow a process: subscribe to its topics, catch up in the background, compute and attest its slots. */
  follow(pid: string): void
  unfollow(pid: string): void
  publish(pid: string, channel: Channel, msg: Message): Promise<{ id: string; recipients: string[] }>
  announce(): Promise<Message>
  /** Gossip a message for a process scheduled elsewhere (the scheduler node schedules it). */
  forward(pid: string, msg: Message): Promise<{ id: string; recipients: string[] }>
  /** process@1.0 computed a slot: record and publish this node's attestation (in the background). */
  computed(pid: string, facts: AttestationFacts): void
  /** This node's attestation of a slot, made (signed, published) if it has none yet. */
  attest(pid: string, facts: AttestationFacts): Promise<AttestationEntry>
  attestations(pid: string, slot: bigint): AttestationEntry[]
  attestedSlots(pid: string): bigint[]
  disputed(pid: string): Map<string, Dispute>
  /** Resolves at the next attestation of the slot, or after `ms`. */
  nextAttestation(pid: string, slot: bigint, ms: number): Promise<void>
  /**
   * Ask peers for the attestations of a slot this node missed, in the background, once the slot has
   * waited a moment since its first quorum read here, then at most once a second. Returns the ms until
   * the next pull is due (a waiting read wakes then).
   */
  pull(pid: string, slot: bigint): number
  /**
   * Follow a process from a peer's snapshot instead of slot 0: an offer backed
   * by `quorum` attesting wallets, its blocks fetched by CID, the assignments
   * after it caught up (src/p2p/snapshot-offers.ts).
   */
  startFromSnapshot(pid: string, quorum: number): Promise<{ slot: bigint; cid: string; peer: string; attesters: string[]; caughtUp: number }>
}

const ports = new WeakMap<Store, NetworkPort>()

/** Register (or with undefined, remove) the network of the node that owns `store`. */
export function setNetworkPort(store: Store, port: NetworkPort | undefined): void {
  if (port) ports.set(store, port)
  else ports.delete(store)
}

export function networkPort(ctx: ResolveContext): NetworkPort | undefined {
  return ctx.store ? ports.get(ctx.store) : undefined
}

export function needNetwork(ctx: ResolveContext): NetworkPort {
  const p = networkPort(ctx)
  if (!p) throw new NoNetwork('this node has not joined a network (ao serve --bootstrap ADDR, or joinNetwork)')
  return p
}

// ---------------------------------------------------------------- the quorum rule

export type QuorumVerdict = 'verified' | 'pending' | 'disagreement'

export interface QuorumTally {
  verdict: QuorumVerdict
  /** Wallets that attest this node's own (assignment, result, hashpath), this node first; disputed ones left out. */
  agreeing: string[]
  /** Attestations that differ from this node's own. */
  differing: AttestationEntry[]
  /** Wallets left out because they are disputed for the process (whatever they attest now). */
  excluded: string[]
}

/**
 * The rule of a quorum-K read of a slot this node computed itself (`own`):
 *   verified      ≥ K distinct wallets, this node included, attest the same
 *                 assignment, result ID and hashpath as its own computation
 *                 (wallets that differ are reported, never counted)
 *   disagreement  fewer than K agree and some wallet attests something else
 *   pending       fewer than K agree and nobody differs
 * Wallets disputed for the process (they once attested something that differs
 * from this node's computation) are never counted.
 */
export function tallyQuorum(entries: AttestationEntry[], own: AttestationFacts, k: number, disputed: ReadonlyMap<string, Dispute>): QuorumTally {
  const agreeing: string[] = []
  const differing: AttestationEntry[] = []
  const excluded: string[] = []
  for (const e of entries) {
    const same = e.assignment === own.assignment && e.result === own.result && e.hashpath === own.hashpath
    if (!same) differing.push(e)
    else if (!e.own && disputed.has(e.address)) excluded.push(e.address)
    else if (!agreeing.includes(e.address)) agreeing.push(e.address)
  }
  const verdict: QuorumVerdict = agreeing.length >= k ? 'verified' : differing.length > 0 ? 'disagreement' : 'pending'
  return { verdict, agreeing, differing, excluded }
}

// ---------------------------------------------------------------- the device

const text = binaryText

function pidOf(req: Message): string {
  const pid = text(directGet(req, 'process'))
  if (pid === undefined || !isHumanId(pid)) throw new BadInput('p2p@1.0 needs a `process` (an ID)')
  return pid
}

export function entryMessage(e: AttestationEntry, disputed: boolean): Message {
  return message({
    address: e.address, slot: e.slot, assignment: e.assignment, 'hash-chain': e.hashChain, result: e.result,
    hashpath: e.hashpath, id: e.id, own: e.own, announced: e.announced, disputed,
  })
}

export function disputeMessage(d: Dispute): Message {
  return message({ address: d.address, slot: d.slot, assignment: d.assignment, result: d.result, hashpath: d.hashpath, reason: d.reason })
}

/** A dispute as disputeMessage wrote it; undefined for anything else. */
export function disputeFromMessage(m: Message): Dispute | undefined {
  const t = (k: string): string | undefined => binaryText(m[k])
  const [address, assignment, result, hashpath, reason] = [t('address'), t('assignment'), t('result'), t('hashpath'), t('reason')]
  const slot = m['slot']
  if (address === undefined || assignment === undefined || result === undefined || hashpath === undefined || reason === undefined || typeof slot !== 'bigint') return undefined
  return { address, slot, assignment, result, hashpath, reason }
}

const noStore = (m: Message): Message => { m['cache-control'] = 'no-store'; return m }

function info(_b: Message, _r: Message, ctx: ResolveContext): Outcome {
  const p = needNetwork(ctx)
  return ok(noStore(message({ address: p.address, 'peer-id': p.peerId, multiaddrs: p.multiaddrs(), peers: BigInt(p.peers().filter((x) => x.connected).length), processes: p.followed() })))
}

function peers(_b: Message, _r: Message, ctx: ResolveContext): Outcome {
  const p = needNetwork(ctx)
  const list = p.peers().map((x) => {
    const m = message({ 'peer-id': x.peerId, capabilities: x.capabilities, multiaddrs: x.multiaddrs, connected: x.connected, score: String(x.score) })
    if (x.address !== undefined) m['address'] = x.address
    return m
  })
  return ok(noStore(message({ 'peer-id': p.peerId, peers: list })))
}

function topics(_b: Message, _r: Message, ctx: ResolveContext): Outcome {
  const p = needNetwork(ctx)
  return ok(noStore(message({ topics: p.topics(), processes: p.followed() })))
}

function subscribe(_b: Message, req: Message, ctx: ResolveContext): Outcome {
  const p = needNetwork(ctx)
  const pid = pidOf(req)
  p.follow(pid)
  return ok(noStore(message({ process: pid, subscribed: true })))
}

async function fromSnapshot(_b: Message, req: Message, ctx: ResolveContext): Promise<Outcome> {
  const p = needNetwork(ctx)
  const pid = pidOf(req)
  const qv = directGet(req, 'quorum')
  const q = qv === undefined ? 2n : toInt(qv)
  if (q === undefined || q < 1n) throw new BadInput('`quorum` must be an integer ≥ 1')
  const r = await p.startFromSnapshot(pid, Number(q))
  return ok(noStore(message({
    process: pid, slot: r.slot, 'snapshot-cid': r.cid, peer: r.peer, attesters: r.attesters, 'caught-up': BigInt(r.caughtUp), subscribed: true,
  })))
}

function unsubscribe(_b: Message, req: Message, ctx: ResolveContext): Outcome {
  const p = needNetwork(ctx)
  const pid = pidOf(req)
  p.unfollow(pid)
  return ok(noStore(message({ process: pid, subscribed: false })))
}

async function publish(_b: Message, req: Message, ctx: ResolveContext): Promise<Outcome> {
  const p = needNetwork(ctx)
  const pid = pidOf(req)
  const channel = (text(directGet(req, 'channel')) ?? 'messages') as Channel
  if (!CHANNELS.includes(channel)) throw new BadInput(`channel must be one of ${CHANNELS.join(', ')}`)
  const body = directGet(req, 'body')
  if (!isMessage(body)) throw new BadInput('publish needs the committed message as `body`')
  const r = await p.publish(pid, channel, body)
  return ok(noStore(message({ process: pid, channel, id: r.id, recipients: r.recipients })))
}

async function announce(_b: Message, _r: Message, ctx: ResolveContext): Promise<Outcome> {
  const p = needNetwork(ctx)
  const a = await p.announce()
  return ok(noStore(message({ address: p.address, 'peer-id': p.peerId, announcement: messageId(a, 'signed') })))
}

function attestations(_b: Message, req: Message, ctx: ResolveContext): Outcome {
  const p = needNetwork(ctx)
  const pid = pidOf(req)
  const disputed = p.disputed(pid)
  const out = message({ process: pid, disputed: [...disputed.values()].map(disputeMessage) })
  const slotV = directGet(req, 'slot')
  if (slotV === undefined) {
    out['slots'] = p.attestedSlots(pid)
  } else {
    const slot = toInt(slotV)
    if (slot === undefined) throw new BadInput('`slot` must be an integer')
    out['slot'] = slot
    out['attestations'] = p.attestations(pid, slot).map((e) => entryMessage(e, disputed.has(e.address)))
  }
  return ok(noStore(out))
}

async function scheduled(_b: Message, req: Message, ctx: ResolveContext): Promise<Outcome> {
  const pid = pidOf(req)
  const id = text(directGet(req, 'message'))
  if (id === undefined) throw new BadInput('scheduled needs a `message` (its signed ID)')
  const a = ctx.store ? await scheduledAssignment(ctx.store, pid, id) : undefined
  if (!a) return notFound(message({ status: 404n, body: `message ${id} has no slot of process ${pid} on this node (yet)`, 'cache-control': 'no-store' }))
  return ok(noStore(message({ process: pid, message: id, slot: a['slot'] as Value, assignment: messageId(a, 'signed') })))
}

export const p2pDevice: Device = {
  name: P2P,
  keys: { info, peers, topics, subscribe, unsubscribe, from_snapshot: fromSnapshot, publish, announce, attestations, scheduled },
}
