/**
 * name@1.0 (HyperBEAM dev_name): resolve a name through the ordered list of
 * resolvers in the node message's `name_resolvers`. Each resolver is a
 * message (or an ID) that is asked `{path: lookup, key: <name>}`; the first
 * that answers ok wins.
 *
 *   <any key>  the name; with `load` (default true) the answer is an ID or
 *              store path whose content is returned (absent → not_found); with
 *              `load: false` the answer itself. No resolver answers → not_found.
 *   keys, set  not this device's (message@1.0 on the base)
 *
 * An answer that is already a message is returned as it is even when `load`
 * is set (HyperBEAM would try to read it as a path and fail).
 */
import { isBinary, isMessage, message, type Message, type Value } from '../core/value.ts'
import { notFound, ok, type Device, type Outcome, type ResolveContext } from '../core/device.ts'
import { directGet } from '../core/resolver.ts'
import { numberedToList } from '../codecs/structured.ts'
import type { PathItem } from '../core/typed-json.ts'
import { text } from './httpsig.ts'

const NAME = 'name@1.0'

function resolversOf(ctx: ResolveContext): PathItem[] {
  const v = directGet(ctx.node, 'name_resolvers')
  if (v === undefined) return []
  if (Array.isArray(v)) return v
  if (isMessage(v)) {
    const list = numberedToList(v)
    return list.length > 0 || Object.keys(v).length === 0 ? list : [v]
  }
  return [v]
}

/** match_resolver: the first resolver's ok answer for a key. */
async function match(key: string, ctx: ResolveContext): Promise<Value | undefined> {
  for (const resolver of resolversOf(ctx)) {
    const o = await ctx.resolve(resolver, message({ path: 'lookup', key }))
    if (o.status === 'ok') return o.value as Value
  }
  return undefined
}

const loadWanted = (req: Message): boolean => {
  const v = directGet(req, 'load')
  return !(v === false || text(v) === 'false')
}

async function resolveName(key: string, req: Message, ctx: ResolveContext): Promise<Outcome> {
  const found = await match(key, ctx)
  if (found === undefined) return notFound(`no resolver knows the name ${JSON.stringify(key)}`)
  if (!loadWanted(req) || !isBinary(found)) return ok(found)
  const path = text(found)!
  const stored = ctx.store ? await ctx.store.read(path) : undefined
  if (stored === undefined) return notFound(`the name ${JSON.stringify(key)} points at ${path}, which is not in this node's store`)
  return ok(stored as Value)
}

export const nameDevice: Device = {
  name: NAME,
  info: () => ({
    excludes: ['keys', 'set'],
    default: (key, _base, req, ctx) => resolveName(key, req, ctx),
  }),
  keys: {},
}
