/**
 * Gossip per process: submitted messages, scheduler assignments and result
 * attestations on three topics per process (topics.ts), each payload a
 * committed message as typed JSON (payload.ts). Browser-pure: it needs only a
 * gossipsub instance.
 *
 * Every payload is validated in gossipsub's topic validator, before it is
 * delivered or forwarded:
 *   reject  over the size limit; not a typed-JSON message; commitments that do
 *           not verify or no signed commitment; a message whose `target` is
 *           another process; an assignment whose `process` is another one or
 *           whose `slot` is not an integer ≥ 0, or that the node's
 *           validateAssignment refuses; an attestation whose `process` is
 *           another one or that is not committed by the wallet in its `node`
 *   ignore  a payload already seen (same signed ID); a validator that failed
 *           on our side; validateAssignment saying ignore
 *   accept  everything else: handlers run, gossipsub forwards it.
 * Rejected payloads count as invalid deliveries of the peer that sent them,
 * which lowers its score (score.ts).
 */
import type { GossipSub, GossipsubMessage, Message as PubsubMessage } from '@libp2p/gossipsub'
import { binaryText, isMessage, type Message } from '../core/value.ts'
import { messageId } from '../core/id.ts'
import { verifyMessage } from '../codecs/commitments.ts'
import { committersOf } from '../devices/meta.ts'
import { decodePayload, encodePayload, MAX_PAYLOAD_BYTES } from './payload.ts'
import { parseProcessTopic, processTopic, PROCESS_CHANNELS, type ProcessChannel } from './topics.ts'
import { scoreTopic } from './score.ts'
import { SeenSet, toResult, type Verdict } from './verdict.ts'

/**
 * The node's judgement of an assignment whose commitments verified: signer,
 * slot, hash-chain (src/devices/scheduler-import.ts). `message` is the
 * assigned message (the assignment's `body`) when it carries one.
 */
export type AssignmentValidator = (pid: string, assignment: Message, message: Message | undefined, origin?: Origin) => Promise<Verdict>
export type PayloadValidator = (pid: string, payload: Message, origin?: Origin) => Promise<Verdict>

/** Where a payload under validation comes from: its publisher (gossipsub's signed `from`). */
export interface Origin { from: string }

/** Where a delivered payload came from. */
export interface GossipMeta {
  pid: string
  channel: ProcessChannel
  /** Its signed ID. */
  id: string
  /** Committers whose commitments verified. */
  committers: string[]
  /** The peer that published it (gossipsub's signed `from`). */
  from: string
  /** The peer it arrived from. */
  via: string
}

export interface ProcessHandlers {
  message?(msg: Message, meta: GossipMeta): void
  assignment?(assignment: Message, meta: GossipMeta): void
  attestation?(attestation: Message, meta: GossipMeta): void
}

export interface GossipOptions {
  maxPayloadBytes?: number
  /** Default: accept (its commitments verified). */
  validateAssignment?: AssignmentValidator
  /**
   * validateAssignment verifies the commitments itself (importAssignment does):
   * gossip does not verify assignments a second time, and rejects what it
   * rejects. Committers in the delivery meta are then the claimed ones.
   */
  assignmentValidatorVerifies?: boolean
  /** Extra checks of submitted messages (default accept). */
  validateMessage?: PayloadValidator
  /** Extra checks of attestations (default accept). */
  validateAttestation?: PayloadValidator
}

export interface GossipCounts { accept: number; reject: number; ignore: number }

const text = binaryText
const withoutHint = (t: string): string => t.split('?')[0]!.split('&')[0]!

interface Checked { msg: Message; id: string; committers: string[] }

export class ProcessGossip {
  readonly maxPayloadBytes: number
  /** Validation outcomes so far, per channel. */
  readonly counts: Record<ProcessChannel, GossipCounts> = {
    messages: { accept: 0, reject: 0, ignore: 0 },
    assignments: { accept: 0, reject: 0, ignore: 0 },
    attestations: { accept: 0, reject: 0, ignore: 0 },
  }
  private readonly handlers = new Map<string, Set<ProcessHandlers>>()
  private readonly seen: Record<ProcessChannel, SeenSet> = { messages: new SeenSet(), assignments: new SeenSet(), attestations: new SeenSet() }
  /** Validated payloads waiting for gossipsub's delivery event (the same message object). */
  private readonly checked = new WeakMap<PubsubMessage, Checked>()
  private readonly onMessage = (evt: CustomEvent<GossipsubMessage>): void => this.deliver(evt.detail)

  constructor(readonly pubsub: GossipSub, private readonly opts: GossipOptions = {}) {
    this.maxPayloadBytes = opts.maxPayloadBytes ?? MAX_PAYLOAD_BYTES
    pubsub.addEventListener('gossipsub:message', this.onMessage)
  }

  /** Follow a process: subscribe to its three topics. Returns the unsubscribe function. */
  subscribe(pid: string, handlers: ProcessHandlers = {}): () => void {
    let set = this.handlers.get(pid)
    if (!set) {
      set = new Set()
      this.handlers.set(pid, set)
      for (const ch of PROCESS_CHANNELS) {
        const topic = processTopic(pid, ch)
        scoreTopic(this.pubsub, topic)
        this.pubsub.topicValidators.set(topic, async (_peer, m) => toResult(await this.validate(pid, ch, m)))
        this.pubsub.subscribe(topic)
      }
    }
    set.add(handlers)
    return () => {
      const s = this.handlers.get(pid)
      if (!s?.delete(handlers) || s.size > 0) return
      this.handlers.delete(pid)
      for (const ch of PROCESS_CHANNELS) {
        const topic = processTopic(pid, ch)
        this.pubsub.unsubscribe(topic)
        this.pubsub.topicValidators.delete(topic)
      }
    }
  }

