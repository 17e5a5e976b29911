/**
 * local-name@1.0 (HyperBEAM dev_local_name): a node-local name registry kept
 * in the store, under `local-name@1.0/<normalized name>` (a link to the value,
 * written as hb_cache writes it).
 *
 *   lookup     `key` → its value: the node message's `local_names` first, then
 *              the store; a key `a/b` resolves `b` on the value of `a`;
 *              unknown → not_found
 *   <any key>  lookup of that key
 *   register   `key`, `value`: only in a request committed by the node's
 *              operator (node message `operator`, else the node wallet's
 *              address; `unclaimed` lets anyone, as meta@1.0), covering `key`
 *              and `value` → "Registered." Unsigned or unverifiable →
 *              Unauthorized (401); another signer → Forbidden (403). HyperBEAM
 *              answers 403 in both cases and does not check signatures; it also
 *              lets anyone register on a node with neither operator nor wallet,
 *              where we refuse (403).
 *   keys, set, direct_register   not this device's (message@1.0 on the base)
 */
import { message, type Message, type Value } from '../core/value.ts'
import { notFound, ok, type Device, type Outcome, type ResolveContext } from '../core/device.ts'
import { normalizeKey } from '../core/keys.ts'
import { directGet } from '../core/resolver.ts'
import { pathParts } from '../core/path.ts'
import { isMessage } from '../core/value.ts'
import { BadInput, Forbidden } from '../core/errors.ts'
import { cacheWrite, committedBy } from './cache.ts'
import { text } from './httpsig.ts'
import { operatorOf } from './meta.ts'

const NAME = 'local-name@1.0'
/** The store folder of the registry (HyperBEAM's ?DEV_CACHE). */
export const LOCAL_NAMES = 'local-name@1.0'

async function findName(name: string, ctx: ResolveContext): Promise<Value | undefined> {
  const configured = ctx.node['local_names']
  if (isMessage(configured)) {
    const v = directGet(configured, name)
    if (v !== undefined) return v
  }
  if (!ctx.store) return undefined
  return (await ctx.store.read(`${LOCAL_NAMES}/${normalizeKey(name)}`)) as Value | undefined
}

async function lookup(key: Value | undefined, ctx: ResolveContext): Promise<Outcome> {
  if (key === undefined) return notFound('lookup needs a `key`')
  const parts = pathParts(key)
  if (!parts || parts.length === 0) return notFound('lookup needs a `key`')
  const [first, ...rest] = parts as [string, ...string[]]
  const v = await findName(first, ctx)
  if (v === undefined) return notFound(`no local name ${JSON.stringify(first)}`)
  if (rest.length === 0) return ok(v)
  return ctx.resolve(v, message({ path: rest.join('/') }))
}

async function register(req: Message, ctx: ResolveContext): Promise<Outcome> {
  const operator = operatorOf(ctx)
  if (operator === undefined) throw new Forbidden('this node has no operator to register names')
  await committedBy(req, ctx, operator === 'unclaimed' ? 'anyone' : [operator], ['key', 'value'], 'local-name@1.0 register')
  const key = text(directGet(req, 'key'))
  const value = directGet(req, 'value')
  if (key === undefined || key === '') throw new BadInput('register needs a `key`')
  if (value === undefined) throw new BadInput('register needs a `value`')
  if (!ctx.store) throw new BadInput('this node has no store')
  const path = await cacheWrite(ctx.store, value)
  await ctx.store.link(`${LOCAL_NAMES}/${normalizeKey(key)}`, path)
  return ok('Registered.')
}

export const localNameDevice: Device = {
  name: NAME,
  info: () => ({
    excludes: ['direct_register', 'keys', 'set'],
    default: (key, _base, _req, ctx) => lookup(key, ctx),
  }),
  keys: {
    lookup: (_base, req, ctx) => lookup(directGet(req, 'key'), ctx),
    register: (_base, req, ctx) => register(req, ctx),
  },
}
