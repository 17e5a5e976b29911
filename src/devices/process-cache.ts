/**
 * The results of process@1.0 (HyperBEAM dev_process_cache), written behind.
 *
 * Layout: a computed state is written under its ID, then linked at
 * `computed/<pid>/<result-id>` and at `computed/<pid>/slot/<n>` — the slot
 * link is what marks a slot computed, so a crash before it leaves the slot to
 * be computed again (to the same result), never half-linked — and, when it
 * carries a snapshot, at `computed/<pid>/snapshot/<n>` (ours: finding the
 * newest snapshot without reading every slot's state).
 *
 * Writes are asynchronous (HyperBEAM's default too): a computed slot is
 * queued and answered at once, and a writer per store drains the queue in
 * batches — one IndexedDB transaction per batch, or, on the filesystem,
 * entries in parallel so their fsyncs overlap instead of costing three per
 * slot in series. Until its write lands a result is served from the queue.
 * Nothing is lost: a result is a pure function of the process and its
 * assignments, which the scheduler writes before it answers, so a result a
 * crash dropped is computed again, identically, when next asked for (from the
 * newest snapshot that did land). `flushResults` waits for the queue (a clean
 * shutdown, tests that read the store itself). A batch whose write fails stays
 * queued (and served) and is tried again by the next compute or flush; its
 * error is thrown once, by whichever comes first.
 *
 * The queue is bounded: a compute that would make it longer than
 * MAX_QUEUED waits for the writer.
 *
 * Parts: a state's top-level sub-messages that are immutable (their IDs
 * cached: a process's `process` message, its module, what a Lua call left
 * unchanged) are stored once, under their own IDs (HyperBEAM's hb_cache
 * stores nested messages by ID too), and the stored state links them. A
 * state's ID is the same either way (a child counts by its ID), and a slot no
 * longer rewrites the module and process message it carries: on a token
 * process that was most of every slot's bytes. `readResult` loads the links
 * back, so readers see the state as computed.
 */
import { isMessage, Link, type Message } from '../core/value.ts'
import { StoreFailed } from '../core/errors.ts'
import { isImmutable, messageId } from '../core/id.ts'
import { isPrivateKey, normalizeKey } from '../core/keys.ts'
import type { Store } from '../store/store.ts'
import type { StoreOp } from '../store/encoding.ts'
import { yieldToEventLoop } from '../core/yield.ts'

export const MAX_QUEUED = 256
const BATCH = 64
/** How long fewer than BATCH results wait for more before they are written. */
export const GATHER_MS = 20

export const resultPath = (pid: string, ref: bigint | number | string): string =>
  typeof ref === 'string' ? `computed/${pid}/${ref}` : `computed/${pid}/slot/${ref}`
/** Our index of the slots whose stored state carries a snapshot (HyperBEAM scans every slot). */
export const snapshotPath = (pid: string, slot: bigint | number): string => `computed/${pid}/snapshot/${slot}`

interface Pending { pid: string; slot: bigint; id: string; stored: Message }

/** IDs of parts a store is known to hold (written by a batch that landed). */
const written = new WeakMap<Store, Set<string>>()
const MAX_KNOWN_PARTS = 20_000

function knownParts(store: Store): Set<string> {
  let k = written.get(store)
  if (!k) { k = new Set(); written.set(store, k) }
  return k
}

/**
 * The state as stored and the parts it links: a top-level sub-message that is
 * immutable and either already stored as a part or the same object as in the
 * process's previous result (it does not change from slot to slot: the
 * process message, the module). What changes every slot (balances, results)
 * stays inline: a part of its own would cost an entry, and on a durable
 * filesystem an fsync, per slot.
 */
function split(stored: Message, known: Set<string>, previous: Map<string, unknown> | undefined): { top: Message; parts: [string, Message][] } {
  let top: Message | undefined
  const parts: [string, Message][] = []
  for (const k of Object.keys(stored)) {
    const v = stored[k]
    if (!isMessage(v) || !isImmutable(v) || isPrivateKey(normalizeKey(k))) continue
    const id = messageId(v, 'signed')
    if (!known.has(id) && previous?.get(k) !== v) continue
    top ??= Object.assign(Object.create(null), stored) as Message
    top[k] = new Link(id)
    parts.push([id, v])
  }
  return { top: top ?? stored, parts }
}

function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void
  const promise = new Promise<void>((r) => { resolve = r })
  return { promise, resolve }
}

