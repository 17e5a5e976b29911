/**
 * scheduler@1.0 (spec §4.3; HyperBEAM dev_scheduler, _server, _cache, _formats):
 * orders the messages of a process into slots and signs each order.
 *
 *   schedule  POST: schedule a message (a process message starts its schedule).
 *             GET: the assignments from `from` (default 0) to `to` (default the
 *             latest), at most 1000; `accept: application/aos-2` gives the
 *             legacy JSON page, anything else the `type: schedule` message.
 *   slot      the current slot of a process: `{process, current, …}`.
 *   status    this scheduler: its address and the processes it schedules.
 *   next      (for process@1.0) the assignment after the base's `at-slot`.
 *   import    store an assignment signed by another scheduler of the process
 *             (checked: src/devices/scheduler-import.ts).
 *   Every other exported key goes to `schedule`; `set` and `keys` are message@1.0's.
 *
 * POST rules:
 *   - the message to schedule is the request's `subject` key (`self`: the request
 *     itself), else its `body`, else the request;
 *   - process ID: the message's own signed ID when `type: Process`, else its
 *     `target`, else (find_target_id) request `target`, the request's ID if it is
 *     a process, the base's `process`, the base's ID if it is a process;
 *   - only the committed keys are kept, and the message must carry at least one
 *     signature and every commitment must verify (400 `Message is not valid.`);
 *   - the process message (when it is not the node's stored copy) must be
 *     signed and verify (400 `Process message is not valid.`): its signed ID is
 *     its signature's, so an altered copy (another `scheduler` list) has the same
 *     ID. HyperBEAM writes it to its cache before any check (find_server);
 *   - the node schedules only if its wallet address is in the process's
 *     `scheduler` (or `scheduler-location`) list: a list, or text with
 *     comma-separated addresses. Otherwise 404: this node does not know where
 *     the process's scheduler is (HyperBEAM looks up a `scheduler-location`
 *     record on Arweave and redirects; there is no gateway here).
 *
 * Assignments: slots from 0; `hash-chain` = b64url(sha256(prevRaw ‖ id)) where id is
 * the 43-character text of the message's signed ID and prevRaw the previous link's
 * 32 raw bytes (empty for slot 0). After a restart the chain continues from the
 * newest stored assignment, decoded to raw bytes. (HyperBEAM reloads the stored
 * text form and concatenates that instead — a bug we do not copy: a chain then
 * depends on whether its scheduler restarted.) The assignment is committed by the
 * node wallet (httpsig@1.0), written under its ID and linked at
 * `assignments/<pid>/<slot>`; the scheduled message is written under its ID.
 * No Arweave here: `block-height` 0, `block-hash` 43 × `A` (32 zero bytes),
 * `block-timestamp` 0; `timestamp` is the node's clock (ms), as HyperBEAM's, so two
 * runs over the same messages sign assignments with different IDs (and the
 * results, whose hashpaths start from the assignment IDs, differ too: compare
 * runs over the same assignments, see scheduler-import.ts). `/slot` gives them unswapped (HyperBEAM swaps height and hash
 * there, spec §3.10 #6).
 *
 * Idempotent scheduling: a message already scheduled for the process (same
 * signed ID of its committed keys) is answered with its existing assignment, never
 * a second slot, so a client that lost the answer (the node crashed) can retry.
 * The index is `scheduled/<pid>/<message-id>` → the slot (decimal text), written
 * before the slot link; an entry counts only when `assignments/<pid>/<slot>` holds
 * an assignment of that very message, so an entry left by a crash before the slot
 * link (or pointing at a slot later given to another message) reads as absent and
 * is overwritten when the message is assigned. HyperBEAM (dev_scheduler_server
 * do_assign, dev_scheduler_cache:write) keeps no such index: the same message
 * POSTed twice gets two slots, and a process sees it twice.
 *
 * Crash safety of the writes: the message and the assignment under their IDs
 * and the index entry (in parallel), then, once all three are written, the slot
 * link (what makes the slot exist). A crash before the link leaves unreferenced
 * entries only; the restarted server continues from the newest linked slot.
 *
 * Importing assignments signed by another node: src/devices/scheduler-import.ts
 * (the `import` key). Imports and local assignments of a process share the same
 * queue and head (slot, chain).
 *
 * Hooks per store (setSchedulerHooks; the network layer sets them): told of
 * each assignment made here, and asked to forward a message for a process
 * this node does not schedule instead of answering 404.
 *
 * Assignments of one process are made one at a time (a promise chain per process
 * and store); different processes are independent.
 */
