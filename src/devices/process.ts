/**
 * process@1.0 (spec §4.2; HyperBEAM dev_process, dev_process_cache): an AO
 * process. The process message names its component devices; the process
 * orchestrates them by swapping its `device` (run_as):
 *
 *   `<key>-device`          scheduler (default scheduler@1.0), execution (default
 *                           genesis-wasm@1.0, not on this node: name one), push
 *                           (default push@1.0)
 *   `input-prefix`          default `process`
 *   `<key>-output-prefixes` set as `output-prefixes` while the device runs
 *
 * run_as(key): set those three keys on the state (with its `process` key, see
 * ensure_process_key), resolve the request on it, and put the original `device`
 * back if the answer still names the swapped-in device.
 *
 * ensure_process_key: a state carries the committed process message under
 * `process` (the stored original when the state is the signed process itself),
 * and no commitments of its own. The process ID is the signed ID of `process`.
 *
 * Keys:
 *   compute   with `slot`: the state after that slot. Served from
 *             `computed/<pid>/slot/<n>` when stored; else from the newest live
 *             state at or below the slot, else the newest stored snapshot at or
 *             below it (restored by the execution device's `normalize`), else
 *             `init` (then `initialized: "true"`, `at-slot: -1`); then `next` on
 *             the scheduler and the assignment on the execution device, slot by
 *             slot, until the target. Without `slot`: the newest stored state, or
 *             `now`. Errors carry `phase` (get-schedule | compute) and
 *             `attempted-slot`. With `quorum` (K) [and `quorum-wait`, ms]: a
 *             peer-verified read, 200 / 202 / 409 (quorumCompute below; needs
 *             a network, else NoNetwork 503).
 *
 * On a network (a NetworkPort registered for the store, src/devices/p2p.ts):
 * a compute follows the process, and each computed slot is reported to the
 * port, which signs and publishes this node's attestation (assignment ID,
 * hash-chain, result ID, hashpath).
 *   now       compute at the scheduler's current slot (the newest stored
 *             assignment when this node is not the scheduler).
 *   slot, schedule   the scheduler device's.
 *   snapshot  the execution device's `snapshot` (mode Map), with
 *             `cache-control: [store]`.
 *   push      the push device's.
 *   Any other key: message@1.0 (a plain get on the state).
 *
 * Results (src/devices/process-cache.ts): after each slot the state (with
 * `snapshot` every `process_cache_frequency` slots, default 100 here, 1 in
 * HyperBEAM) is written under its ID and linked at `computed/<pid>/slot/<n>`
 * and `computed/<pid>/<result-id>`, where the result ID is the (unsigned) ID
 * of the state returned to the caller, i.e. without `snapshot` (HyperBEAM's ID
 * covers the snapshot too, and its cache hits then answer with a `snapshot`
 * key that a fresh compute does not have). The stored state keeps only
 * `priv/hashpath` of its private keys (VM state is rebuilt by `normalize`), so
 * a restore continues the same hashpath chain. Writes are queued and land
 * behind the computation (as in HyperBEAM); a result a crash dropped is
 * computed again, identically, from the assignments when next asked for.
 *
 * Computes of one process (per store) run one at a time; different processes
 * are independent.
 */
import { Atom, emptyMessage, isMessage, message, toInt, type Message, type Value } from '../core/value.ts'
import { error, ok, type Device, type Outcome, type ResolveContext } from '../core/device.ts'
import { directGet } from '../core/resolver.ts'
import { messageId, messageIdAsync } from '../core/id.ts'
import { YieldClock } from '../core/yield.ts'
import type { PathItem } from '../core/typed-json.ts'
import type { Store } from '../store/store.ts'
import { StoreFailed } from '../core/errors.ts'
import { copy, processIdOf, readAssignment, storedSlots, text, uncommitted, whenAssigned, withOnlyCommitted } from './scheduler.ts'
import { setKeysPlain } from './stack.ts'
import { putSnapshot, getSnapshot, isSnapshotMessage } from '../snapshot/snapshot.ts'
import { latestResult, newestQueuedSnapshot, queuedResult, queueResult, readResult } from './process-cache.ts'
import { needNetwork, networkPort, tallyQuorum, type AttestationFacts, type QuorumTally } from './p2p.ts'