class ResultWriter {
  /** pid → slot → the queued result. */
  readonly bySlot = new Map<string, Map<bigint, Pending>>()
  /** pid → the top-level values of the last result written (to spot what does not change). */
  private readonly lastChildren = new Map<string, Map<string, unknown>>()
  private queue: Pending[] = []
  private draining: Promise<void> | undefined
  private failure: unknown
  private gathering: ReturnType<typeof setTimeout> | undefined
  /** Settles whenever a batch lands or fails: what a compute held by a full queue waits for. */
  private progress = signal()

  constructor(private readonly store: Store) {}

  pending(pid: string, slot: bigint): Message | undefined {
    return this.bySlot.get(pid)?.get(slot)?.stored
  }

  async enqueue(p: Pending): Promise<void> {
    this.check()
    let m = this.bySlot.get(p.pid)
    if (!m) { m = new Map(); this.bySlot.set(p.pid, m) }
    m.set(p.slot, p)
    this.queue.push(p)
    this.kick()
    // Held only until the queue is short enough again, not until it is empty:
    // the next slots compute while the writer's next batch is in flight.
    while (this.queue.length > MAX_QUEUED && this.draining) await this.progress.promise
  }

  private stepped(): void {
    this.progress.resolve()
    this.progress = signal()
  }

  async flush(): Promise<void> {
    this.check()
    // Everything queued, without gathering; what a failure left queued is tried again.
    while (this.queue.length > 0 || this.draining) {
      if (!this.draining) this.start(true)
      await this.draining
      this.check()
    }
  }

  private check(): void {
    if (this.failure === undefined) return
    const e = this.failure
    this.failure = undefined
    throw e instanceof StoreFailed ? e : new StoreFailed(`a result write failed: ${(e as Error)?.message ?? String(e)}`)
  }

  /**
   * Group commit: a full batch is written at once; fewer results wait up to
   * GATHER_MS for more, so that a process computing slot after slot writes a
   * few large batches (one IndexedDB transaction, one round of fsyncs each)
   * rather than one small batch per slot.
   */
  private kick(): void {
    if (this.draining || this.queue.length === 0 || this.failure !== undefined) return
    if (this.queue.length >= BATCH) this.start(false)
    else this.gathering ??= setTimeout(() => { this.gathering = undefined; if (!this.draining) this.start(true) }, GATHER_MS)
  }

  /** Drain full batches, or (`all`) everything queued. */
  private start(all: boolean): void {
    if (this.gathering !== undefined) { clearTimeout(this.gathering); this.gathering = undefined }
    // Started in a later task: encoding a batch is synchronous work that would
    // otherwise delay whatever the compute that queued it does next.
    this.draining = yieldToEventLoop().then(() => this.drain(all)).finally(() => {
      this.draining = undefined
      this.kick()
    })
  }

  private async drain(all: boolean): Promise<void> {
    while (this.queue.length >= (all ? 1 : BATCH)) {
      const batch = this.queue.splice(0, BATCH)
      const known = knownParts(this.store)
      const newParts = new Map<string, Message>()
      const tops = batch.map((p) => {
        const { top, parts } = split(p.stored, known, this.lastChildren.get(p.pid))
        for (const [id, part] of parts) if (!known.has(id)) newParts.set(id, part)
        this.lastChildren.set(p.pid, new Map(Object.entries(p.stored)))
        return top
      })
      try {
        const partOps: StoreOp[] = [...newParts].map(([id, value]) => ({ op: 'write', path: id, value }))
        if (this.store.transactional && this.store.batch) await this.store.batch([...partOps, ...batch.flatMap((p, i) => ops(p, tops[i]!))])
        else {
          // One entry at a time but in parallel, each phase after the one it names.
          await Promise.all([...newParts].map(([id, part]) => this.store.write(id, part)))
          await Promise.all(batch.map((p, i) => this.store.write(p.id, tops[i]!)))
          await Promise.all(batch.map((p) => this.store.link(resultPath(p.pid, p.id), p.id)))
          await Promise.all(batch.map((p) => this.store.link(resultPath(p.pid, p.slot), p.id)))
          await Promise.all(batch.filter((p) => 'snapshot' in p.stored).map((p) => this.store.link(snapshotPath(p.pid, p.slot), p.id)))
        }
      } catch (e) {
        // The batch stays queued (still served) and is tried again by the next
        // compute or flush; the error is reported once.
        this.failure = e
        this.queue.unshift(...batch)
        this.stepped()
        return
      }
      if (known.size + newParts.size > MAX_KNOWN_PARTS) known.clear()
      for (const id of newParts.keys()) known.add(id)
      for (const p of batch) this.forget(p)
      this.stepped()
    }
  }

