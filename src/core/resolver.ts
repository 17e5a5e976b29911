/**
 * The AO-Core resolver (spec §1.2–1.9): resolve(base, request) → result,
 * one step at a time, extending the hashpath after every step.
 *
 *   normalize → cache lookup → recursion check → device and key lookup →
 *   execute → sub-resolution → hashpath update → cache store
 *
 * resolveMany folds a HyperPATH's message list; get/set/remove/keys go
 * through a message's own device.
 */
import type { Stored } from '../store/store.ts'
import { binaryText } from './value.ts'
import { Atom, Link, emptyMessage, isMessage, message, type Message, type Value } from './value.ts'
import { As, Resolve, type PathItem } from './typed-json.ts'
import { isIdShaped, normalizeKey, isPrivateKey } from './keys.ts'
import { pathPartsOf } from './path-parts.ts'
import { hashpath } from './hashpath.ts'
import { listToNumbered } from '../codecs/structured.ts'
import {
  type Device, type DeviceInfo, type KeyHandler, type Outcome, type ResolveContext, type Status,
  notFound, ok,
} from './device.ts'
import {
  AoError, InfiniteRecursion, InvalidIntermediateStatus, MessageNotFound, NotCached, UnknownDevice, UnresolvableKey,
} from './errors.ts'

export const DEFAULT_DEVICE = 'message@1.0'
/** Nested resolutions (a device resolving inside a device) deeper than this are a loop. */
export const MAX_DEPTH = 200

const text = binaryText

/** A message's own value for a key, without resolution: exact key first, then case-insensitive. */
export function directGet(m: Message, key: string): Value | undefined {
  if (key in m) return m[key]
  const nk = normalizeKey(key)
  if (nk in m) return m[nk]
  for (const k of Object.keys(m)) if (normalizeKey(k) === nk) return m[k]
  return undefined
}

function withKeys(m: Message, extra: Record<string, Value>): Message {
  const out = emptyMessage()
  for (const k of Object.keys(m)) out[k] = m[k]!
  for (const k of Object.keys(extra)) out[k] = extra[k]!
  return out
}

// ---------------------------------------------------------------- identities
// Recursion groups use object identity for the base (cheap, and what a
// device that loops passes back) plus the request's content.
const objectIds = new WeakMap<object, number>()
let nextObjectId = 1
const objectId = (o: object): number => {
  let id = objectIds.get(o)
  if (id === undefined) { id = nextObjectId++; objectIds.set(o, id) }
  return id
}

function requestKey(req: Message): string {
  let s = ''
  for (const k of Object.keys(req).sort()) {
    if (isPrivateKey(normalizeKey(k))) continue
    const v = req[k]
    s += k + '=' + (typeof v === 'string' ? v : typeof v === 'object' && v !== null ? '#' + objectId(v) : String(v)) + ';'
  }
  return s
}

// ---------------------------------------------------------------- devices

/** The device a message names (`device` key), or message@1.0. */
export function deviceOf(m: Message, ctx: ResolveContext): Device {
  const d = directGet(m, 'device')
  if (d === undefined) return mustDevice(DEFAULT_DEVICE, ctx)
  const name = text(d)
  if (name === undefined) throw new UnknownDevice('the `device` key is not a device name')
  return mustDevice(name, ctx)
}

function mustDevice(name: string, ctx: ResolveContext): Device {
  const dev = ctx.devices.get(name)
  if (!dev) throw new UnknownDevice(`device ${JSON.stringify(name)} is not loaded on this node`)
  return dev
}

function isExported(info: DeviceInfo, key: string): boolean {
  if (key === 'info') return true
  if (info.excludes?.includes(key)) return false
  if (info.exports) return info.exports.includes(key)
  return true
}

const fnName = (key: string): string => key.replace(/-/g, '_')

type Selected = { kind: 'fn'; fn: Device['keys'][string] } | { kind: 'handler'; fn: KeyHandler }

/** message_to_fun: the function a device runs for a key (spec §1.5). */
export function selectFunction(dev: Device, key: string, base: Message, ctx: ResolveContext, depth = 0): Selected {
  const nk = normalizeKey(key)
  const info = dev.info ? dev.info(base, ctx) : {}
  const exported = isExported(info, nk)
  if (info.handler && exported) return { kind: 'handler', fn: info.handler }
  const fn = Object.prototype.hasOwnProperty.call(dev.keys, fnName(nk)) ? dev.keys[fnName(nk)] : undefined
  if (fn && exported) return { kind: 'fn', fn }
  if (info.default && exported) {
    if (typeof info.default === 'function') return { kind: 'handler', fn: info.default }
    if (depth < 8) return selectFunction(info.default, key, base, ctx, depth + 1)
  }
  if (dev.name !== DEFAULT_DEVICE) return selectFunction(mustDevice(DEFAULT_DEVICE, ctx), key, base, ctx, depth + 1)
  throw new UnresolvableKey(`message@1.0 cannot resolve key ${JSON.stringify(key)}`)
}

