/**
 * patch@1.0 (spec §4.4; HyperBEAM dev_patch): moves data inside a message.
 *
 *   from: the first of request `patch-from`, base `patch-from`, request `from`,
 *         base `from` (default `/`). A first segment `base:<key>` or `req:<key>`
 *         reads from that message (default: the base).
 *   to:   the first of request `patch-to`, base `patch-to`, request `to`, base
 *         `to` (default `/`).
 *   patches (also `compute`): the sub-messages of the source with `method: PATCH`
 *         or `device: patch@1.0` are merged (without `method`) and deep-merged at
 *         `to`; the source keeps the others.
 *   all:  the whole source is deep-merged at `to` and removed from its place.
 *   init, normalize, snapshot: the base unchanged (an execution-device's hooks).
 *
 * As HyperBEAM, the answer is the message the source was read from, so with a
 * `req:` source it is the patched request. A missing source is not_found.
 */
import { emptyMessage, isMessage, message, type Message, type Value } from '../core/value.ts'
import { notFound, error, ok, type Device, type Outcome, type ResolveContext } from '../core/device.ts'
import { directGet } from '../core/resolver.ts'
import { normalizeKey, isPrivateKey } from '../core/keys.ts'
import { compareUtf8 } from '../core/bytes.ts'
import { copy, text } from './scheduler.ts'

const NOT_SET = new Set(['id', 'commitments', 'committers', 'keys', 'path', 'set', 'remove', 'verify', 'set-mode'])

const parts = (p: string): string[] => p.split('/').filter((s) => s !== '')

function first(pairs: Array<[Message, string]>, dflt: string): string {
  for (const [m, k] of pairs) { const v = text(directGet(m, k)); if (v !== undefined) return v }
  return dflt
}

/** A deep merge (hb_ao:set): messages merge key by key; anything else replaces. */
export function deepMerge(a: Message, b: Message): Message {
  const out = copy(a)
  for (const k of Object.keys(b)) {
    const nk = normalizeKey(k)
    if (NOT_SET.has(nk) || isPrivateKey(nk)) continue
    const v = b[k]!
    const existingKey = Object.keys(out).find((ek) => normalizeKey(ek) === nk)
    const existing = existingKey === undefined ? undefined : out[existingKey]
    if (existingKey !== undefined && existingKey !== k) delete out[existingKey]
    out[k] = isMessage(existing) && isMessage(v) ? deepMerge(existing, v) : v
  }
  return out
}

function getAt(m: Message, path: string[]): Value | undefined {
  let cur: Value = m
  for (const p of path) {
    if (!isMessage(cur)) return undefined
    const next = directGet(cur, p)
    if (next === undefined) return undefined
    cur = next
  }
  return cur
}

/** Replace (or, with `undefined`, remove) the value at a path. */
function replaceAt(m: Message, path: string[], value: Value | undefined): Message {
  if (path.length === 0) return isMessage(value) ? value : emptyMessage()
  const [head, ...rest] = path as [string, ...string[]]
  const out = copy(m)
  const key = Object.keys(out).find((k) => normalizeKey(k) === normalizeKey(head)) ?? head
  if (rest.length === 0) {
    if (value === undefined) delete out[key]
    else out[key] = value
    return out
  }
  const child = out[key]
  out[key] = replaceAt(isMessage(child) ? child : emptyMessage(), rest, value)
  return out
}

/** Deep-merge a value at a path (the root when the path is empty). */
function mergeAt(m: Message, path: string[], value: Value): Message {
  if (path.length === 0) return isMessage(value) ? deepMerge(m, value) : m
  const existing = getAt(m, path)
  return replaceAt(m, path, isMessage(existing) && isMessage(value) ? deepMerge(existing, value) : value)
}

function isPatch(v: Value): boolean {
  if (!isMessage(v)) return false
  return text(directGet(v, 'method')) === 'PATCH' || text(directGet(v, 'device')) === 'patch@1.0'
}

function move(mode: 'all' | 'patches', base: Message, req: Message, _ctx: ResolveContext): Outcome {
  const rawFrom = first([[req, 'patch-from'], [base, 'patch-from'], [req, 'from'], [base, 'from']], '/')
  let fromMsg = base
  let fromParts = parts(rawFrom)
  const head = fromParts[0]
  if (head !== undefined) {
    const colon = head.indexOf(':')
    if (colon > 0) {
      const which = head.slice(0, colon)
      const rest = head.slice(colon + 1)
      if (which === 'base' || which === 'req') {
        fromMsg = which === 'req' ? req : base
        fromParts = [...(rest === '' ? [] : [rest]), ...fromParts.slice(1)]
      }
    }
  }
  const toParts = parts(first([[req, 'patch-to'], [base, 'patch-to'], [req, 'to'], [base, 'to']], '/'))
  const source = fromParts.length === 0 ? fromMsg : getAt(fromMsg, fromParts)
  if (source === undefined) return notFound(message({ status: 404n, body: `patch@1.0: nothing at ${rawFrom}` }))
  let toWrite: Value
  let newSource: Value | undefined
  if (mode === 'patches') {
    if (!isMessage(source)) return error(message({ status: 400n, body: `patch@1.0: the source at ${rawFrom} is not a message` }))
    let merged = emptyMessage()
    const rest = emptyMessage()
    for (const k of Object.keys(source).sort(compareUtf8)) {
      const v = source[k]!
      if (isPatch(v)) {
        const p = copy(v as Message)
        for (const pk of Object.keys(p)) if (normalizeKey(pk) === 'method') delete p[pk]
        merged = deepMerge(merged, p)
      } else rest[k] = v
    }
    toWrite = merged
    newSource = rest
  } else {
    toWrite = source
    newSource = undefined
  }
  const withNewSource = fromParts.length === 0 ? (newSource === undefined ? emptyMessage() : newSource as Message) : replaceAt(fromMsg, fromParts, newSource)
  return ok(mergeAt(withNewSource, toParts, toWrite))
}

const unchanged = (base: Message): Outcome => ok(base)

export const patchDevice: Device = {
  name: 'patch@1.0',
  keys: {
    all: (base, req, ctx) => move('all', base, req, ctx),
    patches: (base, req, ctx) => move('patches', base, req, ctx),
    compute: (base, req, ctx) => move('patches', base, req, ctx),
    init: unchanged,
    normalize: unchanged,
    snapshot: unchanged,
  },
}

