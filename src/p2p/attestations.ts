/**
 * Result attestations: a node that computes slot N of a process publishes
 * what it got, committed by its wallet, on the process's attestations topic:
 *
 *   {
 *     type: "Attestation", data-protocol: "ao-tab", variant: "ao-tab.attest.1",
 *     process: <pid>, slot: <integer>, assignment: <signed ID of the assignment>,
 *     hash-chain: <the assignment's hash-chain>, result: <result ID>,
 *     hashpath: <the computation's hashpath>, node: <wallet address>
 *   } + commitments (httpsig@1.0, by `node`)
 *
 * The result ID is the unsigned ID of the state after the slot (without its
 * snapshot: process@1.0's result ID); the hashpath is the state's own
 * `priv/hashpath`. Both are the same on every honest node that computed the
 * same assignments. Browser-pure.
 *
 * The table keeps, per process and slot, address → what that wallet attested.
 * When this node's own attestation for a slot is known, every attester that
 * differs from it (another assignment, result or hashpath), or that attested
 * two different things for one slot, is disputed for the process: listed with
 * the evidence and never counted in a quorum of that process again.
 */
import { Waiters } from '../core/waiters.ts'
import { binaryText, message, type Message } from '../core/value.ts'
import { commitMessage } from '../codecs/commitments.ts'
import { messageId } from '../core/id.ts'
import type { Wallet } from '../crypto/wallet.ts'
import { InvalidAttestation } from './errors.ts'
import type { AttestationEntry, AttestationFacts, Dispute } from '../devices/p2p.ts'
import { setBounded } from '../core/bounded.ts'

export const ATTESTATION_VARIANT = 'ao-tab.attest.1'
/** Slots remembered per process (the oldest are forgotten first). */
export const MAX_ATTESTED_SLOTS = 10_000

/** A new attestation, committed by the wallet. */
export function makeAttestation(wallet: Wallet, pid: string, f: AttestationFacts): Promise<Message> {
  return commitMessage(message({
    type: 'Attestation',
    'data-protocol': 'ao-tab',
    variant: ATTESTATION_VARIANT,
    process: pid,
    slot: f.slot,
    assignment: f.assignment,
    'hash-chain': f.hashChain,
    result: f.result,
    hashpath: f.hashpath,
    node: wallet.address,
  }), { wallet })
}

/** The facts an attestation states (InvalidAttestation when a key is missing or mistyped). */
export function readAttestation(m: Message): AttestationFacts & { process: string; node: string } {
  const t = (k: string): string => {
    const v = binaryText(m[k])
    if (v === undefined || v === '') throw new InvalidAttestation(`an attestation needs \`${k}\` as text`)
    return v
  }
  const slot = m['slot']
  if (typeof slot !== 'bigint' || slot < 0n) throw new InvalidAttestation('an attestation needs an integer `slot` ≥ 0')
  return { process: t('process'), node: t('node'), slot, assignment: t('assignment'), hashChain: t('hash-chain'), result: t('result'), hashpath: t('hashpath') }
}

const same = (a: AttestationFacts, b: AttestationFacts): boolean =>
  a.assignment === b.assignment && a.result === b.result && a.hashpath === b.hashpath

export class AttestationTable {
  /** pid → slot → address → entry. */
  private readonly byPid = new Map<string, Map<bigint, Map<string, AttestationEntry>>>()
  private readonly disputes = new Map<string, Map<string, Dispute>>()
  private readonly waiters = new Waiters<string>()

  /**
   * `onDispute` hears each new dispute (the wiring keeps them in the store, so that a restarted
   * node still never counts that wallet). At most MAX_ATTESTED_SLOTS slots are kept per process.
   */
  constructor(readonly self: string, private readonly o: { onDispute?: (pid: string, d: Dispute) => void } = {}) {}

  /** Record an attestation (ours when `address` is this node's). Returns false for one already known. */
  add(pid: string, address: string, facts: AttestationFacts, meta: { id: string; announced: boolean; message?: Message }): boolean {
    let slots = this.byPid.get(pid)
    if (!slots) { slots = new Map(); this.byPid.set(pid, slots) }
    let at = slots.get(facts.slot)
    if (!at) {
      at = new Map()
      setBounded(slots, facts.slot, at, MAX_ATTESTED_SLOTS)
    }
    const old = at.get(address)
    if (old) {
      // One wallet, two different statements about one slot: disputed; the first one stays.
      if (!same(old, facts) && address !== this.self) this.dispute(pid, address, facts, 'attested two different results for one slot')
      return false
    }
    const entry: AttestationEntry = { ...facts, address, id: meta.id, own: address === this.self, announced: meta.announced }
    if (meta.message) entry.message = meta.message
    at.set(address, entry)
    const own = at.get(this.self)
    if (own) {
      for (const e of entry.own ? at.values() : [entry]) {
        if (!e.own && !same(e, own)) this.dispute(pid, e.address, e, 'differs from this node\'s own computation')
      }
    }
    this.notify(pid, facts.slot)
    return true
  }

  /** The attestations of a slot (this node's first). */
  slot(pid: string, slot: bigint): AttestationEntry[] {
    const at = this.byPid.get(pid)?.get(slot)
    if (!at) return []
    return [...at.values()].sort((a, b) => (a.own === b.own ? (a.address < b.address ? -1 : 1) : a.own ? -1 : 1))
  }

  own(pid: string, slot: bigint): AttestationEntry | undefined {
    return this.byPid.get(pid)?.get(slot)?.get(this.self)
  }

  /** The slots with attestations, ascending. */
  slots(pid: string): bigint[] {
    return [...(this.byPid.get(pid)?.keys() ?? [])].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  }

  disputed(pid: string): Map<string, Dispute> {
    return this.disputes.get(pid) ?? new Map()
  }

  /** A dispute found before (kept in the store): the wallet is not counted again. */
  restoreDispute(pid: string, d: Dispute): void {
    if (d.address === this.self) return
    let m = this.disputes.get(pid)
    if (!m) { m = new Map(); this.disputes.set(pid, m) }
    if (!m.has(d.address)) m.set(d.address, d)
  }

  /** Resolves at the next attestation of the slot, or after `ms`. */
  next(pid: string, slot: bigint, ms: number): Promise<void> {
    return this.waiters.wait(`${pid}/${slot}`, ms)
  }

  private dispute(pid: string, address: string, facts: AttestationFacts, reason: string): void {
    let d = this.disputes.get(pid)
    if (!d) { d = new Map(); this.disputes.set(pid, d) }
    if (d.has(address)) return
    const found: Dispute = { address, slot: facts.slot, assignment: facts.assignment, result: facts.result, hashpath: facts.hashpath, reason }
    d.set(address, found)
    this.o.onDispute?.(pid, found)
  }

  private notify(pid: string, slot: bigint): void {
    this.waiters.wake(`${pid}/${slot}`)
  }
}

/** The signed ID of an attestation (what the table keeps as its `id`). */
export const attestationId = (m: Message): string => messageId(m, 'signed')