// ---------------------------------------------------------------- normalization

async function loadById(id: string, ctx: ResolveContext, device?: string): Promise<Message> {
  let v: Stored | undefined = ctx.store ? await ctx.store.read(id) : undefined
  // Named with its device (`<id>~process@1.0`): perhaps the node's network has it.
  if (v === undefined && device !== undefined && ctx.capabilities.findMessage) v = await ctx.capabilities.findMessage(id, device)
  if (v === undefined) throw new MessageNotFound(`message ${id} is not in this node's store`)
  if (!isMessage(v)) {
    if (Array.isArray(v)) return listToNumbered(v)
    return message({ body: v })
  }
  return v
}

/** Turn any base form (ID, link, `{as}`, `{resolve}`, list) into a message. */
async function normalizeBase(base: PathItem, ctx: ResolveContext): Promise<Message> {
  if (typeof base === 'string') {
    if (isIdShaped(base)) return loadById(base, ctx)
    return message({ body: base })
  }
  if (base instanceof Link) return loadById(base.id, ctx)
  if (base instanceof Resolve) return valueAsMessage(await resolveManyValue(base.messages, ctx))
  if (base instanceof As) return normalizeAs(base, ctx)
  if (Array.isArray(base)) return listToNumbered(base as Value[])
  if (isMessage(base)) return base
  if (base instanceof Uint8Array) return message({ body: base })
  throw new UnresolvableKey('the base of a resolution must be a message')
}

async function deviceName(d: Value | Resolve, ctx: ResolveContext): Promise<string> {
  if (d instanceof Resolve) {
    const v = await resolveManyValue(d.messages, ctx)
    const s = text(v)
    if (s === undefined) throw new UnknownDevice('a device sub-resolution did not give a device name')
    return s
  }
  const s = text(d)
  if (s === undefined) throw new UnknownDevice('a device must be named by a binary')
  return s
}

/** `{as, Device, Msg}`: load or resolve Msg, then set its device. */
async function normalizeAs(a: As, ctx: ResolveContext): Promise<Message> {
  const dev = await deviceName(a.device as Value | Resolve, ctx)
  mustDevice(dev, ctx)
  const ref = a.msg
  let loaded: Message | undefined
  let rest: Message = emptyMessage()
  if (typeof ref === 'string' && isIdShaped(ref)) loaded = await loadById(ref, ctx, dev)
  else if (ref instanceof Link) loaded = await loadById(ref.id, ctx, dev)
  else if (isMessage(ref)) {
    const p = text(ref['path'])
    if (p !== undefined && isIdShaped(p)) {
      loaded = await loadById(p, ctx, dev)
      rest = withoutKey(ref, 'path')
    }
  }
  if (loaded) return withKeys(withKeys(loaded, rest), { device: dev })
  // Sub-resolution on an empty base with the device set.
  const base = message({ device: dev })
  const sub = isMessage(ref) ? ref : message({ path: ref as Value })
  const p = sub['path']
  if (p === undefined || (typeof p === 'string' && p === '')) return withKeys(base, withoutKey(sub, 'path'))
  return valueAsMessage(outcomeValue(await resolveRequest(base, sub, ctx)))
}

function withoutKey(m: Message, key: string): Message {
  const out = emptyMessage()
  for (const k of Object.keys(m)) if (k !== key) out[k] = m[k]!
  return out
}

function valueAsMessage(v: Value | PathItem): Message {
  if (isMessage(v)) return v
  if (Array.isArray(v)) return listToNumbered(v as Value[])
  return message({ body: v as Value })
}

function outcomeValue(o: Outcome): Value | PathItem {
  if (o.status !== 'ok') throw new InvalidIntermediateStatus(`a sub-resolution ended with status ${o.status}`)
  return o.value
}

