/**
 * router@1.0 (HyperBEAM dev_router): the node's route table.
 *
 * The node message's `routes` is a precedence-ordered list of routes:
 *   template   a message template (every key of it must equal the message's)
 *              or a path regex (unanchored, as Erlang's re:run, against the
 *              lower-cased path with a leading `/`); no template matches all
 *   node       one node: a URI, or a map {prefix | suffix | match+with, opts}
 *   nodes      several, with `strategy` (All, Random, By-Base, By-Weight,
 *              Nearest) and `choose` (how many; default 1)
 *   priority   order kept by `routes` POST
 * `route_provider` (a request message) may produce the routes instead.
 *
 * Keys:
 *   routes  GET: the routes. POST: add the request's signed keys as a route,
 *           only when signed by the operator or one of `route_owners`.
 *   route   the route for the request's `route-path` (or `path`): a URI, or
 *           {uri, opts}, or the route with the chosen `nodes`.
 *   match   the first route of the *base*'s `routes` matching the request.
 *
 * Strategies: By-Base and Nearest are deterministic, as in HyperBEAM. By-Base
 * takes the base of the routed path (its first segment if it is an ID, else
 * SHA-256 of it) as a 256-bit number and picks node (n mod count); Nearest
 * picks the nodes whose `wallet` is closest to that number on the 2^256
 * ring. Random and By-Weight use Math.random.
 *
 * Difference: HyperBEAM's device call `route` takes the routing base from
 * the request's `path` (always `route`), so its By-Base/Nearest choice ignores
 * `route-path`; we use the routed path. `register` (registration with a remote
 * router process) and `preprocess` (which needs apply@1.0) are not provided.
 */
import { binaryOrAtomText } from '../core/value.ts'
import { Atom, emptyMessage, isMessage, message, type Message, type Value } from '../core/value.ts'
import { ok, error, type Device, type Outcome, type ResolveContext } from '../core/device.ts'
import { isIdShaped, isPrivateKey, normalizeKey } from '../core/keys.ts'
import { directGet, resolveManyOutcome } from '../core/resolver.ts'
import { parsePath } from '../core/path.ts'
import { fromB64, utf8 } from '../core/bytes.ts'
import { sha256 } from '../crypto/hash.ts'
import { numberedToList } from '../codecs/structured.ts'
import { stringifyTyped } from '../core/typed-json.ts'
import { BadInput, Forbidden, Unauthorized } from '../core/errors.ts'
import { operatorOf, requestSigners, signedKeys } from './meta.ts'

export const ROUTER = 'router@1.0'

const text = binaryOrAtomText

const asList = (v: Value | undefined): Value[] =>
  Array.isArray(v) ? v : isMessage(v) ? numberedToList(v) : []

function withKeys(m: Message, extra: Record<string, Value>): Message {
  const out = emptyMessage()
  for (const k of Object.keys(m)) out[k] = m[k]!
  for (const k of Object.keys(extra)) out[k] = extra[k]!
  return out
}

// ---------------------------------------------------------------- loading

/** The node's routes: `route_provider` resolved, or the `routes` key. */
export async function loadRoutes(ctx: ResolveContext): Promise<Message[]> {
  const provider = directGet(ctx.node, 'route_provider')
  if (provider !== undefined) {
    const req = isMessage(provider) ? provider : message({ path: provider })
    const o = await resolveManyOutcome(parsePath(req), { ...ctx, cacheControl: ['no-cache', 'no-store'] })
    if (o.status !== 'ok') throw new BadInput(`the route provider failed with status ${o.status}`)
    return asList(o.value as Value).filter(isMessage)
  }
  return asList(directGet(ctx.node, 'routes')).filter(isMessage)
}

// ---------------------------------------------------------------- matching

/** The path a message is routed by: `route-path`, else `path`. */
export function targetPath(m: Message): string | undefined {
  return text(directGet(m, 'route-path')) ?? text(directGet(m, 'path'))
}

const slashed = (p: string): string => (p.startsWith('/') ? p : '/' + p)

/** hb_path:regex_matches: both sides key-normalized and given a leading `/`; an invalid regex never matches. */
export function regexMatches(path: string, regex: string): boolean {
  try {
    return new RegExp(slashed(normalizeKey(regex))).test(slashed(normalizeKey(path)))
  } catch {
    return false
  }
}

function sameValue(a: Value | undefined, b: Value | undefined): boolean {
  if (a === undefined || b === undefined) return false
  const ta = text(a)
  const tb = text(b)
  if (ta !== undefined && tb !== undefined && !(a instanceof Atom) && !(b instanceof Atom)) return ta === tb
  if (isMessage(a) && isMessage(b)) return templateMatches(b, a)
  try { return stringifyTyped(a) === stringifyTyped(b) } catch { return false }
}

/** hb_message:match(Template, Msg, primary): every (public) key of the template has the same value in the message. */
function templateMatches(m: Message, template: Value): boolean {
  if (isMessage(template)) {
    for (const k of Object.keys(template)) {
      const nk = normalizeKey(k)
      if (isPrivateKey(nk) || nk === 'content-type' || nk === 'ao-body-key' || nk === 'commitments') continue
      if (!sameValue(template[k], directGet(m, nk))) return false
    }
    return true
  }
  const regex = text(template)
  if (regex === undefined) return false
  const p = targetPath(m)
  return p !== undefined && regexMatches(p, regex)
}

