/**
 * push@1.0 (HyperBEAM dev_push), for processes on this node: computes a slot
 * of a process and delivers the messages of its outbox to their target
 * processes, recursively, until no more messages result.
 *
 *   push without `slot`: the request is first scheduled on the process (POST
 *     schedule); a process message ends there (its assignment is the answer),
 *     any other message is then pushed at its slot.
 *   push with `slot`: compute that slot; for each `results/outbox/<key>` message
 *     with a `target`:
 *       - the target process must be in the store (else `{response: error,
 *         status: 404, reason: "Could not access target process!"}`);
 *       - the message, without its commitments, gains `data-protocol: ao`,
 *         `variant: ao.N.1`, `type: Message`, `from-process`, `from-uncommitted`,
 *         `from-base`, `from-scheduler`, `from-authority` (those the source
 *         process has), is committed by this node's wallet, and is scheduled on
 *         the target (`{as process@1.0, target}` + POST schedule);
 *       - the target is then pushed at the new slot, with `result-depth` − 1.
 *     The answer: per outbox key `{id, target, slot, resulted-in}` (or the
 *     error), the slot's `results` while `result-depth` (default 1) > 0, `slot`
 *     and `process`. An outbox message without a target is reported and skipped.
 *   `push-mode: async` (request, process, or process/process): the push runs in
 *     the background; the answer is `{slot, process, push-mode: async}`.
 *
 * Not here: pushes to remote schedulers (redirects, ans104 downgrade for legacy
 * schedulers), the `policy` and `authority` committers (the node signs every
 * pushed message), and `resolve` keys that evaluate a message before pushing.
 * Pushes nest at most MAX_PUSH_DEPTH processes deep (a ping-pong of processes
 * would otherwise never end).
 */
import { isMessage, message, toInt, type Message, type Value } from '../core/value.ts'
import { error, ok, type Device, type Outcome, type ResolveContext } from '../core/device.ts'
import { directGet } from '../core/resolver.ts'
import { messageId } from '../core/id.ts'
import { As } from '../core/typed-json.ts'
import { commitMessage } from '../codecs/commitments.ts'
import { compareUtf8 } from '../core/bytes.ts'
import { copy, processIdOf, targetOf, text, uncommitted, withoutHint } from './scheduler.ts'
import { ensureProcessKey, PROCESS } from './process.ts'
import { setKeysPlain } from './stack.ts'
import { listToNumbered } from '../codecs/structured.ts'

export const MAX_PUSH_DEPTH = 64
const INTERNAL: Partial<ResolveContext> = { hashpath: 'ignore', cacheControl: ['no-cache', 'no-store'] }

function findType(m: Message): string | undefined {
  const t = text(directGet(m, 'type'))
  if (t !== undefined) return t
  const b = directGet(m, 'body')
  return isMessage(b) ? text(directGet(b, 'type')) : undefined
}

/** calculate_base_id: the process without `authority` and `scheduler`, unsigned ID. */
function baseId(state: Message): string {
  const p = directGet(state, 'process')
  const proc = uncommitted(isMessage(p) ? p : state)
  const out = copy(proc)
  for (const k of Object.keys(out)) if (k === 'authority' || k === 'scheduler') delete out[k]
  return messageId(out)
}

async function push(base: Message, req: Message, ctx: ResolveContext, depth = 0): Promise<Outcome> {
  const proc = await ensureProcessKey(setKeysPlain(base, { device: PROCESS }), ctx)
  if (directGet(req, 'slot') === undefined) {
    const sreq = setKeysPlain(req, { path: 'schedule', method: 'POST' })
    const o = await ctx.resolve(proc, sreq, INTERNAL)
    if (o.status !== 'ok' || !isMessage(o.value)) return o
    const assignment = o.value
    if (findType(assignment) === 'Process') return ok(assignment)
    // HyperBEAM reads `push-mode` from the assignment here; the request's own counts too.
    return pushWithMode(proc, assignment, ctx, depth, text(directGet(req, 'push-mode')))
  }
  return pushWithMode(proc, req, ctx, depth)
}

async function pushWithMode(proc: Message, req: Message, ctx: ResolveContext, depth: number, requested?: string): Promise<Outcome> {
  const inner = directGet(proc, 'process')
  const mode = requested ?? text(directGet(req, 'push-mode')) ?? text(directGet(proc, 'push-mode')) ?? (isMessage(inner) ? text(directGet(inner, 'push-mode')) : undefined) ?? 'sync'
  if (mode === 'async') {
    void doPush(proc, req, ctx, depth).catch(() => undefined)
    return ok(message({ slot: directGet(req, 'slot')!, process: processIdOf(proc), 'push-mode': 'async' }))
  }
  return doPush(proc, req, ctx, depth)
}