async function normalizeRequest(req: PathItem | string, ctx: ResolveContext): Promise<Message> {
  if (typeof req === 'string') return message({ path: req })
  if (req instanceof Resolve) {
    // A sub-resolution in request position: a non-message result names the key (hb_ao: `#{path => V}`).
    const v = await resolveManyValue(req.messages, ctx)
    return isMessage(v) ? v : message({ path: v as Value })
  }
  if (isMessage(req)) {
    const p = req['path']
    if (p instanceof Resolve) return withKeys(req, { path: (await resolveManyValue(p.messages, ctx)) as Value })
    return req
  }
  if (req instanceof As) return normalizeAs(req, ctx)
  throw new UnresolvableKey('a request must be a message or a path')
}

// ---------------------------------------------------------------- cache control

const CACHE_TOKENS = new Set(['always', 'no-store', 'store', 'no-cache', 'cache', 'only-if-cached'])

function cacheTokens(v: Value | undefined): string[] {
  if (v === undefined) return []
  const list = Array.isArray(v) ? v.map((x) => text(x) ?? '') : (text(v) ?? '').split(',')
  return list.map((s) => s.trim().toLowerCase()).filter((s) => CACHE_TOKENS.has(s))
}

function cachePolicy(ctx: ResolveContext, req: Message): { lookup: boolean; only: boolean; store: boolean } {
  // Node (or HTTP request) options first, then the request's own cache-control.
  const tokens = ctx.cacheControl.length > 0 ? ctx.cacheControl : cacheTokens(directGet(req, 'cache-control'))
  const has = (t: string) => tokens.includes(t)
  return {
    only: has('only-if-cached'),
    lookup: (has('always') || has('cache') || has('only-if-cached')) && !has('no-cache'),
    store: (has('always') || has('store')) && !has('no-store'),
  }
}

// ---------------------------------------------------------------- resolution

/** Resolve one request against a base. A request path of several parts runs them in turn. */
export async function resolveRequest(baseIn: PathItem, reqIn: PathItem | string, ctx: ResolveContext): Promise<Outcome> {
  const base = await normalizeBase(baseIn, ctx)
  if (reqIn instanceof As) return subresolveRequest(base, reqIn, ctx)
  if (isMessage(reqIn) && reqIn['path'] instanceof As) {
    const inner = reqIn['path'] as unknown as As
    const merged = isMessage(inner.msg) ? withKeys(withoutKey(reqIn, 'path'), inner.msg) : withKeys(reqIn, { path: inner.msg as Value })
    return subresolveRequest(base, new As(inner.device, merged), ctx)
  }
  const req = await normalizeRequest(reqIn, ctx)
  const pathValue = req['path']
  const parts = pathValue === undefined ? undefined : pathPartsOf(pathValue)
  if (parts !== undefined && parts.length > 1) {
    // Every non-path key of the request is repeated in each step.
    const steps: PathItem[] = [base, ...parts.map((p) => withKeys(req, { path: p }))]
    return resolveManyOutcome(steps, ctx)
  }
  return resolveStep(base, req, parts?.[0], ctx)
}

async function resolveStep(base: Message, req: Message, key: string | undefined, ctx: ResolveContext): Promise<Outcome> {
  if (key === undefined) return notFound('the request names no key (no path)')
  const policy = cachePolicy(ctx, req)
  let hp: string | undefined
  if (policy.lookup && ctx.store) {
    hp = hashpath(base, req)
    const hit = await ctx.store.read(`computed/${hp}`)
    if (hit !== undefined) return ok(hit as Value)
    if (policy.only) throw new NotCached(`no cached result for ${hp}`)
  } else if (policy.only) throw new NotCached('only-if-cached, and this node has no store')

  const group = objectId(base) + '|' + requestKey(req)
  if (ctx.active.has(group)) throw new InfiniteRecursion(`infinite recursion resolving ${JSON.stringify(key)}`)
  // Groups are keyed by the base's identity; a loop that rebuilds its base each
  // time is caught by the depth of nested resolutions instead.
  if (ctx.active.size >= MAX_DEPTH) throw new InfiniteRecursion(`resolutions nested more than ${MAX_DEPTH} deep resolving ${JSON.stringify(key)}`)
  const active = new Set(ctx.active)
  active.add(group)
  const inner: ResolveContext = { ...ctx, active }

  const dev = deviceOf(base, inner)
  const sel = selectFunction(dev, key, base, inner)
  let out = sel.kind === 'handler' ? await sel.fn(key, base, req, inner) : await sel.fn(base, req, inner)
  if (out.status === 'ok' && out.value instanceof Resolve) out = await resolveManyOutcome(out.value.messages, inner)

  if (isMessage(out.value)) {
    if (out.status === 'ok' && ctx.hashpath === 'update') {
      hp ??= hashpath(base, req)
      out = { status: out.status, value: withHashpath(out.value, hp) }
    } else if (out.status !== 'ok') out = { status: out.status, value: withHashpath(out.value, undefined) }
  }
  // A result that says `cache-control: no-store` (e.g. a scheduler's slot) is never cached.
  if (out.status === 'ok' && policy.store && ctx.store && isMessage(out.value) &&
    !cacheTokens(directGet(out.value, 'cache-control')).some((t) => t === 'no-store' || t === 'no-cache')) {
    hp ??= hashpath(base, req)
    await ctx.store.write(`computed/${hp}`, out.value)
  }
  return out
}