import { Waiters } from '../core/waiters.ts'
import { binaryText, Link, toInt } from '../core/value.ts'
import { emptyMessage, isMessage, message, type Message, type Value } from '../core/value.ts'
import { error, notFound, ok, type Device, type Outcome, type ResolveContext } from '../core/device.ts'
import { directGet } from '../core/resolver.ts'
import { isIdShaped } from '../core/keys.ts'
import { messageId } from '../core/id.ts'
import { fromB64, toB64Url, utf8, concatBytes } from '../core/bytes.ts'
import { sha256 } from '../crypto/hash.ts'
import { commitMessage, verifyMessage } from '../codecs/commitments.ts'
import { toTabm } from '../codecs/structured.ts'
import { commitmentsOf } from '../codecs/httpsig/commitment.ts'
import { committedKeysOf, committersOf } from './meta.ts'
import { BadInput, StoreFailed } from '../core/errors.ts'
import type { Store } from '../store/store.ts'
import { importKey } from './scheduler-import.ts'
import { setBounded } from '../core/bounded.ts'

export const SCHEDULER = 'scheduler@1.0'
/** At most this many assignments in one GET /schedule answer. */
export const MAX_ASSIGNMENT_QUERY_LEN = 1000
export const ZERO_HASH = toB64Url(new Uint8Array(32))

export const text = binaryText

export function copy(m: Message): Message {
  const out = emptyMessage()
  for (const k of Object.keys(m)) out[k] = m[k]!
  return out
}

/** hb_message:with_only_committed: the committed keys and the commitments; an uncommitted message as is. */
export function withOnlyCommitted(m: Message): Message {
  if (Object.keys(commitmentsOf(m)).length === 0) return m
  const keys = committedKeysOf(m)
  const out = emptyMessage()
  for (const k of keys) if (k in m) out[k] = m[k]!
  out['commitments'] = m['commitments']!
  return out
}

/** hb_message:uncommitted: the message without its commitments. */
export function uncommitted(m: Message): Message {
  if (!('commitments' in m)) return m
  const out = copy(m)
  delete out['commitments']
  return out
}

