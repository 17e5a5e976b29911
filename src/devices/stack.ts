/**
 * stack@1.0 (spec §4.4; HyperBEAM dev_stack): runs a key through a stack of
 * devices, named in `device-stack` (a list or a numbered message of device names).
 *
 *   mode `Fold` (default; request `mode`, then base `mode`; case-sensitive):
 *     `pass` = 1; for device n = 1, 2, …: the message is transformed (`device` =
 *     the n-th device, `device-key` = n, `input-prefix`/`output-prefix` from
 *     `input-prefixes/<n>`/`output-prefixes/<n>`, the replaced values kept as
 *     `previous-device`, `previous-input-prefix`, `previous-output-prefix`) and the
 *     request resolved on it:
 *       ok message → on with the next device; not_found → skip this device;
 *       ok non-message → that is the answer; skip → stop, ok; pass → `pass` + 1
 *       and start again from device 1; error (or any other status) → the answer
 *       (HyperBEAM throws; `error_strategy: stop` wraps it — here the error
 *       outcome is returned as is, with `stack-device` telling which device).
 *     Afterwards `device` is the original again, the prefixes the previous ones,
 *     `device-key` unset and `pass` the starting value (unset if there was none).
 *   mode `Map`: every device resolves the request on the message independently;
 *     the ok answers are collected under the stack's keys.
 *   `transform/<n>/<key>`: runs `key` on the n-th device alone.
 *
 * `stack-keys` (a list) limits the keys the stack handles; `set` and `keys` are
 * always message@1.0's. More than MAX_PASSES passes is an error.
 */
import { Atom, emptyMessage, isMessage, Link, message, toInt, type Message, type Value } from '../core/value.ts'
import { error, ok, type Device, type Outcome, type ResolveContext } from '../core/device.ts'
import { directGet } from '../core/resolver.ts'
import { normalizeKey } from '../core/keys.ts'
import { numberedToList } from '../codecs/structured.ts'
import { copy, text } from './scheduler.ts'

export const STACK = 'stack@1.0'
export const MAX_PASSES = 1000
const TRANSFORMING = 'stack@1.0/transform'

const listOf = (v: Value | undefined): Value[] | undefined => (Array.isArray(v) ? v : isMessage(v) ? numberedToList(v) : undefined)

/** The n-th (1-based) device of the stack, if any. */
function stackEntry(msg: Message, key: string): Value | undefined {
  const stack = directGet(msg, 'device-stack')
  if (Array.isArray(stack)) {
    const n = Number(key)
    return Number.isInteger(n) && n >= 1 ? stack[n - 1] : undefined
  }
  if (isMessage(stack)) return directGet(stack, key)
  return undefined
}

function sub(v: Value | undefined, key: string): Value | undefined {
  if (Array.isArray(v)) { const n = Number(key); return Number.isInteger(n) && n >= 1 ? v[n - 1] : undefined }
  return isMessage(v) ? directGet(v, key) : undefined
}

/** Set keys; an `undefined` value is ignored and the atom `unset` removes the key. */
export function setKeysPlain(m: Message, values: Record<string, Value | undefined>): Message {
  const out = copy(m)
  for (const k of Object.keys(values)) {
    const v = values[k]
    if (v === undefined) continue
    for (const ek of Object.keys(out)) if (ek !== k && normalizeKey(ek) === normalizeKey(k)) delete out[ek]
    if (v instanceof Atom && v.name === 'unset') delete out[k]
    else out[k] = v
  }
  return out
}

const UNSET = new Atom('unset')

/** dev_stack:transform: the message with the stack's n-th device in place. */
export function transform(msg: Message, key: string): Message | undefined {
  const dev = stackEntry(msg, key)
  if (dev === undefined) return undefined
  const n = toInt(key)
  return setKeysPlain(msg, {
    device: dev,
    'device-key': n ?? key,
    'input-prefix': sub(directGet(msg, 'input-prefixes'), key),
    'output-prefix': sub(directGet(msg, 'output-prefixes'), key),
    'previous-device': directGet(msg, 'device'),
    'previous-input-prefix': directGet(msg, 'input-prefix'),
    'previous-output-prefix': directGet(msg, 'output-prefix'),
  })
}

