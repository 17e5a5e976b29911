/**
 * The AO-Core API (HyperBEAM's hb_ao): a resolution context, resolve,
 * resolveMany, HyperPATHs, and get/set/remove/keys through a message's own
 * device (spec §1.8).
 */
import { emptyMessage, isMessage, message, type Message, type Value } from './value.ts'
import type { PathItem } from './typed-json.ts'
import type { Capabilities, DeviceLookup, HashpathMode, Outcome, ResolveContext } from './device.ts'
import type { Store } from '../store/store.ts'
import type { Wallet } from '../crypto/wallet.ts'
import { resolveManyOutcome, resolveRequest } from './resolver.ts'
import { parsePath } from './path.ts'
import { normalizeKey } from './keys.ts'
import { InvalidIntermediateStatus } from './errors.ts'

export interface ContextOptions {
  devices: DeviceLookup
  node?: Message
  store?: Store
  wallet?: Wallet
  capabilities?: Capabilities
  hashpath?: HashpathMode
  cacheControl?: string[]
}

/** A resolution context; `ctx.resolve` resolves with it (or with overrides). */
export function createContext(o: ContextOptions): ResolveContext {
  const ctx: ResolveContext = {
    devices: o.devices,
    node: o.node ?? emptyMessage(),
    store: o.store,
    wallet: o.wallet,
    capabilities: o.capabilities ?? {},
    hashpath: o.hashpath ?? 'update',
    cacheControl: o.cacheControl ?? [],
    active: new Set(),
    resolve(base, req, overrides) {
      return resolveRequest(base, req, overrides ? { ...this, ...overrides } : this)
    },
  }
  return ctx
}

export const resolve = (base: PathItem, req: PathItem | string, ctx: ResolveContext): Promise<Outcome> =>
  resolveRequest(base, req, ctx)

export const resolveMany = (list: PathItem[], ctx: ResolveContext): Promise<Outcome> => resolveManyOutcome(list, ctx)

/** Parse a HyperPATH (with its query) and resolve the message list it names. */
export function resolvePath(path: string | Message, ctx: ResolveContext): Promise<Outcome> {
  const req = typeof path === 'string' ? message({ path }) : path
  return resolveManyOutcome(parsePath(req), ctx)
}

const internal = (ctx: ResolveContext): ResolveContext => ({ ...ctx, hashpath: 'ignore', cacheControl: ['no-cache', 'no-store'] })

/** hb_ao:get: the value of a key through the message's device, or `dflt`. */
export async function getKey(msg: Message, key: string, ctx: ResolveContext, dflt?: Value): Promise<Value | undefined> {
  try {
    const o = await resolveRequest(msg, message({ path: key }), internal(ctx))
    return o.status === 'ok' ? (o.value as Value) : dflt
  } catch {
    return dflt
  }
}

/** hb_ao:set: each key through the device's `set` (a key with `/` sets deep). */
export async function setKeys(msg: Message, values: Message, ctx: ResolveContext): Promise<Message> {
  let current = msg
  const c = internal(ctx)
  for (const key of Object.keys(values)) {
    const v = values[key]!
    const parts = key.split('/').filter((p) => p !== '')
    if (parts.length > 1) {
      const [first, ...rest] = parts as [string, ...string[]]
      const child = await getKey(current, first, c)
      const sub = await setKeys(isMessage(child) ? child : emptyMessage(), message({ [rest.join('/')]: v }), c)
      current = await setOne(current, first, sub, c)
    } else current = await setOne(current, key, v, c)
  }
  return current
}

async function setOne(msg: Message, key: string, value: Value, ctx: ResolveContext): Promise<Message> {
  const req = normalizeKey(key) === 'path'
    ? message({ path: 'set_path', value })
    : message({ path: 'set', [key]: value })
  const o = await resolveRequest(msg, req, ctx)
  if (o.status !== 'ok' || !isMessage(o.value)) throw new InvalidIntermediateStatus(`set ${key} failed with status ${o.status}`)
  return o.value
}

/** hb_ao:remove */
export async function removeKey(msg: Message, key: string, ctx: ResolveContext): Promise<Message> {
  const o = await resolveRequest(msg, message({ path: 'remove', item: key }), internal(ctx))
  if (o.status !== 'ok' || !isMessage(o.value)) throw new InvalidIntermediateStatus(`remove ${key} failed with status ${o.status}`)
  return o.value
}

/** hb_ao:keys */
export async function keysOf(msg: Message, ctx: ResolveContext): Promise<string[]> {
  const o = await resolveRequest(msg, message({ path: 'keys' }), internal(ctx))
  if (o.status !== 'ok' || !Array.isArray(o.value)) throw new InvalidIntermediateStatus(`keys failed with status ${o.status}`)
  return (o.value as Value[]).map((k) => normalizeKey(String(k)))
}
