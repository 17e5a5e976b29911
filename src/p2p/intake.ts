/**
 * Assignments from the network into the node's schedule. A gossiped
 * assignment is judged and stored by scheduler@1.0's importAssignment
 * (src/devices/scheduler-import.ts) in gossipsub's topic validator, so what a
 * node forwards is what it accepted and stored:
 *
 *   accept   imported (or the identical assignment is already stored)
 *   accept   the slot is ahead of the next one (AssignmentOutOfOrder, thrown
 *            only after the signer was found to be a scheduler of the
 *            process): held until the slots before it arrive, then imported;
 *            a gap still open after `gapMs` is fetched by catch-up from the
 *            peer that published the held one
 *   ignore   a slot > 0 of a process whose message this node does not have:
 *            held, and the schedule fetched by catch-up from slot 0 (whose
 *            assignment carries the process message as its body)
 *   reject   every other refusal of importAssignment: not signed by a
 *            scheduler the process names, the hash-chain does not continue,
 *            another assignment holds the slot, a signature that does not
 *            verify, malformed, for another process
 *
 * The process message travels with slot 0's assignment (its `body` is the
 * process: scheduling a process starts its schedule), so a node needs nothing
 * but the process's assignments. Catch-up stores through the same
 * importAssignment (sink), so local, gossiped and caught-up assignments share
 * scheduler@1.0's head and queue.
 */
import { isMessage, type Message } from '../core/value.ts'
import { messageId } from '../core/id.ts'
import { AoError, BadInput } from '../core/errors.ts'
import { verifyMessage } from '../codecs/commitments.ts'
import {
  AssignedMessageInvalid, AssignmentChainBroken, AssignmentMalformed, AssignmentNotByScheduler, AssignmentOutOfOrder,
  AssignmentSignatureInvalid, AssignmentUnsigned, AssignmentWrongProcess, ProcessMessageInvalid, SlotTaken,
} from '../core/errors.ts'
import type { Store } from '../store/store.ts'
import { importAssignment } from '../devices/scheduler-import.ts'
import { headOf } from '../devices/scheduler.ts'
import { CatchupFailed } from './errors.ts'
import type { Origin } from './gossip.ts'
import type { Verdict } from './verdict.ts'

/** importAssignment's refusals that are the sender's fault. */
const REFUSALS = [
  AssignmentNotByScheduler, AssignmentChainBroken, SlotTaken, AssignmentSignatureInvalid, AssignmentUnsigned,
  AssignmentMalformed, AssignmentWrongProcess, AssignedMessageInvalid, ProcessMessageInvalid,
]

export const MAX_HELD_PER_PROCESS = 10_000

export interface IntakeOptions {
  /** Fetch a process's assignments from a peer (through the `sink` below). */
  catchUp(pid: string, peer: string): Promise<unknown>
  /** Told of each assignment stored (slot order per process). */
  imported?(pid: string, slot: bigint): void
  /** How long a gap may stay open before it is fetched (default 250 ms). */
  gapMs?: number
  maxHeld?: number
}

interface Held { assignment: Message; body: Message | undefined }

export class AssignmentIntake {
  /** Validation outcomes so far. */
  readonly counts = { imported: 0, held: 0, rejected: 0 }
  /** The last refusal per process (what a test or an operator wants to see). */
  readonly lastRefusal = new Map<string, AoError>()
  private readonly held = new Map<string, Map<bigint, Held>>()
  private readonly fetching = new Map<string, Promise<void>>()
  private readonly gapTimers = new Map<string, ReturnType<typeof setTimeout>>()
  private closed = false

  constructor(private readonly store: Store, private readonly o: IntakeOptions) {}

