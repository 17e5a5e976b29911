/**
 * Node announcements: a message committed (signed) by the node's wallet that
 * binds its wallet address to its libp2p peer ID and states what it offers.
 * Browser-pure.
 *
 *   {
 *     type: "Node-Announcement", data-protocol: "ao-tab", variant: "ao-tab.announce.1",
 *     address: <wallet address>, peer-id: <libp2p peer ID>,
 *     capabilities: ["snp", "blocks", "relay", ...], multiaddrs: [<multiaddr>/p2p/<peer ID>, ...],
 *     timestamp: <ms since the epoch>
 *   } + commitments
 *
 * Published on NODES_TOPIC when the node joins, when a peer newly subscribes
 * to that topic (debounced), and every `intervalMs`. A receiver accepts it
 * only if the commitments verify, `address` is one of the committers, and
 * `peer-id` is the gossip message's signed sender (so nobody can announce
 * someone else's peer, nor replay another node's announcement as its own);
 * a timestamp more than 5 minutes ahead is rejected, one not newer than the
 * table's entry for that address is ignored. Accepted announcements fill a
 * table address ↔ peer; a node dials the multiaddrs of announced peers it is
 * not connected to, which is how nodes behind one bootstrap peer find each
 * other.
 */
import type { GossipSub, GossipsubMessage, Message as PubsubMessage } from '@libp2p/gossipsub'
import { binaryText, message, type Message, type Value } from '../core/value.ts'
import { messageId } from '../core/id.ts'
import { commitMessage, verifyMessage } from '../codecs/commitments.ts'
import type { Wallet } from '../crypto/wallet.ts'
import { decodePayload, encodePayload, MAX_PAYLOAD_BYTES } from './payload.ts'
import { NODES_TOPIC } from './topics.ts'
import { scoreTopic } from './score.ts'
import { toResult, type Verdict } from './verdict.ts'
import { InvalidAnnouncement } from './errors.ts'

export const ANNOUNCEMENT_VARIANT = 'ao-tab.announce.1'
const MAX_FUTURE_MS = 5 * 60_000

export interface Announcement {
  address: string
  peerId: string
  capabilities: string[]
  multiaddrs: string[]
  timestamp: number
  /** The announcement's signed ID. */
  id: string
  message: Message
}

export interface AnnouncementFields {
  peerId: string
  capabilities: string[]
  multiaddrs: string[]
  timestamp?: number
}

/** A new announcement, committed by the wallet. */
export function makeAnnouncement(wallet: Wallet, f: AnnouncementFields): Promise<Message> {
  return commitMessage(message({
    type: 'Node-Announcement',
    'data-protocol': 'ao-tab',
    variant: ANNOUNCEMENT_VARIANT,
    address: wallet.address,
    'peer-id': f.peerId,
    capabilities: [...f.capabilities],
    multiaddrs: [...f.multiaddrs],
    timestamp: BigInt(f.timestamp ?? Date.now()),
  }), { wallet })
}

function textList(v: Value | undefined, what: string): string[] {
  // Lists may arrive as lists or as numbered maps; both are accepted.
  const items = Array.isArray(v) ? v : v !== null && typeof v === 'object' && !(v instanceof Uint8Array) ? Object.keys(v).sort((a, b) => Number(a) - Number(b)).map((k) => (v as Message)[k]!) : undefined
  if (items === undefined) throw new InvalidAnnouncement(`${what} is not a list`)
  return items.map((x) => {
    const t = binaryText(x)
    if (t === undefined) throw new InvalidAnnouncement(`${what} holds something that is not text`)
    return t
  })
}

/** Check an announcement: shape, commitments, committer = address, and (if given) the sender's peer ID. */
export async function checkAnnouncement(msg: Message, senderPeerId?: string, now: number = Date.now()): Promise<Announcement> {
  if (binaryText(msg['variant']) !== ANNOUNCEMENT_VARIANT) throw new InvalidAnnouncement('not a node announcement (variant)')
  const address = binaryText(msg['address'])
  const peerId = binaryText(msg['peer-id'])
  const ts = msg['timestamp']
  if (address === undefined || peerId === undefined) throw new InvalidAnnouncement('an announcement needs address and peer-id')
  if (typeof ts !== 'bigint') throw new InvalidAnnouncement('timestamp is not an integer')
  if (Number(ts) > now + MAX_FUTURE_MS) throw new InvalidAnnouncement('the timestamp is in the future')
  const capabilities = textList(msg['capabilities'], 'capabilities')
  const multiaddrs = textList(msg['multiaddrs'], 'multiaddrs')
  if (senderPeerId !== undefined && peerId !== senderPeerId) throw new InvalidAnnouncement(`announces peer ${peerId} but was sent by ${senderPeerId}`)
  let v
  try {
    v = await verifyMessage(msg)
  } catch (e) {
    throw new InvalidAnnouncement(`the commitments cannot be checked: ${(e as Error).message}`)
  }
  if (!v.verified) throw new InvalidAnnouncement('the commitments do not verify')
  if (!v.committers.includes(address)) throw new InvalidAnnouncement(`not committed by ${address}`)
  return { address, peerId, capabilities, multiaddrs, timestamp: Number(ts), id: messageId(msg, 'signed'), message: msg }
}

/** The network's nodes as announced: wallet address ↔ peer ID, newest announcement wins. */
export class NodeTable {
  private readonly byAddr = new Map<string, Announcement>()
  private readonly byPeerId = new Map<string, string>()