  private forget(p: Pending): void {
    const m = this.bySlot.get(p.pid)
    if (m?.get(p.slot) === p) m.delete(p.slot)
    if (m && m.size === 0) this.bySlot.delete(p.pid)
  }
}

/** A result's entries, values before the links that name them. */
function ops(p: Pending, top: Message): StoreOp[] {
  const out: StoreOp[] = [
    { op: 'write', path: p.id, value: top },
    { op: 'link', path: resultPath(p.pid, p.id), target: p.id },
    { op: 'link', path: resultPath(p.pid, p.slot), target: p.id },
  ]
  if ('snapshot' in p.stored) out.push({ op: 'link', path: snapshotPath(p.pid, p.slot), target: p.id })
  return out
}

const writers = new WeakMap<Store, ResultWriter>()

function writerOf(store: Store): ResultWriter {
  let w = writers.get(store)
  if (!w) { w = new ResultWriter(store); writers.set(store, w) }
  return w
}

/** pid → the newest slot whose state with a snapshot this node queued (per store). */
const snapshotsQueued = new WeakMap<Store, Map<string, bigint>>()

/** The newest slot with a snapshot this node has queued for the process (its own or an offer's). */
export function newestQueuedSnapshot(store: Store, pid: string): bigint | undefined {
  return snapshotsQueued.get(store)?.get(pid)
}

/** Queue a computed state (its stored form) under its result ID. */
export function queueResult(store: Store, pid: string, slot: bigint, id: string, stored: Message): Promise<void> {
  if ('snapshot' in stored) {
    let m = snapshotsQueued.get(store)
    if (!m) { m = new Map(); snapshotsQueued.set(store, m) }
    if ((m.get(pid) ?? -1n) < slot) m.set(pid, slot)
  }
  return writerOf(store).enqueue({ pid, slot, id, stored })
}

/** A result still in the write queue (memory only). */
export function queuedResult(store: Store, pid: string, slot: bigint): Message | undefined {
  return writers.get(store)?.pending(pid, slot)
}

/** Wait until every queued result of the store is written; throws a write's failure. */
export function flushResults(store: Store): Promise<void> {
  return writers.get(store)?.flush() ?? Promise.resolve()
}

/** dev_process_cache:read */
export async function readResult(store: Store, pid: string, slot: bigint): Promise<Message | undefined> {
  const queued = writers.get(store)?.pending(pid, slot)
  if (queued) return queued
  const v = await store.read(resultPath(pid, slot))
  return isMessage(v) ? loadParts(store, v) : undefined
}

/** The state with its top-level links loaded (undefined when a part is missing: compute again). */
async function loadParts(store: Store, v: Message): Promise<Message | undefined> {
  let out: Message | undefined
  for (const k of Object.keys(v)) {
    const x = v[k]
    if (!(x instanceof Link)) continue
    const part = await store.read(x.id)
    if (!isMessage(part)) return undefined
    out ??= Object.assign(Object.create(null), v) as Message
    out[k] = part
  }
  return out ?? v
}

/**
 * dev_process_cache:latest: the newest computed slot (≤ limit), optionally one
 * with a snapshot (found through our snapshot index, else — a store written
 * before the index existed — by scanning the slots).
 */
export async function latestResult(store: Store, pid: string, opts: { limit?: bigint; snapshot?: boolean } = {}): Promise<{ slot: bigint; msg: Message } | undefined> {
  const withSnapshot = opts.snapshot ?? false
  if (withSnapshot) {
    const found = await newest(store, pid, `computed/${pid}/snapshot`, opts.limit, true)
    if (found) return found
  }
  return newest(store, pid, `computed/${pid}/slot`, opts.limit, withSnapshot)
}

async function newest(store: Store, pid: string, group: string, limit: bigint | undefined, withSnapshot: boolean): Promise<{ slot: bigint; msg: Message } | undefined> {
  const stored = (await store.list(group)).filter((s) => /^\d+$/.test(s)).map(BigInt)
  const queued = [...(writers.get(store)?.bySlot.get(pid)?.values() ?? [])]
    .filter((p) => !withSnapshot || 'snapshot' in p.stored).map((p) => p.slot)
  const slots = [...new Set([...stored, ...queued])]
    .filter((s) => limit === undefined || s <= limit).sort((a, b) => (a > b ? -1 : a < b ? 1 : 0))
  for (const slot of slots) {
    const msg = await readResult(store, pid, slot)
    if (!msg) continue
    if (withSnapshot && !('snapshot' in msg)) continue
    return { slot, msg }
  }
  return undefined
}
