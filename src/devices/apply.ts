/**
 * apply@1.0 (HyperBEAM dev_apply, edge only): run a resolution described by
 * the messages themselves.
 *
 *   <key>  (default handler) if the request has both `base` and `request`:
 *          `pair` with the request's path set to <key>; otherwise evaluate the
 *          value found at <key> (request first, then base): a HyperPATH text or a
 *          message with a `path` is resolved as a HyperPATH (a message without
 *          `path` is its own result), a list is resolved as a message list.
 *   pair   resolve the message found at the `request` path on the message
 *          found at the `base` path (paths read from the request, then the base).
 *   keys, set   not this device's (message@1.0 on the base)
 *
 * Paths may start with `base:` or `request:` (`req:`) to read from that
 * message only; `base:` / `request:` alone mean the message itself. A path
 * without a prefix is looked up in the request, then in the base. Lookups
 * treat the message as message@1.0 for the first step.
 *
 * Failures are error results whose body says what was missing, as HyperBEAM's
 * (`Path \`x\` to apply not found.`, `Source path ...`, `Path ... is invalid.`),
 * so HTTP answers 400.
 */
import { emptyMessage, isBinary, isMessage, message, type Message, type Value } from '../core/value.ts'
import { error, ok, type Device, type Outcome, type ResolveContext } from '../core/device.ts'
import { directGet, resolveManyOutcome, resolveRequest } from '../core/resolver.ts'
import { parsePath, pathParts } from '../core/path.ts'
import type { PathItem } from '../core/typed-json.ts'
import { text } from './httpsig.ts'

const NAME = 'apply@1.0'

class ApplyFailure {
  constructor(readonly body: string) {}
}

/** hb_path:to_binary of a path, with `/` for the empty path. */
function pathText(p: Value | string[]): string {
  const s = Array.isArray(p) ? p.map((x) => text(x as Value) ?? String(x)).join('/') : text(p) ?? String(p)
  return s === '' ? '/' : s
}

/** hb_ao:get(Path, {as, message@1.0, Msg}): undefined when the resolution is not ok. */
async function getAs(msg: Message, path: string, ctx: ResolveContext): Promise<Value | undefined> {
  const asMessage = emptyMessage()
  for (const k of Object.keys(msg)) asMessage[k] = msg[k]!
  asMessage['device'] = 'message@1.0'
  const o = await resolveRequest(asMessage, message({ path }), { ...ctx, hashpath: 'ignore', cacheControl: ['no-cache', 'no-store'] })
  return o.status === 'ok' ? (o.value as Value) : undefined
}

async function getFirst(sources: [Message, string][], ctx: ResolveContext): Promise<Value | undefined> {
  for (const [m, p] of sources) {
    const v = await getAs(m, p, ctx)
    if (v !== undefined) return v
  }
  return undefined
}

/** find_path: the value of `key` in the request, else in the base. */
async function findPath(key: string, base: Message, req: Message, ctx: ResolveContext): Promise<Value> {
  const v = await getFirst([[req, key], [base, key]], ctx)
  if (v === undefined) throw new ApplyFailure(`Path \`${pathText(key)}\` to apply not found.`)
  return v
}

/** find_message: the message (or list, or path) a path names, honouring `base:` / `request:` prefixes. */
async function findMessage(path: Value, base: Message, req: Message, ctx: ResolveContext): Promise<Value> {
  const parts = isBinary(path) || typeof path === 'bigint' || Array.isArray(path) ? pathParts(path) : undefined
  if (!parts || parts.length === 0) throw new ApplyFailure(`Path \`${pathText(path)}\` is invalid.`)
  const [first, ...rest] = parts as [string, ...string[]]
  const colon = first.indexOf(':')
  let sources: [Message, string][]
  if (colon < 0) {
    const whole = pathText(path)
    sources = [[req, whole], [base, whole]]
  } else {
    const prefix = first.slice(0, colon)
    const key = first.slice(colon + 1)
    const from = prefix === 'base' ? base : prefix === 'request' || prefix === 'req' ? req : undefined
    if (from === undefined) throw new ApplyFailure(`Path \`${pathText(path)}\` is invalid.`)
    if (key === '' && rest.length === 0) return from
    sources = [[from, pathText([key, ...rest])]]
  }
  const v = await getFirst(sources, ctx)
  if (v === undefined) throw new ApplyFailure(`Source path \`${pathText(path)}\` to apply not found.`)
  return v
}

/** hb_ao:resolve of a singleton (a HyperPATH text or a request message) or resolve_many of a list. */
async function evaluate(found: Value, ctx: ResolveContext): Promise<Outcome> {
  if (Array.isArray(found)) return resolveManyOutcome(found as PathItem[], ctx)
  if (isBinary(found)) return resolveManyOutcome(parsePath(message({ path: found })), ctx)
  if (isMessage(found)) {
    if (directGet(found, 'path') === undefined) return ok(found)
    return resolveManyOutcome(parsePath(found), ctx)
  }
  throw new ApplyFailure('The value to apply is neither a path, a message nor a list.')
}

async function guarded(run: () => Promise<Outcome>): Promise<Outcome> {
  try {
    return await run()
  } catch (e) {
    if (e instanceof ApplyFailure) return error(message({ body: e.body }))
    throw e
  }
}

/** eval: resolve what the request's `source` (or the key apply was called with) points at. */
function evalSource(base: Message, req: Message, ctx: ResolveContext): Promise<Outcome> {
  return guarded(async () => {
    const path = await findPath('source', base, req, ctx)
    return evaluate(await findMessage(path, base, req, ctx), ctx)
  })
}

/** pair: the message at `request` resolved on the message at `base`, with the path set to `pathToSet`. */
function pair(pathToSet: string | undefined, base: Message, req: Message, ctx: ResolveContext): Promise<Outcome> {
  return guarded(async () => {
    const requestPath = await findPath('request', base, req, ctx)
    const basePath = await findPath('base', base, req, ctx)
    const requestSource = await findMessage(requestPath, base, req, ctx)
    const baseSource = await findMessage(basePath, base, req, ctx)
    let prepared: PathItem = requestSource
    if (pathToSet !== undefined) {
      if (!isMessage(requestSource)) throw new ApplyFailure(`The request at \`${pathText(requestPath)}\` is not a message.`)
      prepared = message({ ...requestSource, path: pathToSet })
    }
    return ctx.resolve(baseSource, prepared)
  })
}

export const applyDevice: Device = {
  name: NAME,
  info: () => ({
    excludes: ['keys', 'set'],
    default: async (key, base, req, ctx) => {
      const asMsg = (m: Message, k: string) => getAs(m, k, ctx)
      const foundBase = await asMsg(req, 'base')
      const foundRequest = await asMsg(req, 'request')
      if (foundBase !== undefined && foundRequest !== undefined) return pair(key, base, req, ctx)
      const withSource = message({ ...req, source: key })
      return evalSource(base, withSource, ctx)
    },
  }),
  keys: {
    pair: (base, req, ctx) => pair(undefined, base, req, ctx),
  },
}