export { flushResults, latestResult, readResult, resultPath } from './process-cache.ts'

export const PROCESS = 'process@1.0'
const UNSET = new Atom('unset')
/** Resolutions inside the process skip the hashpath-keyed result cache: results are stored by slot. */
const INTERNAL: Partial<ResolveContext> = { cacheControl: ['no-cache', 'no-store'] }
/**
 * A snapshot every this many slots unless the node says otherwise
 * (`process_cache_frequency`). HyperBEAM's default is 1; a snapshot of a Lua
 * process costs more than computing its slot, and a restart replays at most
 * this many slots from the one before, so ours is 100. Result IDs and
 * hashpaths do not depend on it.
 */
export const DEFAULT_CACHE_FREQUENCY = 100n

function defaultDevice(key: string): string {
  if (key === 'scheduler') return 'scheduler@1.0'
  if (key === 'push') return 'push@1.0'
  return 'genesis-wasm@1.0'
}

function needStore(ctx: ResolveContext): Store {
  if (!ctx.store) throw new StoreFailed('process@1.0 needs a store')
  return ctx.store
}

/** ensure_process_key */
export async function ensureProcessKey(msg: Message, ctx: ResolveContext): Promise<Message> {
  if (isMessage(directGet(msg, 'process'))) return msg
  let proc = msg
  if (ctx.store) {
    // The original, as stored: `{as}` may have changed the device of a signed process.
    const stored = await ctx.store.read(messageId(msg, 'signed'))
    if (isMessage(stored)) proc = stored
  }
  const out = copy(uncommitted(msg))
  out['process'] = withOnlyCommitted(proc)
  return out
}

/** run_as: resolve `req` with the process's `<key>-device` in place. */
export async function runAs(key: string, state: Message, req: PathItem | string, ctx: ResolveContext, overrides: Partial<ResolveContext> = {}): Promise<Outcome> {
  const baseDevice = directGet(state, 'device')
  const devSet = text(directGet(state, `${key}-device`)) ?? defaultDevice(key)
  const prepared = setKeysPlain(await ensureProcessKey(state, ctx), {
    device: devSet,
    'input-prefix': directGet(state, 'input-prefix') ?? 'process',
    'output-prefixes': directGet(state, `${key}-output-prefixes`),
  })
  const o = await ctx.resolve(prepared, req, { ...INTERNAL, ...overrides })
  if (o.status === 'ok' && isMessage(o.value) && text(directGet(o.value, 'device')) === devSet) {
    return ok(setKeysPlain(o.value, { device: baseDevice ?? UNSET }))
  }
  return o
}

// ---------------------------------------------------------------- the results cache

/** What callers see of a stored result: without its `snapshot`. */
function served(m: Message): Message {
  if (!('snapshot' in m)) return m
  const out = copy(m)
  delete out['snapshot']
  return out
}

/** The stored form of a state: private keys reduced to the hashpath. */
function storable(m: Message): Message {
  const out = copy(m)
  const priv = m['priv']
  delete out['priv']
  if (isMessage(priv) && priv['hashpath'] !== undefined) out['priv'] = message({ hashpath: priv['hashpath'] })
  return out
}

// ---------------------------------------------------------------- live states and locks

interface ProcessSlot { live?: Message; tail: Promise<unknown> }
const processes = new WeakMap<Store, Map<string, ProcessSlot>>()

function slotOf(store: Store, pid: string): ProcessSlot {
  let m = processes.get(store)
  if (!m) { m = new Map(); processes.set(store, m) }
  let s = m.get(pid)
  if (!s) { s = { tail: Promise.resolve() }; m.set(pid, s) }
  return s
}

/** Run `f` after every earlier compute of the same process (per store). */
function serialized<T>(store: Store, pid: string, f: () => Promise<T>): Promise<T> {
  const s = slotOf(store, pid)
  const p = s.tail.then(f, f)
  s.tail = p.catch(() => undefined)
  return p
}

/** Forget the in-memory states of a store's processes (what a restart does). */
export function dropLiveStates(store: Store): void {
  processes.delete(store)
}

// ---------------------------------------------------------------- compute