  /** The peers subscribed to a process's topic (as gossipsub knows them). */
  subscribers(pid: string, channel: ProcessChannel = 'messages'): string[] {
    return this.pubsub.getSubscribers(processTopic(pid, channel)).map((p) => p.toString())
  }

  publishMessage(pid: string, msg: Message): Promise<PublishReceipt> { return this.publish(pid, 'messages', msg) }
  publishAssignment(pid: string, assignment: Message): Promise<PublishReceipt> { return this.publish(pid, 'assignments', assignment) }
  publishAttestation(pid: string, attestation: Message): Promise<PublishReceipt> { return this.publish(pid, 'attestations', attestation) }

  /** Publish a committed message (size-checked: PayloadTooLarge). The caller vouches for it. */
  async publish(pid: string, channel: ProcessChannel, msg: Message): Promise<PublishReceipt> {
    const bytes = encodePayload(msg, this.maxPayloadBytes)
    const id = messageId(msg, 'signed')
    this.seen[channel].add(id)
    const r = await this.pubsub.publish(processTopic(pid, channel), bytes)
    return { id, recipients: r.recipients.map((p) => p.toString()) }
  }

  close(): void {
    this.pubsub.removeEventListener('gossipsub:message', this.onMessage)
    for (const pid of [...this.handlers.keys()]) {
      for (const ch of PROCESS_CHANNELS) {
        this.pubsub.unsubscribe(processTopic(pid, ch))
        this.pubsub.topicValidators.delete(processTopic(pid, ch))
      }
    }
    this.handlers.clear()
  }

  private async validate(pid: string, channel: ProcessChannel, m: PubsubMessage): Promise<Verdict> {
    let v: Verdict
    try {
      v = await this.judge(pid, channel, m)
    } catch {
      v = 'ignore' // a failure of ours (the node's validator threw), not the sender's fault
    }
    this.counts[channel][v]++
    return v
  }

  private async judge(pid: string, channel: ProcessChannel, m: PubsubMessage): Promise<Verdict> {
    let msg: Message
    try {
      msg = decodePayload(m.data, this.maxPayloadBytes)
    } catch {
      return 'reject'
    }
    let id: string
    let committers: string[]
    try {
      id = messageId(msg, 'signed')
      if (this.seen[channel].has(id)) return 'ignore'
      if (channel === 'assignments' && this.opts.assignmentValidatorVerifies && this.opts.validateAssignment) {
        committers = committersOf(msg)
        if (committers.length === 0) return 'reject'
      } else {
        const v = await verifyMessage(msg)
        if (!v.verified || v.committers.length === 0) return 'reject'
        committers = v.committers
      }
    } catch {
      return 'reject' // unknown commitment devices, malformed commitments
    }
    const origin = m.type === 'signed' ? { from: m.from.toString() } : undefined
    const verdict = await this.check(pid, channel, msg, id, committers, origin)
    if (verdict === 'accept') {
      this.seen[channel].add(id)
      this.checked.set(m, { msg, id, committers })
    }
    return verdict
  }

  private async check(pid: string, channel: ProcessChannel, msg: Message, id: string, committers: string[], origin: Origin | undefined): Promise<Verdict> {
    if (channel === 'messages') {
      const target = text(msg['target'])
      if (target !== undefined && withoutHint(target) !== pid && id !== pid) return 'reject'
      return this.opts.validateMessage ? this.opts.validateMessage(pid, msg, origin) : 'accept'
    }
    if (text(msg['process']) !== pid) return 'reject'
    if (channel === 'assignments') {
      const slot = msg['slot']
      if (typeof slot !== 'bigint' || slot < 0n) return 'reject'
      const body = msg['body']
      return this.opts.validateAssignment ? this.opts.validateAssignment(pid, msg, isMessage(body) ? body : undefined, origin) : 'accept'
    }
    const node = text(msg['node'])
    if (node === undefined || !committers.includes(node)) return 'reject'
    return this.opts.validateAttestation ? this.opts.validateAttestation(pid, msg, origin) : 'accept'
  }

  private deliver(d: GossipsubMessage): void {
    const c = this.checked.get(d.msg)
    if (!c) return
    this.checked.delete(d.msg)
    const t = parseProcessTopic(d.msg.topic)
    if (!t || d.msg.type !== 'signed') return
    const meta: GossipMeta = { pid: t.pid, channel: t.channel, id: c.id, committers: c.committers, from: d.msg.from.toString(), via: d.propagationSource.toString() }
    for (const h of this.handlers.get(t.pid) ?? []) {
      const f = t.channel === 'messages' ? h.message : t.channel === 'assignments' ? h.assignment : h.attestation
      try { f?.call(h, c.msg, meta) } catch { /* a handler's failure is its own */ }
    }
  }
}

export interface PublishReceipt {
  /** The payload's signed ID. */
  id: string
  /** Peers it was sent to directly. */
  recipients: string[]
}