  /** gossip's validateAssignment. */
  readonly validate = async (pid: string, a: Message, body: Message | undefined, origin?: Origin): Promise<Verdict> => {
    const proc = await this.processMessage(pid, a, body)
    if (!proc) {
      // Not judged yet (gossip leaves verification to importAssignment): held only if it verifies.
      const v = await verifyMessage(a).catch(() => undefined)
      if (!v?.verified || v.committers.length === 0) return 'reject'
      this.hold(pid, a, body)
      if (origin) this.fetch(pid, origin.from)
      return 'ignore'
    }
    try {
      await this.importOne(pid, proc, a, body)
      await this.drain(pid)
      return 'accept'
    } catch (e) {
      if (e instanceof AssignmentOutOfOrder) {
        this.hold(pid, a, body)
        await this.drain(pid) // the slot before may have landed meanwhile
        if (origin) this.gapLater(pid, origin.from)
        return 'accept'
      }
      // (BadInput: commitments that cannot even be checked, an unknown commitment device and the like.)
      if (e instanceof AoError && (REFUSALS.some((c) => e instanceof c) || e instanceof BadInput)) {
        this.counts.rejected++
        this.lastRefusal.set(pid, e)
        return 'reject'
      }
      throw e // ours (the store): gossip ignores it
    }
  }

  /** catchUp's sink: each checked assignment goes through importAssignment. */
  readonly sink = async (pid: string, a: Message): Promise<void> => {
    const body = isMessage(a['body']) ? a['body'] : undefined
    const proc = await this.processMessage(pid, a, body)
    if (!proc) throw new CatchupFailed(`process ${pid} is not known here: catch up from slot 0, which carries it`)
    await this.importOne(pid, proc, a, body)
  }

  /** Held assignments of a process (slots). */
  heldSlots(pid: string): bigint[] {
    return [...(this.held.get(pid)?.keys() ?? [])].sort((x, y) => (x < y ? -1 : 1))
  }

  close(): void {
    this.closed = true
    for (const t of this.gapTimers.values()) clearTimeout(t)
    this.gapTimers.clear()
    this.held.clear()
  }

  /** The process message: stored, or slot 0's body (scheduling a process starts its schedule). */
  private async processMessage(pid: string, a: Message, body: Message | undefined): Promise<Message | undefined> {
    const stored = await this.store.read(pid)
    if (isMessage(stored)) return stored
    if (a['slot'] === 0n && body && messageId(body, 'signed') === pid) return body
    return undefined
  }

  private async importOne(pid: string, proc: Message, a: Message, body: Message | undefined): Promise<void> {
    const r = await importAssignment(this.store, proc, a, body)
    if (r.imported) {
      this.counts.imported++
      this.o.imported?.(pid, r.slot)
    }
  }

  private hold(pid: string, a: Message, body: Message | undefined): void {
    let m = this.held.get(pid)
    if (!m) { m = new Map(); this.held.set(pid, m) }
    if (m.size >= (this.o.maxHeld ?? MAX_HELD_PER_PROCESS)) return
    m.set(a['slot'] as bigint, { assignment: a, body })
    this.counts.held++
  }

  /** Import the held assignments that are now next, in order. */
  private async drain(pid: string): Promise<void> {
    const m = this.held.get(pid)
    if (!m || m.size === 0) return
    for (;;) {
      const head = await headOf(this.store, pid)
      for (const s of m.keys()) if (s <= head.written) m.delete(s)
      const h = m.get(head.written + 1n)
      if (!h) break
      m.delete(head.written + 1n)
      const proc = await this.processMessage(pid, h.assignment, h.body)
      if (!proc) break
      try {
        await this.importOne(pid, proc, h.assignment, h.body)
      } catch (e) {
        if (e instanceof AoError) { this.counts.rejected++; this.lastRefusal.set(pid, e) }
        break
      }
    }
    if (m.size === 0) this.held.delete(pid)
  }

  /** A gap that is still open after a moment is fetched. */
  private gapLater(pid: string, peer: string): void {
    if (this.gapTimers.has(pid) || this.closed) return
    this.gapTimers.set(pid, setTimeout(() => {
      this.gapTimers.delete(pid)
      void this.drain(pid).then(() => { if ((this.held.get(pid)?.size ?? 0) > 0) this.fetch(pid, peer) })
    }, this.o.gapMs ?? 250))
  }

  /** One catch-up at a time per process, then the held ones. */
  private fetch(pid: string, peer: string): void {
    if (this.fetching.has(pid) || this.closed) return
    const p = Promise.resolve()
      .then(() => this.o.catchUp(pid, peer))
      .catch(() => undefined)
      .then(() => this.drain(pid))
      .finally(() => this.fetching.delete(pid))
    this.fetching.set(pid, p)
  }
}