/** The first matching route, with its `reference` (`routes/N`), or undefined. */
export function matchRoutes(m: Message, routes: Message[]): Message | undefined {
  const explicit = text(directGet(m, 'path'))
  if (explicit !== undefined && (explicit.startsWith('http://') || explicit.startsWith('https://'))) {
    return message({ node: explicit, reference: 'explicit' })
  }
  for (let i = 0; i < routes.length; i++) {
    const r = routes[i]!
    const template = directGet(r, 'template') ?? emptyMessage()
    if (templateMatches(m, template)) return withKeys(r, { reference: `routes/${i + 1}` })
  }
  return undefined
}

// ---------------------------------------------------------------- applying a route

export interface RouteTarget { uri: string; opts: Message }

/** apply_route: a node map's `prefix`, `suffix` or `match`/`with` applied to the routed path. */
export function applyRoute(m: Message, node: Message): RouteTarget {
  const opts = directGet(node, 'opts')
  const path = targetPath(m) ?? ''
  const prefix = text(directGet(node, 'prefix'))
  const suffix = text(directGet(node, 'suffix'))
  const match = text(directGet(node, 'match'))
  const withText = text(directGet(node, 'with'))
  let uri: string
  if (prefix !== undefined) uri = prefix + path
  else if (suffix !== undefined) uri = path + suffix
  else if (match !== undefined && withText !== undefined) {
    try { uri = path.replace(new RegExp(match, 'g'), withText) } catch { throw new BadInput(`invalid route replace regex ${JSON.stringify(match)}`) }
  } else throw new BadInput('a route node needs `prefix`, `suffix` or `match` and `with`')
  return { uri, opts: isMessage(opts) ? opts : emptyMessage() }
}

// ---------------------------------------------------------------- strategies

const TWO_256 = 1n << 256n

function bytesToBig(b: Uint8Array): bigint {
  let n = 0n
  for (const x of b) n = (n << 8n) | BigInt(x)
  return n
}

/** An ID as 32 native bytes: 43-char base64url, or 32 raw bytes; undefined otherwise. */
function nativeId(id: string): Uint8Array | undefined {
  if (id.length === 43) {
    try {
      const b = fromB64(id)
      if (b.length === 32) return b
    } catch { /* not base64url */ }
  }
  const raw = utf8(id)
  return raw.length === 32 ? raw : undefined
}

/** extract_base: the first path segment if it (or its text before `~`, `?`, `&`) is an ID, else SHA-256 of it. */
export function routingBase(path: string): bigint {
  const first = path.split('/').filter((p) => p !== '')[0] ?? ''
  if (isIdShaped(first)) {
    const n = nativeId(first)
    if (n) return bytesToBig(n)
  }
  const head = first.split(/[~?&]/)[0]!
  if (isIdShaped(head)) {
    const n = nativeId(head)
    if (n) return bytesToBig(n)
  }
  return bytesToBig(sha256(utf8(first)))
}

function fieldDistance(a: bigint, b: bigint): bigint {
  const d = a > b ? a - b : b - a
  const wrap = TWO_256 - d
  return d < wrap ? d : wrap
}

function weightOf(n: Value): number {
  if (!isMessage(n)) return 0
  const w = directGet(n, 'weight')
  const x = typeof w === 'bigint' ? Number(w) : typeof w === 'object' && w !== null && 'value' in w ? Number((w as { value: number }).value) : Number(text(w))
  return Number.isFinite(x) && x > 0 ? x : 0
}

/** choose/5: `count` nodes by a strategy. */
export function chooseNodes(count: number, strategy: string, base: bigint, nodes: Value[], random: () => number = Math.random): Value[] {
  const out: Value[] = []
  let rest = [...nodes]
  if (strategy === 'Nearest') {
    const scored = rest.map((n) => {
      const w = isMessage(n) ? text(directGet(n, 'wallet')) : undefined
      const id = w === undefined ? undefined : nativeId(w)
      return { n, d: id === undefined ? undefined : fieldDistance(bytesToBig(id), base) }
    })
    for (let i = 0; i < count && scored.length > 0; i++) {
      let best = 0
      for (let j = 1; j < scored.length; j++) {
        const dj = scored[j]!.d
        const db = scored[best]!.d
        if (dj !== undefined && (db === undefined || dj < db)) best = j
      }
      out.push(scored[best]!.n)
      scored.splice(best, 1)
    }
    return out
  }
  for (let i = 0; i < count && rest.length > 0; i++) {
    let idx: number
    if (strategy === 'By-Base') idx = Number(base % BigInt(rest.length))
    else if (strategy === 'By-Weight') {
      const weights = rest.map(weightOf)
      const total = weights.reduce((a, b) => a + b, 0)
      let r = random() * total
      idx = rest.length - 1
      for (let j = 0; j < weights.length; j++) { if (r < weights[j]!) { idx = j; break } r -= weights[j]! }
    } else if (strategy === 'Random') idx = Math.floor(random() * rest.length)
    else throw new BadInput(`unknown routing strategy ${JSON.stringify(strategy)}`)
    out.push(rest[idx]!)
    rest = rest.filter((_, j) => j !== idx)
  }
  return out
}