async function resolveFold(base: Message, req: Message, ctx: ResolveContext): Promise<Outcome> {
  const initDev = directGet(base, 'device')
  const startingPass = directGet(base, 'pass')
  let msg = setKeysPlain(base, { pass: 1n })
  let n = 1
  let passes = 1
  for (;;) {
    const t = transform(msg, String(n))
    if (!t) break
    const o = await ctx.resolve(t, req)
    if (o.status === 'ok') {
      if (!isMessage(o.value)) return o
      msg = o.value
      n++
    } else if (o.status === 'not_found') {
      msg = t
      n++
    } else if (o.status === 'skip' && isMessage(o.value)) {
      msg = o.value
      break
    } else if (o.status === 'pass' && isMessage(o.value)) {
      if (++passes > MAX_PASSES) return error(message({ status: 500n, body: `stack@1.0: more than ${MAX_PASSES} passes` }))
      const pass = toInt(directGet(o.value, 'pass')) ?? 1n
      msg = setKeysPlain(o.value, { pass: pass + 1n })
      n = 1
    } else {
      if (isMessage(o.value)) return { status: o.status, value: setKeysPlain(o.value, { 'stack-device': BigInt(n) }) }
      return { status: o.status, value: message({ 'stack-device': BigInt(n), body: o.value as Value }) }
    }
  }
  return ok(setKeysPlain(msg, {
    device: initDev ?? UNSET,
    'input-prefix': directGet(msg, 'previous-input-prefix'),
    'output-prefix': directGet(msg, 'previous-output-prefix'),
    'device-key': UNSET,
    'device-stack-previous': UNSET,
    pass: startingPass ?? UNSET,
  }))
}

async function resolveMap(base: Message, req: Message, ctx: ResolveContext): Promise<Outcome> {
  const stack = directGet(base, 'device-stack')
  const keys = Array.isArray(stack) ? stack.map((_, i) => String(i + 1)) : isMessage(stack) ? Object.keys(stack).filter((k) => !['path', 'hashpath', 'priv'].includes(normalizeKey(k))) : []
  const out = emptyMessage()
  for (const k of keys) {
    const t = transform(base, k)
    if (!t) continue
    const o = await ctx.resolve(t, req)
    if (o.status === 'ok') out[k] = o.value as Value
  }
  return ok(out)
}

/** A `device-stack` held by reference (a link) is read from the store. */
async function loadStack(base: Message, ctx: ResolveContext): Promise<Message> {
  const s = directGet(base, 'device-stack')
  if (!(s instanceof Link) || !ctx.store) return base
  const v = await ctx.store.read(s.id)
  return v === undefined || typeof v === 'string' || v instanceof Uint8Array ? base : setKeysPlain(base, { 'device-stack': v })
}

async function router(key: string, baseIn: Message, req: Message, ctx: ResolveContext): Promise<Outcome> {
  const base = await loadStack(baseIn, ctx)
  const priv = base['priv']
  if (isMessage(priv) && priv[TRANSFORMING] === true) {
    // The step after `transform`: the key names the device of the stack to run alone.
    const cleanPriv = copy(priv)
    delete cleanPriv[TRANSFORMING]
    const t = transform(setKeysPlain(base, { priv: cleanPriv }), key)
    return t ? ok(t) : error(message({ status: 404n, body: `stack@1.0: no device ${key} in the stack` }))
  }
  if (normalizeKey(key) === 'transform') {
    if (directGet(base, 'device-stack') === undefined) return error(message({ status: 400n, body: 'stack@1.0: no valid device-stack' }))
    const newPriv = isMessage(priv) ? copy(priv) : emptyMessage()
    newPriv[TRANSFORMING] = true
    return ok(setKeysPlain(base, { priv: newPriv }))
  }
  const mode = text(directGet(req, 'mode')) ?? text(directGet(base, 'mode')) ?? 'Fold'
  if (mode === 'Fold') return resolveFold(base, req, ctx)
  if (mode === 'Map') return resolveMap(base, req, ctx)
  return error(message({ status: 400n, body: `stack@1.0: unknown mode ${JSON.stringify(mode)} (Fold or Map)` }))
}

export const stackDevice: Device = {
  name: STACK,
  info: (base) => {
    const priv = base['priv']
    const transforming = isMessage(priv) && priv[TRANSFORMING] === true
    const sk = transforming ? undefined : listOf(directGet(base, 'stack-keys'))
    return {
      handler: router,
      excludes: ['set', 'keys'],
      ...(sk ? { exports: [...sk.map((k) => normalizeKey(text(k) ?? '')), 'transform'] } : {}),
    }
  },
  // `set` and `keys` are excluded: message@1.0 answers them.
  keys: {},
}