const asProcess = (m: Message): Message => setKeysPlain(m, { device: PROCESS })

async function init(base: Message, ctx: ResolveContext): Promise<Outcome> {
  const o = await runAs('execution', base, message({ path: 'init' }), ctx)
  if (o.status !== 'ok' || !isMessage(o.value)) return o
  return ok(setKeysPlain(o.value, { initialized: 'true', 'at-slot': -1n }))
}

/** ensure_loaded: a live state for the process, at or below the target slot. */
async function ensureLoaded(base: Message, pid: string, target: bigint, ctx: ResolveContext): Promise<Outcome> {
  if (text(directGet(base, 'initialized')) === 'true') return ok(base)
  const store = needStore(ctx)
  const live = slotOf(store, pid).live
  const liveSlot = live ? toInt(directGet(live, 'at-slot')) : undefined
  // The live state is the newest this node has, unless a snapshot above it was queued since (a peer's offer).
  if (live && liveSlot !== undefined && liveSlot <= target && (newestQueuedSnapshot(store, pid) ?? -1n) <= liveSlot) return ok(live)
  const snap = await latestResult(store, pid, { limit: target, snapshot: true })
  if (live && liveSlot !== undefined && liveSlot <= target && (!snap || snap.slot <= liveSlot)) return ok(live)
  if (snap) {
    let snapMsg = snap.msg
    const ref = directGet(snapMsg, 'snapshot')
    if (isSnapshotMessage(ref)) {
      // A snapshot held as blocks: fetched and checked against its CID before normalize sees it.
      const blocks = ctx.capabilities.blocks
      if (!blocks) return error(message({ status: 500n, body: `the snapshot of slot ${snap.slot} is held as blocks (${String(ref['snapshot-cid'])}) and this node has no blockstore` }))
      const restored = await getSnapshot(blocks, ref)
      if (!isMessage(restored)) return error(message({ status: 500n, body: `snapshot ${String(ref['snapshot-cid'])} is not a message` }))
      snapMsg = setKeysPlain(snapMsg, { snapshot: restored })
    }
    const withProcess = isMessage(directGet(snapMsg, 'process')) ? snapMsg : await ensureProcessKey(snapMsg, ctx)
    const o = await runAs('execution', withProcess, message({ path: 'normalize' }), ctx, { hashpath: 'ignore' })
    // An execution device with no `normalize` has no shadow state to rebuild.
    const normalized = o.status === 'ok' && isMessage(o.value) ? o.value : o.status === 'not_found' ? withProcess : undefined
    if (!normalized) return o
    const out = copy(normalized)
    delete out['snapshot']
    return ok(out)
  }
  return init(base, ctx)
}

function phaseError(o: Outcome, phase: string, slot: bigint): Outcome {
  const v = isMessage(o.value) ? copy(o.value) : message({ error: o.value as Value })
  v['phase'] = phase
  v['attempted-slot'] = slot
  return { status: o.status === 'ok' ? 'error' : o.status, value: v }
}

/** A snapshot's keys without the resolver's `priv` and the `cache-control` it is answered with. */
function publicKeys(m: Message): Message {
  const out = emptyMessage()
  for (const k of Object.keys(m)) if (k !== 'priv' && k !== 'cache-control') out[k] = m[k]!
  return out
}

/** store_result: the state, with a snapshot every `process_cache_frequency` slots. */
async function storeResult(pid: string, slot: bigint, state: Message, resultId: string, ctx: ResolveContext): Promise<void> {
  const store = needStore(ctx)
  const freq = toInt(directGet(ctx.node, 'process_cache_frequency')) ?? DEFAULT_CACHE_FREQUENCY
  let withSnapshot = state
  if (freq > 0n && slot % freq === 0n) {
    const snap = await takeSnapshot(state, ctx)
    if (snap.status === 'ok' && isMessage(snap.value)) {
      const blocks = ctx.capabilities.blocks
      let stored: Message = snap.value
      if (blocks) {
        // The snapshot as content-addressed blocks; the result keeps only the message naming its CID.
        const ref = await putSnapshot(blocks, publicKeys(snap.value), message({ process: pid, slot }))
        stored = ref.message
      }
      withSnapshot = setKeysPlain(state, { snapshot: stored })
    }
  }
  await queueResult(store, pid, slot, resultId, storable(withSnapshot))
}