async function doPush(proc: Message, req: Message, ctx: ResolveContext, depth: number): Promise<Outcome> {
  const slot = toInt(directGet(req, 'slot'))
  if (slot === undefined) return error(message({ status: 400n, body: 'push needs an integer `slot`' }))
  const id = processIdOf(proc)
  const c = await ctx.resolve(proc, message({ path: 'compute', slot }), INTERNAL)
  if (c.status !== 'ok' || !isMessage(c.value)) return { status: c.status === 'ok' ? 'error' : c.status, value: c.value }
  const results = directGet(c.value, 'results')
  const depthLeft = toInt(directGet(req, 'result-depth')) ?? 1n
  const out = depthLeft > 0n && isMessage(results) ? copy(results) : message({})
  const raw = isMessage(results) ? directGet(results, 'outbox') : undefined
  // A list (what dev_lua makes of a Lua outbox keyed 1..n) counts by 1-based keys (hb_ao:normalize_keys).
  const outbox = Array.isArray(raw) ? listToNumbered(raw) : raw
  if (isMessage(outbox)) {
    const p = directGet(proc, 'process') as Message
    const origin = {
      'from-process': id,
      'from-uncommitted': messageId(uncommitted(p)),
      'from-base': baseId(proc),
      'from-scheduler': directGet(p, 'scheduler'),
      'from-authority': directGet(p, 'authority'),
    }
    for (const key of Object.keys(outbox).sort(compareUtf8)) {
      if (key === 'priv' || key.startsWith('priv')) continue
      const m = outbox[key]!
      out[key] = await pushOne(key, m, origin, depthLeft, ctx, depth)
    }
  }
  out['slot'] = slot
  out['process'] = id
  return ok(out)
}

async function pushOne(key: string, m: Value, origin: Record<string, Value | undefined>, depthLeft: bigint, ctx: ResolveContext, depth: number): Promise<Value> {
  const targetV = isMessage(m) ? targetOf(m) : undefined
  if (!isMessage(m) || targetV === undefined) {
    return message({ response: 'error', status: 404n, 'outbox-index': key, reason: 'Target process not available.', ...(isMessage(m) ? { message: m } : {}) })
  }
  let target: string
  try { target = withoutHint(targetV) } catch { return message({ response: 'error', status: 400n, target: targetV, reason: 'Invalid target.' }) }
  if (depth + 1 > MAX_PUSH_DEPTH) return message({ response: 'error', status: 508n, target, reason: `pushes nested more than ${MAX_PUSH_DEPTH} deep` })
  const targetProc = ctx.store ? await ctx.store.read(target) : undefined
  if (!isMessage(targetProc)) return message({ response: 'error', status: 404n, target, reason: 'Could not access target process!' })
  if (!ctx.wallet) return message({ response: 'error', status: 500n, target, reason: 'This node has no wallet to sign pushed messages with.' })
  const augmented = uncommitted(m)
  const values: Record<string, Value> = { 'data-protocol': 'ao', variant: 'ao.N.1', type: 'Message' }
  for (const [k, v] of Object.entries(origin)) if (v !== undefined) values[k] = v
  const signed = await commitMessage(setKeysPlain(augmented, values), { wallet: ctx.wallet })
  const s = await ctx.resolve(new As(PROCESS, target), message({ path: 'schedule', method: 'POST', body: signed }), INTERNAL)
  if (s.status !== 'ok' || !isMessage(s.value)) return message({ response: 'error', target, reason: (s.value as Value) ?? 'scheduling failed' })
  const nextSlot = toInt(directGet(s.value, 'slot'))!
  const targetBase = await ensureProcessKey(setKeysPlain(targetProc, { device: PROCESS }), ctx)
  const down = await push(targetBase, message({ path: 'push', slot: nextSlot, 'result-depth': depthLeft - 1n }), ctx, depth + 1)
  if (down.status !== 'ok') return message({ response: 'error', target, reason: down.value as Value })
  return message({ id: messageId(signed, 'signed'), target, slot: nextSlot, 'resulted-in': down.value as Value })
}

export const pushDevice: Device = {
  name: 'push@1.0',
  keys: {
    push: (base, req, ctx) => push(base, req, ctx),
  },
}