/** dev_scheduler:parse_schedulers: a list, or comma-separated text (quotes dropped). */
export function parseSchedulers(v: Value | undefined): string[] {
  if (v === undefined) return []
  if (Array.isArray(v)) return v.map((x) => text(x) ?? '').filter((s) => s !== '')
  if (isMessage(v)) return Object.values(v).map((x) => text(x) ?? '').filter((s) => s !== '')
  const t = text(v)
  if (t === undefined) return []
  return t.replace(/"/g, '').split(',').map((s) => s.trim()).filter((s) => s !== '')
}

/** A process ID or target, without a `?hint` or `&…` suffix. */
export function withoutHint(target: string): string {
  if (isIdShaped(target)) return target
  const first = target.split(/[?&]/)[0]!
  if (isIdShaped(first)) return first
  throw new BadInput(`invalid operation target ${JSON.stringify(target.slice(0, 100))}`)
}

/** A message's `target` as a human ID: a raw 32-byte ID (ANS-104 targets) is base64url-encoded (hb_util:human_id). */
export function targetOf(m: Message): string | undefined {
  const t = directGet(m, 'target')
  if (t instanceof Uint8Array && t.length === 32) return toB64Url(t)
  return text(t)
}

const isProcess = (m: Message): boolean => text(directGet(m, 'type')) === 'Process'

// ---------------------------------------------------------------- assignments in the store

export const assignmentPath = (pid: string, slot: bigint | number): string => `assignments/${pid}/${slot}`

/** dev_scheduler_cache:read */
export async function readAssignment(store: Store, pid: string, slot: bigint | number): Promise<Message | undefined> {
  const path = assignmentPath(pid, slot)
  const recent = recentOf(store).get(path)
  if (recent) return recent
  const v = await store.read(path)
  return isMessage(v) ? v : undefined
}

/**
 * The assignments this node wrote most recently, per store (a slot's
 * assignment never changes once linked). Computing right after scheduling
 * then reads them from memory instead of queueing behind the store's writes
 * (IndexedDB serializes a read behind pending write transactions).
 */
const RECENT_MAX = 4096
const recent = new WeakMap<Store, Map<string, Message>>()
function recentOf(store: Store): Map<string, Message> {
  let m = recent.get(store)
  if (!m) { m = new Map(); recent.set(store, m) }
  return m
}
function remember(store: Store, path: string, a: Message): void {
  const m = recentOf(store)
  setBounded(m, path, a, RECENT_MAX)
  waitersOf(store).wake(path)
}

const waiters = new WeakMap<Store, Waiters<string>>()
function waitersOf(store: Store): Waiters<string> {
  let w = waiters.get(store)
  if (!w) { w = new Waiters(); waiters.set(store, w) }
  return w
}

/**
 * Resolves when this node stores the assignment of `slot` (made here or
 * imported), or after `ms`: a reader waiting for a slot wakes as it lands
 * instead of polling.
 */
export function whenAssigned(store: Store, pid: string, slot: bigint, ms: number): Promise<void> {
  const path = assignmentPath(pid, slot)
  if (recentOf(store).has(path)) return Promise.resolve()
  return waitersOf(store).wait(path, ms)
}

/** The slots stored for a process, ascending. */
export async function storedSlots(store: Store, pid: string): Promise<bigint[]> {
  return (await store.list(`assignments/${pid}`)).filter((s) => /^\d+$/.test(s)).map(BigInt).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
}

/** dev_scheduler_cache:latest: the newest slot and its hash chain (raw). */
export async function latest(store: Store, pid: string): Promise<{ slot: bigint; chain: Uint8Array } | undefined> {
  const slots = await storedSlots(store, pid)
  if (slots.length === 0) return undefined
  const slot = slots[slots.length - 1]!
  const a = await readAssignment(store, pid, slot)
  const hc = a ? text(directGet(a, 'hash-chain')) : undefined
  if (hc === undefined) throw new StoreFailed(`assignment ${slot} of ${pid} has no hash-chain`)
  return { slot, chain: fromB64(hc) }
}

/** The ID of the message an assignment assigns: its `body`'s signed ID (or link), else its `message`. */
export function assignedMessageId(a: Message): string | undefined {
  const body = directGet(a, 'body')
  if (isMessage(body)) return messageId(body, 'signed')
  if (body instanceof Link) return body.id
  const m = text(directGet(a, 'message'))
  return m !== undefined && isIdShaped(m) ? m : undefined
}

/** dev_scheduler_server:next_hashchain, from the message's signed ID. */
export function nextHashChainFromId(prev: Uint8Array, id: string): Uint8Array {
  return sha256(concatBytes(prev, utf8(id)))
}

/** dev_scheduler_server:next_hashchain */
export function nextHashChain(prev: Uint8Array, msg: Message): Uint8Array {
  return nextHashChainFromId(prev, messageId(msg, 'signed'))
}

// ---------------------------------------------------------------- the message-ID → slot index

export const scheduledPath = (pid: string, msgId: string): string => `scheduled/${pid}/${msgId}`

/** The stored assignment of a message, if the index names a slot that really holds it. */
export async function scheduledAssignment(store: Store, pid: string, msgId: string): Promise<Message | undefined> {
  const slot = toInt(await store.read(scheduledPath(pid, msgId)) as Value | undefined)
  if (slot === undefined) return undefined
  const a = await readAssignment(store, pid, slot)
  return a && assignedMessageId(a) === msgId ? a : undefined
}

/**
 * Write an assignment (and its message, when given): the message and the
 * assignment under their IDs and the index entry (unless opts.index is false:
 * the message is already indexed at an earlier slot), then the slot link, last.
 */
export async function writeAssignment(store: Store, pid: string, slot: bigint, assignment: Message, msg: Message | undefined, opts: { index: boolean } = { index: true }): Promise<void> {
  const msgId = assignedMessageId(assignment)
  const id = messageId(assignment, 'signed')
  const index = msgId !== undefined && opts.index
  if (store.transactional && store.batch) {
    // One transaction (IndexedDB): all four land together, or none.
    await store.batch([
      ...(msg ? [{ op: 'write' as const, path: messageId(msg, 'signed'), value: msg }] : []),
      { op: 'write', path: id, value: assignment },
      ...(index ? [{ op: 'write' as const, path: scheduledPath(pid, msgId), value: String(slot) }] : []),
      { op: 'link', path: assignmentPath(pid, slot), target: id },
    ])
  } else {
    // The three entries are independent (in parallel, so a durable store's fsyncs overlap); the link waits for all.
    await Promise.all([
      msg ? store.write(messageId(msg, 'signed'), msg) : undefined,
      store.write(id, assignment),
      index ? store.write(scheduledPath(pid, msgId!), String(slot)) : undefined,
    ])
    await store.link(assignmentPath(pid, slot), id)
  }
  remember(store, assignmentPath(pid, slot), assignment)
}

// ---------------------------------------------------------------- schedule heads

/** The head of a process's schedule on one store: the newest slot and chain, and the queue of changes. */
export interface Head {
  pid: string
  current: bigint
  chain: Uint8Array
  /** The end of the chain of pending assignments and imports. */
  tail: Promise<unknown>
  /** This node is a scheduler of the process (it makes assignments, not only imports them). */
  local: boolean
  /**
   * Assignments this node made are signed in parallel and stored in slot
   * order: `stored` is the end of that chain (false once one failed: what
   * follows it cannot be stored), `written` the newest slot stored, and
   * `inflight` the messages with a slot taken but not yet stored.
   */
  stored: Promise<boolean>
  written: bigint
  inflight: Map<string, Promise<Message>>
}

const heads = new WeakMap<Store, Map<string, Promise<Head>>>()

function headsOf(store: Store): Map<string, Promise<Head>> {
  let m = heads.get(store)
  if (!m) { m = new Map(); heads.set(store, m) }
  return m
}

function needStore(ctx: ResolveContext): Store {
  if (!ctx.store) throw new StoreFailed('scheduler@1.0 needs a store')
  return ctx.store
}

/** The head of a process's schedule, loaded (continuing from the store) if needed. */
export function headOf(store: Store, pid: string): Promise<Head> {
  const all = headsOf(store)
  let s = all.get(pid)
  if (!s) {
    s = latest(store, pid).then((l) => ({
      pid, current: l ? l.slot : -1n, chain: l ? l.chain : new Uint8Array(0), tail: Promise.resolve(), local: false,
      stored: Promise.resolve(true), written: l ? l.slot : -1n, inflight: new Map<string, Promise<Message>>(),
    }))
    s.catch(() => all.delete(pid))
    all.set(pid, s)
  }
  return s
}

/** Run `f` on the head after every earlier change of the same schedule. */
export function queued<T>(head: Head, f: () => Promise<T>): Promise<T> {
  const p = head.tail.then(f, f)
  head.tail = p.catch(() => undefined)
  return p
}

/**
 * Signatures of assignments in flight at once, across processes: node option
 * `scheduler_signatures` (an integer ≥ 1, checked where the node message is
 * set: src/node/options.ts), else one fewer than the cores
 * (at least 1), so the signing (WebCrypto, off the main thread) leaves a core
 * to the rest of the node. Measured on a 2-core machine: a scheduler alone
 * signs 507/s with no limit and 283/s with 1, but five peers sharing those 2
 * cores store 130/s with no limit and 176/s with 1 (the importers starve).
 */
function signatureLimit(ctx: ResolveContext): number {
  const opt = toInt(directGet(ctx.node, 'scheduler_signatures'))
  if (opt !== undefined && opt >= 1n) return Number(opt)
  const cores = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 2
  return Math.max(1, cores - 1)
}

let signing = 0
const signWaiters: (() => void)[] = []
async function signLimited<T>(limit: number, f: () => Promise<T>): Promise<T> {
  while (signing >= limit) await new Promise<void>((r) => signWaiters.push(r))
  signing++
  try { return await f() } finally { signing--; signWaiters.shift()?.() }
}

/** An assignment could not be signed or stored; those after it in the same schedule fail too. */
export class AssignmentNotStored extends StoreFailed {}

/**
 * Assign the next slot to a message (only committed keys), or answer with its
 * existing assignment when it is already scheduled.
 *
 * Pipelined per process: the slot and hash-chain are taken in order (the
 * chain needs only the message's ID), the RSA signature — most of an
 * assignment's cost — runs while later messages take their slots (WebCrypto
 * signs off the thread; `signatureLimit` at a time), and assignments are
 * stored, and announced, strictly in slot order. A caller is answered once its assignment is stored. If one
 * cannot be signed or stored, those after it are refused as well (their
 * chain builds on it) and the schedule continues from what the store holds.
 */
function assign(head: Head, msg: Message, ctx: ResolveContext): Promise<Message> {
  const store = needStore(ctx)
  const msgId = messageId(msg, 'signed')
  const pending = head.inflight.get(msgId)
  if (pending) return pending
  const taken = queued(head, async (): Promise<{ now: Message } | { later: Promise<Message> }> => {
    const again = head.inflight.get(msgId)
    if (again) return { later: again }
    const existing = await scheduledAssignment(store, head.pid, msgId)
    if (existing) return { now: existing }
    if (!ctx.wallet) throw new StoreFailed('scheduler@1.0 needs the node wallet to sign assignments')
    const chain = nextHashChainFromId(head.chain, msgId)
    const slot = head.current + 1n
    const path = text(directGet(msg, 'path'))
    const assignment = message({
      path: path === undefined || path === '' ? 'compute' : path,
      'data-protocol': 'ao',
      variant: 'ao.N.1',
      process: head.pid,
      epoch: '0',
      slot,
      'block-height': 0n,
      'block-hash': ZERO_HASH,
      'block-timestamp': 0n,
      timestamp: BigInt(Date.now()),
      'hash-chain': toB64Url(chain),
      body: msg,
    })
    head.current = slot
    head.chain = chain
    const signed = signLimited(signatureLimit(ctx), () => commitMessage(assignment, { wallet: ctx.wallet! }))
    signed.catch(() => undefined)
    const before = head.stored
    const done = (async () => {
      if (!(await before)) throw new AssignmentNotStored(`slot ${slot} of ${head.pid} was not stored: an earlier assignment failed`)
      const a = await signed
      await writeAssignment(store, head.pid, slot, a, msg)
      head.written = slot
      const h = hooks.get(store)
      if (h?.assigned) { try { h.assigned(head.pid, a) } catch { /* the hook's failure is its own */ } }
      return a
    })()
    head.stored = done.then(() => true, () => {
      // Later slots build on this one: start again from what the store holds.
      headsOf(store).delete(head.pid)
      return false
    })
    head.inflight.set(msgId, done)
    done.then(() => head.inflight.delete(msgId), () => head.inflight.delete(msgId))
    return { later: done }
  })
  return taken.then((t) => ('now' in t ? t.now : t.later))
}

// ---------------------------------------------------------------- hooks (set by the network layer, src/p2p/wiring.ts)

/**
 * What a node does around its schedules besides storing them, per store:
 * `assigned` is told of each assignment this node makes, once it is stored
 * (in slot order; not for a message answered with its existing assignment);
 * `forward` is asked what to do with a valid-looking message for a process
 * this node does not schedule (404 otherwise): an outcome, or undefined to
 * answer the 404 as without the hook.
 */
export interface SchedulerHooks {
  assigned?(pid: string, assignment: Message): void
  forward?(pid: string, msg: Message, ctx: ResolveContext): Promise<Outcome | undefined>
}

const hooks = new WeakMap<Store, SchedulerHooks>()

/** Set (or with undefined, clear) the hooks of a store's schedules. */
export function setSchedulerHooks(store: Store, h: SchedulerHooks | undefined): void {
  if (h) hooks.set(store, h)
  else hooks.delete(store)
}

// ---------------------------------------------------------------- finding things

async function get(m: Message, key: string, ctx: ResolveContext): Promise<Value | undefined> {
  const o = await ctx.resolve(m, message({ path: key }), { hashpath: 'ignore', cacheControl: ['no-cache', 'no-store'] }).catch(() => undefined)
  return o && o.status === 'ok' ? (o.value as Value) : undefined
}

/** find_target_id */
export async function findTargetId(base: Message, req: Message, ctx: ResolveContext): Promise<string> {
  const target = targetOf(req)
  if (target !== undefined) return withoutHint(target)
  if (isProcess(req)) return messageId(req, 'signed')
  const proc = await get(base, 'process', ctx)
  if (isMessage(proc)) return messageId(proc, 'signed')
  if (isProcess(base)) return messageId(base, 'signed')
  return messageId(req, 'signed')
}

/** find_message_to_schedule */
function findMessageToSchedule(req: Message): Value | undefined {
  const subject = text(directGet(req, 'subject'))
  if (subject === 'self') return req
  if (subject === undefined) return directGet(req, 'body') ?? req
  return directGet(req, subject)
}

/** find_process_message: the base's `process`, the scheduled message, the base, or the store (`stored`). */
async function findProcessMessage(pid: string, base: Message, toSched: Message | undefined, ctx: ResolveContext): Promise<{ proc: Message; stored: boolean } | undefined> {
  const p = directGet(base, 'process')
  if (isMessage(p)) return { proc: p, stored: false }
  if (toSched && messageId(toSched, 'signed') === pid) return { proc: toSched, stored: false }
  if (messageId(base, 'signed') === pid) return { proc: base, stored: false }
  const stored = ctx.store ? await ctx.store.read(pid) : undefined
  return isMessage(stored) ? { proc: stored, stored: true } : undefined
}

/**
 * Signed (a committer), and every commitment verifies. Remembered for the
 * same content under the same signed ID (a process message is checked again
 * with every assignment imported for it; an RSA-4096 verify each time).
 */
export async function validlySigned(m: Message): Promise<boolean> {
  if (committersOf(m).length === 0) return false
  // HMACs of the content and of the commitments, computed afresh (a stored
  // HMAC commitment would not see a change to either).
  const comms = m['commitments']
  const key = `${messageId(uncommitted(m))}|${isMessage(comms) ? messageId(comms) : ''}`
  if (VERIFIED.has(key)) return true
  const ok = (await verifyMessage(m)).verified
  if (ok) {
    VERIFIED.add(key)
    if (VERIFIED.size > VERIFIED_MAX) VERIFIED.delete(VERIFIED.values().next().value!)
  }
  return ok
}
const VERIFIED = new Set<string>()
const VERIFIED_MAX = 10_000

type Found = { kind: 'local'; server: Head } | { kind: 'error'; outcome: Outcome }

/** find_server: local when this node's wallet is one of the process's schedulers. */
async function findServer(pid: string, base: Message, toSched: Message | undefined, ctx: ResolveContext): Promise<Found> {
  const store = needStore(ctx)
  const running = headsOf(store).get(pid)
  if (running) {
    const head = await running.catch(() => undefined)
    if (head?.local) return { kind: 'local', server: head }
  }
  const found = await findProcessMessage(pid, base, toSched, ctx)
  if (!found) return { kind: 'error', outcome: notFound(message({ status: 404n, body: `Process ${pid} is not available on this node.` })) }
  const { proc, stored } = found
  // A process message that did not come from the store must verify: its ID is its signature's, so a
  // copy with another `scheduler` list (or module) would otherwise pass for it, and be stored as it.
  if (!stored && ctx.node['verify_assignments'] !== false && !(await validlySigned(proc))) {
    return { kind: 'error', outcome: error(message({ status: 400n, body: 'Process message is not valid.', reason: `Process ${pid}: it must be signed, and its commitments must verify.` })) }
  }
  const loc = directGet(proc, 'scheduler') ?? directGet(proc, 'scheduler-location') ?? (toSched ? directGet(toSched, 'scheduler-location') : undefined)
  if (loc === undefined) return { kind: 'error', outcome: error(message({ status: 400n, body: 'No scheduler information provided.' })) }
  const addresses = parseSchedulers(loc)
  if (ctx.wallet && addresses.includes(ctx.wallet.address)) {
    if ((await store.read(pid)) === undefined) await store.write(pid, proc)
    const head = await headOf(store, pid)
    head.local = true
    return { kind: 'local', server: head }
  }
  return {
    kind: 'error',
    outcome: notFound(message({
      status: 404n,
      body: `This node is not a scheduler of process ${pid}, and knows no location for its schedulers (${addresses.join(', ')}).`,
    })),
  }
}

// ---------------------------------------------------------------- POST /schedule

async function postSchedule(base: Message, req: Message, ctx: ResolveContext): Promise<Outcome> {
  const toSchedV = findMessageToSchedule(req)
  if (!isMessage(toSchedV)) return error(message({ status: 400n, body: 'Message invalid: there is no message to schedule.' }))
  const toSched = toSchedV
  let pid: string
  if (isProcess(toSched)) pid = messageId(toSched, 'signed')
  else {
    const target = targetOf(toSched)
    pid = target !== undefined ? withoutHint(target) : await findTargetId(base, req, ctx)
  }
  const only = withOnlyCommitted(toSched)
  const found = await findServer(pid, base, toSched, ctx)
  if (found.kind === 'error') {
    const forward = ctx.store && found.outcome.status === 'not_found' ? hooks.get(ctx.store)?.forward : undefined
    return (forward ? await forward(pid, only, ctx) : undefined) ?? found.outcome
  }
  const comms = Object.keys(commitmentsOf(only))
  let verified = comms.length > 0 && committersOf(only).length > 0
  if (verified && ctx.node['verify_assignments'] !== false) verified = (await verifyMessage(only)).verified
  if (!verified) {
    return error(message({ status: 400n, body: 'Message is not valid.', reason: 'Given message is invalid: it must be signed, and its commitments must verify.' }))
  }
  return ok(await assign(found.server, only, ctx))
}

// ---------------------------------------------------------------- GET /schedule

async function localAssignments(store: Store, pid: string, from: bigint, to: bigint | undefined): Promise<{ list: Message[]; more: boolean }> {
  let requested = to
  if (requested === undefined) {
    const l = await latest(store, pid)
    if (!l) return { list: [], more: false }
    requested = l.slot
  }
  const computedTo = requested - from > BigInt(MAX_ASSIGNMENT_QUERY_LEN) ? from + BigInt(MAX_ASSIGNMENT_QUERY_LEN) : requested
  const list: Message[] = []
  for (let s = from; s <= computedTo; s++) {
    const a = await readAssignment(store, pid, s)
    if (!a) break
    list.push(a)
  }
  return { list, more: computedTo < requested }
}

/** assignments_to_bundle: the `application/http` schedule. */
export function assignmentsToBundle(pid: string, list: Message[], more: boolean): Message {
  const assignments = emptyMessage()
  for (const a of list) assignments[String(toInt(directGet(a, 'slot')) ?? 0n)] = a
  return message({
    type: 'schedule',
    process: pid,
    continues: more,
    timestamp: BigInt(Date.now()),
    'block-height': 0n,
    'block-hash': ZERO_HASH,
    assignments,
  })
}

const headerCase = (k: string): string => k.split('-').map((w) => (w === '' ? w : w[0]!.toUpperCase() + w.slice(1))).join('-')

/** dev_json_iface:message_to_json_struct (the parts a legacy client reads). */
export function messageToJsonStruct(m: Message): Record<string, unknown> {
  const noPriv = copy(m)
  for (const k of Object.keys(noPriv)) if (k.toLowerCase().startsWith('priv')) delete noPriv[k]
  const t = toTabm(noPriv, { linkify: 'discard' }) as unknown as Message
  const signers = committersOf(m)
  const owner = signers[0] ?? ''
  const s = (k: string): string => text(t[k]) ?? ''
  const tags: Array<{ name: string; value: string }> = []
  const skip = new Set(['id', 'anchor', 'owner', 'data', 'target', 'signature', 'commitments'])
  for (const k of Object.keys(t).sort()) {
    if (skip.has(k)) continue
    const v = text(t[k])
    if (v !== undefined) tags.push({ name: headerCase(k), value: v })
  }
  const from = text(t['from-process']) ?? owner
  return {
    Anchor: s('anchor'),
    Data: s('data'),
    From: from,
    Id: messageId(m, 'signed'),
    Owner: owner,
    Signature: s('signature'),
    Tags: tags,
    Target: s('target'),
  }
}

/** assignments_to_aos2: the legacy JSON page. */
export function assignmentsToAos2(pid: string, list: Message[], more: boolean): Message {
  const edges = list.map((a) => {
    const body = directGet(a, 'body')
    const rest = copy(a)
    delete rest['body']
    return {
      cursor: Number(toInt(directGet(a, 'slot')) ?? 0n),
      node: { assignment: messageToJsonStruct(rest), message: isMessage(body) ? messageToJsonStruct(body) : null },
    }
  })
  const body = {
    edges,
    page_info: { 'block-hash': ZERO_HASH, 'block-height': '0', has_next_page: more, process: pid, timestamp: String(Date.now()) },
  }
  return message({ 'content-type': 'application/json', body: JSON.stringify(body) })
}

async function getSchedule(base: Message, req: Message, ctx: ResolveContext): Promise<Outcome> {
  const store = needStore(ctx)
  const pid = await findTargetId(base, req, ctx)
  const fromV = directGet(req, 'from')
  let from = fromV === undefined ? 0n : toInt(fromV)
  if (from === undefined) return error(message({ status: 400n, body: '`from` must be an integer.' }))
  if (from < 0n) from = 0n
  const toV = directGet(req, 'to')
  const to = toV === undefined ? undefined : toInt(toV)
  if (toV !== undefined && to === undefined) return error(message({ status: 400n, body: '`to` must be an integer.' }))
  const format = decodeURIComponent(text(directGet(req, 'accept')) ?? 'application/http')
  const found = await findServer(pid, base, undefined, ctx)
  // A node that holds assignments of a process serves them, scheduler or not.
  if (found.kind === 'error' && (await storedSlots(store, pid)).length === 0) return found.outcome
  const { list, more } = await localAssignments(store, pid, from, to)
  return ok(format.split(',').map((s) => s.split(';')[0]!.trim()).includes('application/aos-2')
    ? assignmentsToAos2(pid, list, more)
    : assignmentsToBundle(pid, list, more))
}

// ---------------------------------------------------------------- the device

async function schedule(base: Message, req: Message, ctx: ResolveContext): Promise<Outcome> {
  const method = (text(directGet(req, 'method')) ?? 'GET').toUpperCase()
  if (method === 'POST') return postSchedule(base, req, ctx)
  return getSchedule(base, req, ctx)
}

/** The slot of a process this node schedules. */
async function slot(base: Message, req: Message, ctx: ResolveContext): Promise<Outcome> {
  const pid = await findTargetId(base, req, ctx)
  const found = await findServer(pid, base, undefined, ctx)
  if (found.kind === 'error') return found.outcome
  await found.server.tail
  await found.server.stored
  return ok(message({
    process: pid,
    current: found.server.written,
    timestamp: BigInt(Date.now()),
    'block-height': 0n,
    'block-hash': ZERO_HASH,
    'cache-control': 'no-store',
    addresses: ctx.wallet ? [ctx.wallet.address] : [],
  }))
}

async function status(_base: Message, _req: Message, ctx: ResolveContext): Promise<Outcome> {
  const processes: string[] = []
  if (ctx.store) {
    for (const [pid, h] of headsOf(ctx.store)) if ((await h.catch(() => undefined))?.local) processes.push(pid)
  }
  processes.sort()
  return ok(message({ address: ctx.wallet?.address ?? '', processes, 'cache-control': 'no-store' }))
}

/** The process ID of a process state (dev_process:process_id): the signed ID of its `process`. */
export function processIdOf(state: Message): string {
  const p = directGet(state, 'process')
  return messageId(isMessage(p) ? p : state, 'signed')
}

/** Assignments read ahead by `next` in one go (in parallel: one round trip, not one per slot). */
export const NEXT_LOOKAHEAD = 32

/**
 * The stored assignments from `from` on, stopping at the first gap: `from`
 * itself, and up to NEXT_LOOKAHEAD as far as the schedule's known head.
 */
async function readAhead(store: Store, pid: string, from: bigint): Promise<Message[]> {
  const head = await headOf(store, pid).catch(() => undefined)
  const ahead = head ? Number(head.current - from) : 0
  const n = Math.max(1, Math.min(NEXT_LOOKAHEAD, ahead + 1))
  const got = await Promise.all(Array.from({ length: n }, (_, i) => readAssignment(store, pid, from + BigInt(i))))
  const out: Message[] = []
  for (const a of got) { if (!a) break; out.push(a) }
  return out
}

/**
 * next: the assignment for `at-slot + 1`, from the assignments cached in
 * `priv/scheduler@1.0/assignments`, else the store. `{body: assignment, state}`.
 */
async function next(base: Message, _req: Message, ctx: ResolveContext): Promise<Outcome> {
  const store = needStore(ctx)
  const last = toInt(directGet(base, 'at-slot'))
  if (last === undefined) return error(message({ status: 400n, body: 'next needs an integer `at-slot` in the base.' }))
  const pid = processIdOf(base)
  const priv = isMessage(base['priv']) ? base['priv'] : undefined
  const cached = priv && isMessage(priv[SCHEDULER]) && Array.isArray(priv[SCHEDULER]['assignments']) ? priv[SCHEDULER]['assignments'] as Value[] : []
  let list = cached.filter(isMessage).filter((a) => (toInt(directGet(a, 'slot')) ?? -1n) > last)
  if (list.length === 0) list = await readAhead(store, pid, last + 1n)
  if (list.length === 0) return error(message({ status: 404n, reason: 'Requested slot not yet available in schedule.' }))
  const [first, ...rest] = list as [Message, ...Message[]]
  const got = toInt(directGet(first, 'slot'))
  if (got === undefined) return error(message({ status: 500n, reason: 'Unprocessable slot value received in assignment.' }))
  if (got !== last + 1n) {
    return error(message({ status: 404n, reason: 'Received assignment slot does not match expected slot.', 'unexpected-slot': got, 'expected-slot': last + 1n }))
  }
  const state = copy(base)
  const newPriv = priv ? copy(priv) : emptyMessage()
  newPriv[SCHEDULER] = message({ assignments: rest })
  state['priv'] = newPriv
  return ok(message({ body: first, state }))
}

export const schedulerDevice: Device = {
  name: SCHEDULER,
  info: () => ({
    // HyperBEAM also exports location, init and checkpoint (Arweave records; not here).
    exports: ['status', 'next', 'schedule', 'slot', 'import'],
    excludes: ['set', 'keys'],
    default: (_key, base, req, ctx) => schedule(base, req, ctx),
  }),
  keys: { schedule, slot, status, next, import: importKey },
}