/** What a node attests about a computed slot: the assignment, the result ID and the state's own hashpath. */
function attestationFacts(slot: bigint, assignment: Message, resultId: string, state: Message): AttestationFacts | undefined {
  const priv = state['priv']
  const hashpath = isMessage(priv) ? text(priv['hashpath']) : undefined
  const hashChain = text(directGet(assignment, 'hash-chain'))
  if (hashpath === undefined || hashChain === undefined) return undefined
  return { slot, assignment: messageId(assignment, 'signed'), hashChain, result: resultId, hashpath }
}

async function computeSlot(pid: string, state: Message, assignment: Message, ctx: ResolveContext): Promise<Outcome> {
  const slot = toInt(directGet(assignment, 'slot'))
  if (slot === undefined) return error(message({ status: 500n, body: 'the assignment has no integer slot' }))
  const input = directGet(assignment, 'path') === undefined ? setKeysPlain(assignment, { path: 'compute' }) : assignment
  const unset = copy(state)
  delete unset['results']
  const o = await runAs('execution', unset, input, ctx)
  if (o.status !== 'ok') return o
  if (!isMessage(o.value)) return error(message({ status: 500n, body: 'the execution device did not answer with a message' }))
  const next = setKeysPlain(o.value, { device: PROCESS, 'at-slot': slot })
  const resultId = await messageIdAsync(next)
  // On a network: this node's attestation of the slot, signed and published in
  // the background — started before the result is stored, so that the
  // signature runs while the result is written (a peer waiting for a quorum
  // waits on the attestation, not on this node's store).
  const port = networkPort(ctx)
  const facts = port ? attestationFacts(slot, assignment, resultId, next) : undefined
  if (port && facts) port.computed(pid, facts)
  await storeResult(pid, slot, next, resultId, ctx)
  slotOf(needStore(ctx), pid).live = next
  return ok(next)
}

/**
 * A compute of many slots yields to the event loop this often, so that what
 * else the thread serves (the result writer's IndexedDB completions, HTTP
 * requests, gossip) is not held until the last slot.
 */
const COMPUTE_YIELD_MS = 10

async function computeToSlot(pid: string, start: Message, target: bigint, ctx: ResolveContext): Promise<Outcome> {
  let state = start
  const clock = new YieldClock(COMPUTE_YIELD_MS)
  for (;;) {
    if (clock.due()) await clock.yield()
    const current = toInt(directGet(state, 'at-slot')) ?? -1n
    if (current > target) {
      return error(message({ status: 400n, body: `already calculated slot ${target}: the state is at slot ${current}`, target, current }))
    }
    if (current === target) return ok(asProcess(state))
    const n = await runAs('scheduler', state, message({ path: 'next' }), ctx)
    if (n.status !== 'ok' || !isMessage(n.value)) return phaseError(n, 'get-schedule', current + 1n)
    const assignment = directGet(n.value, 'body')
    const nextState = directGet(n.value, 'state')
    if (!isMessage(assignment) || !isMessage(nextState)) return phaseError(error('the scheduler gave no assignment'), 'get-schedule', current + 1n)
    const c = await computeSlot(pid, nextState, assignment, ctx)
    if (c.status !== 'ok' || !isMessage(c.value)) return phaseError(c, 'compute', current + 1n)
    state = c.value
  }
}

/**
 * A computed result: queued, or in the store. A slot above the live state is
 * not in the store (this node writes its store's results), so asking for the
 * next slot costs no read (on IndexedDB a read waits behind every pending
 * write transaction).
 */
async function knownResult(store: Store, pid: string, target: bigint): Promise<Message | undefined> {
  const live = slotOf(store, pid).live
  const liveSlot = live ? toInt(directGet(live, 'at-slot')) : undefined
  if (liveSlot !== undefined && target > liveSlot) return queuedResult(store, pid, target)
  return readResult(store, pid, target)
}