// ---------------------------------------------------------------- route

/** What `route` answers: a URI, {uri, opts}, or the route with its chosen nodes. */
export type RouteResult = string | RouteTarget | Message

/** dev_router:route for a message; undefined when no route matches. */
export async function routeMessage(m: Message, ctx: ResolveContext): Promise<RouteResult | undefined> {
  const r = matchRoutes(m, await loadRoutes(ctx))
  if (r === undefined) return undefined
  const node = directGet(r, 'node')
  const nodeText = text(node)
  if (nodeText !== undefined) return nodeText
  if (isMessage(node)) return applyRoute(m, node)
  const nodes = asList(directGet(r, 'nodes'))
  const applied = nodes.map((n) => {
    if (!isMessage(n)) return n
    try { return withKeys(n, { uri: applyRoute(m, n).uri }) } catch { return n }
  })
  const strategy = text(directGet(r, 'strategy'))
  if (strategy === undefined || strategy === 'All') return withKeys(r, { nodes: applied })
  const chooseV = directGet(r, 'choose')
  const count = typeof chooseV === 'bigint' ? Number(chooseV) : chooseV === undefined ? 1 : Number(text(chooseV) ?? 1)
  const chosen = chooseNodes(Number.isFinite(count) ? count : 1, strategy, routingBase(targetPath(m) ?? ''), nodes)
  if (chosen.length === 1) {
    const only = chosen[0]!
    if (isMessage(only)) return applyRoute(m, only)
    const t = text(only)
    if (t !== undefined) return t
  }
  return withKeys(r, { nodes: chosen.map((n) => (isMessage(n) ? routeTargetMessage(applyRoute(m, n)) : n)) })
}

export const routeTargetMessage = (t: RouteTarget): Message => message({ uri: t.uri, opts: t.opts })

const resultValue = (r: RouteResult): Value => (typeof r === 'string' ? r : 'uri' in r && typeof r.uri === 'string' && isMessage(r.opts) ? routeTargetMessage(r as RouteTarget) : r as Message)

/** Keys of a routes POST that describe the request, not the route. */
const NOT_ROUTE = new Set(['path', 'method', 'commitments', 'accept-bundle', 'accept-codec', 'accept', 'codec-device', 'content-length', 'content-type', 'content-digest', 'signature', 'signature-input', 'host'])

function priorityOf(r: Message): number | undefined {
  const p = directGet(r, 'priority')
  const x = typeof p === 'bigint' ? Number(p) : Number(text(p))
  return Number.isFinite(x) ? x : undefined
}

async function addRoute(req: Message, ctx: ResolveContext): Promise<Outcome> {
  const operator = operatorOf(ctx)
  const owners = asList(directGet(ctx.node, 'route_owners')).map((v) => text(v)).filter((v): v is string => v !== undefined)
  if (owners.length === 0 && operator !== undefined) owners.push(operator)
  const signers = await requestSigners(req, ctx)
  if (signers.length === 0) throw new Unauthorized('adding a route (POST ~router@1.0/routes) needs a request signed by a route owner')
  if (!signers.some((s) => owners.includes(s))) throw new Forbidden(`adding a route needs a route owner's signature (${owners.join(', ')}); it is signed by ${signers.join(', ')}`)
  const route = signedKeys(req, ctx, NOT_ROUTE)
  const routes = [...asList(directGet(ctx.node, 'routes')).filter(isMessage), route]
  // Stable sort by priority; routes without one go last (Erlang orders numbers before atoms).
  routes.sort((a, b) => {
    const pa = priorityOf(a)
    const pb = priorityOf(b)
    if (pa === undefined || pb === undefined) return pa === undefined ? (pb === undefined ? 0 : 1) : -1
    return pa - pb
  })
  ctx.node['routes'] = routes
  return ok('Route added.')
}

export const routerDevice: Device = {
  name: ROUTER,
  info: () => ({ exports: ['info', 'routes', 'route', 'match'] }),
  keys: {
    info: () => ok(message({
      description: 'Router device for handling outbound message routing',
      version: '1.0',
    })),
    routes: async (_base, req, ctx) => {
      if ((text(directGet(req, 'method')) ?? 'GET').toUpperCase() === 'POST') return addRoute(req, ctx)
      return ok(await loadRoutes(ctx))
    },
    route: async (_base, req, ctx) => {
      const r = await routeMessage(req, ctx)
      return r === undefined ? error('no_matches') : ok(resultValue(r))
    },
    match: (base, req) => {
      const routes = asList(directGet(base, 'routes')).filter(isMessage)
      const p = targetPath(req)
      const r = matchRoutes(p === undefined ? req : withKeys(req, { path: p }), routes)
      return r === undefined ? error('no_matching_route') : ok(r)
    },
  },
}