/**
 * `{as, Device, Req}` in request position (hb_ao:subresolve): the previous
 * result takes the device, then Req is resolved on it — or, without a path,
 * Req's keys are set on it.
 */
async function subresolveRequest(base: Message, a: As, ctx: ResolveContext): Promise<Outcome> {
  const dev = await deviceName(a.device as Value | Resolve, ctx)
  mustDevice(dev, ctx)
  const typed = withKeys(base, { device: dev })
  const req = isMessage(a.msg) ? a.msg : message({ path: a.msg as Value })
  const p = req['path']
  if (p === undefined || p === '') return ok(withKeys(typed, withoutKey(req, 'path')))
  return resolveRequest(typed, req, ctx)
}

/** The message with `priv.hashpath` set (or removed); never mutates the input. */
export function withHashpath(m: Message, hp: string | undefined): Message {
  const priv = m['priv']
  const newPriv = emptyMessage()
  if (isMessage(priv)) for (const k of Object.keys(priv)) newPriv[k] = priv[k]!
  if (hp === undefined) {
    if (!isMessage(priv) || !('hashpath' in priv)) return m
    delete newPriv['hashpath']
  } else newPriv['hashpath'] = hp
  return withKeys(m, { priv: newPriv })
}

/** Fold a message list left to right; stops at the first status that is not ok. */
export async function resolveManyOutcome(list: PathItem[], ctx: ResolveContext): Promise<Outcome> {
  if (list.length === 0) return ok(emptyMessage())
  if (list.length === 1) {
    const only = list[0]!
    if (typeof only === 'string' && isIdShaped(only)) return ok(await loadById(only, ctx))
    return ok((await normalizeBase(only, ctx)) as Value)
  }
  let current: Outcome = ok((await normalizeBase(list[0]!, ctx)) as Value)
  for (let i = 1; i < list.length; i++) {
    if (current.status !== 'ok') return current
    current = await resolveRequest(current.value, list[i]!, ctx)
  }
  return current
}

async function resolveManyValue(list: PathItem[], ctx: ResolveContext): Promise<Value | PathItem> {
  return outcomeValue(await resolveManyOutcome(list, ctx))
}

/**
 * force_message (spec §1.7): a non-map result becomes
 * `{ao-result: "body", body: L}`; a map of exactly status and body gains
 * `ao-result: body`; a list is numbered first.
 */
export function forceMessage(v: Value | PathItem): Message {
  if (Array.isArray(v)) return listToNumbered(v as Value[])
  if (isMessage(v)) {
    const keys = Object.keys(v).filter((k) => !isPrivateKey(normalizeKey(k)))
    if (keys.length === 2 && keys.includes('status') && keys.includes('body')) return withKeys(v, { 'ao-result': 'body' })
    return v
  }
  if (v instanceof As || v instanceof Resolve) throw new InvalidIntermediateStatus('a result cannot be an unresolved path')
  return message({ 'ao-result': 'body', body: v as Value })
}

/** HTTP status of an outcome (dev_meta:status_code): a `status` key wins. */
export function httpStatus(o: Outcome): number {
  if (isMessage(o.value)) {
    const s = o.value['status']
    if (typeof s === 'bigint') return Number(s)
    const t = text(s)
    if (t !== undefined && /^\d{3}$/.test(t)) return Number(t)
    if (s instanceof Atom || t !== undefined) return STATUS_CODES[(t ?? String(s)) as Status] ?? 200
  }
  return STATUS_CODES[o.status] ?? 200
}

export const STATUS_CODES: Record<string, number> = {
  ok: 200, error: 400, created: 201, not_found: 404, failure: 500, unavailable: 503, skip: 200, pass: 200,
}

export { AoError }