async function computeAt(base: Message, target: bigint, ctx: ResolveContext): Promise<Outcome> {
  const store = needStore(ctx)
  const procBase = await ensureProcessKey(base, ctx)
  const pid = processIdOf(procBase)
  networkPort(ctx)?.follow(pid)
  const cached = await knownResult(store, pid, target)
  if (cached) return ok(served(cached))
  return serialized(store, pid, async () => {
    const again = await knownResult(store, pid, target)
    if (again) return ok(served(again))
    const loaded = await ensureLoaded(procBase, pid, target, ctx)
    if (loaded.status !== 'ok' || !isMessage(loaded.value)) return phaseError(loaded, 'load', target)
    return computeToSlot(pid, loaded.value, target, ctx)
  })
}

async function compute(base: Message, req: Message, ctx: ResolveContext): Promise<Outcome> {
  const slotV = directGet(req, 'slot')
  if (slotV === undefined) return now(base, req, ctx, true)
  const slot = toInt(slotV)
  if (slot === undefined) return error(message({ status: 400n, body: '`slot` must be an integer' }))
  const quorumV = directGet(req, 'quorum')
  if (quorumV !== undefined) {
    const k = toInt(quorumV)
    if (k === undefined || k < 1n) return error(message({ status: 400n, body: '`quorum` must be an integer ≥ 1' }))
    const wait = toInt(directGet(req, 'quorum-wait')) ?? 0n
    return quorumCompute(base, slot, Number(k), Math.min(Math.max(Number(wait), 0), MAX_QUORUM_WAIT_MS), ctx)
  }
  return computeAt(base, slot, ctx)
}

// ---------------------------------------------------------------- quorum reads

/** The longest a quorum read waits for attestations (`quorum-wait`, ms). */
export const MAX_QUORUM_WAIT_MS = 60_000

/**
 * compute&slot=N&quorum=K[&quorum-wait=MS]: the slot computed here, then the
 * attestations of the network tallied against this node's own (p2p.ts
 * tallyQuorum): 200 with the result and its attesters once K wallets (this
 * node included) agree; 409 with every differing hashpath when some wallet
 * attests something else and fewer than K agree; 202 with the count while
 * fewer have attested (also while the slot's assignment has not reached this
 * node). With quorum-wait, waits up to that long for a verdict other than 202
 * (or for 200 when there is a disagreement). A node without a network: 503.
 */
async function quorumCompute(base: Message, slot: bigint, k: number, waitMs: number, ctx: ResolveContext): Promise<Outcome> {
  const port = needNetwork(ctx)
  const store = needStore(ctx)
  const procBase = await ensureProcessKey(base, ctx)
  const pid = processIdOf(procBase)
  port.follow(pid)
  const end = Date.now() + waitMs
  let o = await computeAt(base, slot, ctx)
  // The slot's assignment may still be on its way: wait for it as for attestations.
  while (notYetScheduled(o) && Date.now() < end) {
    // Woken as the slot's assignment lands; if it is here already (an earlier slot is missing), poll.
    const t0 = Date.now()
    await whenAssigned(store, pid, slot, Math.min(end - t0, 250))
    if (Date.now() - t0 < 2) await new Promise((r) => setTimeout(r, 20))
    o = await computeAt(base, slot, ctx)
  }
  if (notYetScheduled(o)) {
    return ok(message({ status: 202n, process: pid, slot, quorum: BigInt(k), attested: BigInt(port.attestations(pid, slot).length), computed: false, body: `slot ${slot} has not been assigned on this node yet`, 'cache-control': 'no-store' }))
  }
  if (o.status !== 'ok' || !isMessage(o.value)) return o
  const state = o.value
  const assignment = await readAssignment(store, pid, slot)
  const facts = assignment ? attestationFacts(slot, assignment, messageId(state), state) : undefined
  if (!facts) return error(message({ status: 500n, body: `slot ${slot} of ${pid}: no assignment or hashpath to attest` }))
  const own = await port.attest(pid, facts)
  for (;;) {
    const t = tallyQuorum(port.attestations(pid, slot), own, k, port.disputed(pid))
    // Attestations gossiped before this node followed the process are pulled, after a moment
    // (counted from the first quorum read of the slot, so a client polling with no wait gets them too).
    const nextPull = t.verdict === 'verified' ? 0 : port.pull(pid, slot)
    if (t.verdict === 'verified' || Date.now() >= end) return quorumAnswer(pid, slot, k, state, own, t)
    await port.nextAttestation(pid, slot, Math.min(end - Date.now(), nextPull))
  }
}