  /** Record an announcement if it is newer than what the table has for its address. */
  offer(a: Announcement): boolean {
    const old = this.byAddr.get(a.address)
    if (old && old.timestamp >= a.timestamp) return false
    if (old && old.peerId !== a.peerId && this.byPeerId.get(old.peerId) === a.address) this.byPeerId.delete(old.peerId)
    this.byAddr.set(a.address, a)
    this.byPeerId.set(a.peerId, a.address)
    return true
  }

  /** Whether an announcement would be news (newer than the entry for its address). */
  isNewer(address: string, timestamp: number): boolean {
    const old = this.byAddr.get(address)
    return !old || old.timestamp < timestamp
  }

  byAddress(address: string): Announcement | undefined { return this.byAddr.get(address) }
  byPeer(peerId: string): Announcement | undefined {
    const a = this.byPeerId.get(peerId)
    return a === undefined ? undefined : this.byAddr.get(a)
  }
  all(): Announcement[] { return [...this.byAddr.values()] }
  get size(): number { return this.byAddr.size }
}

export interface AnnouncerOptions {
  pubsub: GossipSub
  wallet: Wallet
  peerId: string
  capabilities: () => string[]
  multiaddrs: () => string[]
  /** Re-announce this often (default 60 s; 0: only on join and new peers). */
  intervalMs?: number
  /** Wait this long after a new peer subscribes before announcing (default 250 ms). */
  debounceMs?: number
  /** Called for each accepted announcement of another node (e.g. to dial it). */
  onAnnouncement?: (a: Announcement) => void
  maxPayloadBytes?: number
}

export class Announcer {
  readonly table = new NodeTable()
  readonly counts = { accept: 0, reject: 0, ignore: 0, published: 0 }
  private timer: ReturnType<typeof setInterval> | undefined
  private pending: ReturnType<typeof setTimeout> | undefined
  private stopped = false
  private readonly checked = new WeakMap<PubsubMessage, Announcement>()
  private readonly max: number
  private readonly onSub = (evt: CustomEvent<{ subscriptions: Array<{ topic: string; subscribe: boolean }> }>): void => {
    if (evt.detail.subscriptions.some((s) => s.topic === NODES_TOPIC && s.subscribe)) this.soon()
  }
  private readonly onMessage = (evt: CustomEvent<GossipsubMessage>): void => {
    const a = this.checked.get(evt.detail.msg)
    if (!a) return
    this.checked.delete(evt.detail.msg)
    if (this.table.offer(a)) {
      try { this.opts.onAnnouncement?.(a) } catch { /* the callback's own failure */ }
    }
  }

  constructor(private readonly opts: AnnouncerOptions) {
    this.max = opts.maxPayloadBytes ?? MAX_PAYLOAD_BYTES
  }

  start(): void {
    const { pubsub } = this.opts
    scoreTopic(pubsub, NODES_TOPIC)
    pubsub.topicValidators.set(NODES_TOPIC, async (_peer, m) => toResult(await this.validate(m)))
    pubsub.addEventListener('gossipsub:message', this.onMessage)
    pubsub.addEventListener('subscription-change', this.onSub as EventListener)
    pubsub.subscribe(NODES_TOPIC)
    const every = this.opts.intervalMs ?? 60_000
    if (every > 0) this.timer = setInterval(() => { void this.announce().catch(() => undefined) }, every)
    this.soon()
  }

  /** Publish a fresh announcement now. */
  async announce(): Promise<Message> {
    const msg = await makeAnnouncement(this.opts.wallet, { peerId: this.opts.peerId, capabilities: this.opts.capabilities(), multiaddrs: this.opts.multiaddrs() })
    if (this.stopped) return msg
    this.table.offer(await checkAnnouncement(msg))
    await this.opts.pubsub.publish(NODES_TOPIC, encodePayload(msg, this.max))
    this.counts.published++
    return msg
  }

  stop(): void {
    this.stopped = true
    if (this.timer) clearInterval(this.timer)
    if (this.pending) clearTimeout(this.pending)
    const { pubsub } = this.opts
    pubsub.removeEventListener('gossipsub:message', this.onMessage)
    pubsub.removeEventListener('subscription-change', this.onSub as EventListener)
    pubsub.topicValidators.delete(NODES_TOPIC)
  }

  /** Announce after a short pause (several new peers at once make one announcement). */
  private soon(): void {
    if (this.stopped || this.pending) return
    this.pending = setTimeout(() => {
      this.pending = undefined
      void this.announce().catch(() => undefined)
    }, this.opts.debounceMs ?? 250)
  }

  private async validate(m: PubsubMessage): Promise<Verdict> {
    const v = await this.judge(m).catch((): Verdict => 'ignore')
    this.counts[v]++
    return v
  }

  private async judge(m: PubsubMessage): Promise<Verdict> {
    if (m.type !== 'signed') return 'reject'
    let msg: Message
    try {
      msg = decodePayload(m.data, this.max)
    } catch {
      return 'reject'
    }
    const address = binaryText(msg['address'])
    const ts = msg['timestamp']
    if (address !== undefined && typeof ts === 'bigint' && !this.table.isNewer(address, Number(ts))) return 'ignore'
    let a: Announcement
    try {
      a = await checkAnnouncement(msg, m.from.toString())
    } catch {
      return 'reject'
    }
    this.checked.set(m, a)
    return 'accept'
  }
}