function notYetScheduled(o: Outcome): boolean {
  return o.status !== 'ok' && isMessage(o.value) && o.value['phase'] === 'get-schedule'
}

function quorumAnswer(pid: string, slot: bigint, k: number, state: Message, own: AttestationFacts, t: QuorumTally): Outcome {
  const common = { process: pid, slot, quorum: BigInt(k), 'quorum-result': own.result, 'quorum-hashpath': own.hashpath, 'quorum-attesters': t.agreeing }
  if (t.verdict === 'verified') {
    const out = setKeysPlain(state, common)
    if (t.differing.length > 0) out['quorum-disputed'] = t.differing.map((e) => e.address)
    return ok(out)
  }
  if (t.verdict === 'disagreement') {
    const hashpaths = [
      message({ address: t.agreeing[0]!, result: own.result, hashpath: own.hashpath, assignment: own.assignment, own: true }),
      ...t.differing.map((e) => message({ address: e.address, result: e.result, hashpath: e.hashpath, assignment: e.assignment, own: false })),
    ]
    return ok(message({ ...common, status: 409n, body: `slot ${slot}: ${t.differing.length} attestation(s) differ from this node's computation; ${t.agreeing.length} of ${k} agree`, hashpaths, 'cache-control': 'no-store' }))
  }
  return ok(message({ ...common, status: 202n, attested: BigInt(t.agreeing.length), computed: true, body: `slot ${slot}: ${t.agreeing.length} of ${k} wallets attest this result so far`, 'cache-control': 'no-store' }))
}

/** The scheduler's current slot; on a node that is not the scheduler, its newest stored assignment. */
async function currentSlot(base: Message, ctx: ResolveContext): Promise<bigint | undefined> {
  const o = await runAs('scheduler', base, message({ path: 'slot' }), ctx).catch(() => undefined)
  if (o && o.status === 'ok' && isMessage(o.value)) {
    const c = toInt(directGet(o.value, 'current'))
    if (c !== undefined) return c
  }
  const procBase = await ensureProcessKey(base, ctx)
  const slots = await storedSlots(needStore(ctx), processIdOf(procBase))
  return slots.length > 0 ? slots[slots.length - 1] : undefined
}

async function now(base: Message, _req: Message, ctx: ResolveContext, fromCache = false): Promise<Outcome> {
  const procBase = await ensureProcessKey(base, ctx)
  if (fromCache) {
    const latest = await latestResult(needStore(ctx), processIdOf(procBase))
    if (latest) return ok(served(latest.msg))
  }
  const current = await currentSlot(procBase, ctx)
  if (current === undefined) return error(message({ status: 404n, body: 'the process has no assignments on this node' }))
  return computeAt(procBase, current, ctx)
}

async function takeSnapshot(state: Message, ctx: ResolveContext): Promise<Outcome> {
  const base = await ensureProcessKey(state, ctx)
  const o = await runAs('execution', base, message({ path: 'snapshot', mode: 'Map' }), ctx, { hashpath: 'ignore' })
  if (o.status !== 'ok' || !isMessage(o.value)) return o
  const pid = processIdOf(base)
  const slot = directGet(state, 'at-slot')
  const out = setKeysPlain(o.value, { 'cache-control': ['store'] })
  const priv = isMessage(out['priv']) ? copy(out['priv']) : emptyMessage()
  priv['additional-hashpaths'] = [`${pid}/snapshot/${slot === undefined ? '' : String(slot)}`]
  out['priv'] = priv
  return ok(out)
}

export const processDevice: Device = {
  name: PROCESS,
  keys: {
    compute,
    now: (base, req, ctx) => now(base, req, ctx, false),
    slot: (base, req, ctx) => runAs('scheduler', base, req, ctx),
    schedule: (base, req, ctx) => runAs('scheduler', base, req, ctx),
    snapshot: (base, _req, ctx) => takeSnapshot(base, ctx),
    push: async (base, req, ctx) => runAs('push', await ensureProcessKey(base, ctx), req, ctx),
  },
}
