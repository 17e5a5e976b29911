/**
 * meta@1.0 (spec §4.8, HyperBEAM dev_meta): the node message and the pipeline
 * every HTTP request goes through.
 *
 *   info   GET: the node message without private keys, plus `address`.
 *          POST: update the node message; only a request committed by the
 *          operator's wallet may (unsigned → 401, someone else → 403).
 *   build  what this node is.
 *
 * `handleRequest` is dev_meta:handle (not a device key, as in HyperBEAM):
 *   parse the singleton (hb_singleton:from) → `request` hooks → resolveMany
 *   with force_message and cache_control [always] over the node store →
 *   embed the HTTP status → `response` hooks → sign if `force_signed`.
 *
 * Hooks (HyperBEAM dev_hook, simplified): the node message's `on` key maps a
 * hook name (`request`, `response`) to a handler message or a list of them.
 * A handler is resolved as the base of `{path: <handler path or hook name>,
 * method: <handler method or GET>, request: <singleton>, body: <messages or
 * result>}` with the hashpath ignored; its result's `body` is the new body.
 * Handlers chain; a status other than ok stops the chain and is the answer.
 * `hook: {result: ignore | return | error}` on a handler works as in HyperBEAM.
 *
 * Who signed a request: the HTTP layer verifies a request's commitments
 * before dispatch (a request that does not verify never gets here) and hands
 * the verified signers to the resolution (`withRequestInfo`). Keys merged in
 * afterwards from the query string or the path cannot add a signer: a
 * `commitments` key smuggled in a query is not a verified commitment.
 * Resolutions that do not come from HTTP verify the request message itself.
 */
import { checkNodeOptions } from '../node/options.ts'
import { binaryOrAtomText } from '../core/value.ts'
import { Atom, Float, Link, emptyMessage, isMessage, message, type Message, type Value } from '../core/value.ts'
import { ok, type Device, type Outcome, type ResolveContext } from '../core/device.ts'
import { isPrivateKey, normalizeKey } from '../core/keys.ts'
import { directGet, forceMessage, httpStatus, resolveManyOutcome } from '../core/resolver.ts'
import { As, Resolve, type PathItem } from '../core/typed-json.ts'
import { parsePath } from '../core/path.ts'
import { commitMessage, verifyMessage } from '../codecs/commitments.ts'
import { commitmentsOf, committedKeys, HTTPSIG } from '../codecs/httpsig/commitment.ts'
import { numberedToList } from '../codecs/structured.ts'
import { AoError, BadInput, Forbidden, MessageNotFound, Unauthorized } from '../core/errors.ts'

export const META = 'meta@1.0'
const VERSION = '0.1.0'

const text = binaryOrAtomText

function copy(m: Message): Message {
  const out = emptyMessage()
  for (const k of Object.keys(m)) out[k] = m[k]!
  return out
}

// ---------------------------------------------------------------- requests and signers

/** What the HTTP layer knows about the request being resolved. */
export interface RequestInfo {
  /** The request message (hb_http:req_to_tabm_singleton's output). */
  singleton: Message
  /** Committers of the request whose commitments were verified. */
  signers: string[]
  /** Keys covered by every commitment of the request (none when unsigned). */
  committed: string[]
}

const REQUEST = Symbol('ao.request')
type WithRequest = ResolveContext & { [REQUEST]?: RequestInfo }

/** A context that carries the HTTP request (it survives the resolver's context copies). */
export function withRequestInfo(ctx: ResolveContext, info: RequestInfo): ResolveContext {
  const out: WithRequest = { ...ctx }
  out[REQUEST] = info
  return out
}

export const requestInfo = (ctx: ResolveContext): RequestInfo | undefined => (ctx as WithRequest)[REQUEST]

/**
 * The keys every commitment of a message covers (hb_message:committed with
 * commitments=all), `+link` suffixes removed; [] for an uncommitted message.
 */
export function committedKeysOf(m: Message): string[] {
  const comms = Object.values(commitmentsOf(m))
  if (comms.length === 0) return []
  const lists = comms.map((c) => committedKeys(c).map((k) => (k.endsWith('+link') ? k.slice(0, -5) : k)))
  return lists[0]!.filter((k) => lists.every((l) => l.includes(k)))
}

/** The committers named by a message's commitments (not verified). */
export function committersOf(m: Message): string[] {
  const out: string[] = []
  for (const c of Object.values(commitmentsOf(m))) {
    const who = text(c['committer'])
    if (who !== undefined && !out.includes(who)) out.push(who)
  }
  return out
}

/**
 * The verified signers of a request: those the HTTP layer verified, or, for
 * an in-process resolution, the committers of `req` if all its commitments
 * verify.
 */
export async function requestSigners(req: Message, ctx: ResolveContext): Promise<string[]> {
  const info = requestInfo(ctx)
  if (info) return info.signers
  if (Object.keys(commitmentsOf(req)).length === 0) return []
  const v = await verifyMessage(req)
  return v.verified ? v.committers : []
}

/** The operator's address ('unclaimed' lets anyone administer the node, as in HyperBEAM). */
/**
 * Only what a request's signer covered: the committed keys of the HTTP request
 * (verified by the HTTP layer), or of the request message when resolved in
 * process; normalized, private and `excluded` keys left out.
 */
export function signedKeys(req: Message, ctx: ResolveContext, excluded: ReadonlySet<string>): Message {
  const info = requestInfo(ctx)
  const source = info ? info.singleton : req
  const keys = info ? info.committed : committedKeysOf(req)
  const out = emptyMessage()
  for (const k of keys) {
    const nk = normalizeKey(k)
    if (excluded.has(nk) || isPrivateKey(nk)) continue
    const v = directGet(source, k)
    if (v !== undefined) out[nk] = v
  }
  return out
}

export function operatorOf(ctx: ResolveContext): string | undefined {
  return text(directGet(ctx.node, 'operator')) ?? ctx.wallet?.address
}

/**
 * Throw unless the request is committed by the operator (HyperBEAM's
 * dev_meta:is(admin)): no verified signer → Unauthorized (401), signers that
 * do not include the operator → Forbidden (403).
 */
export async function assertOperator(req: Message, ctx: ResolveContext, what: string): Promise<string[]> {
  const operator = operatorOf(ctx)
  if (operator === 'unclaimed') return requestSigners(req, ctx)
  const signers = await requestSigners(req, ctx)
  if (signers.length === 0) throw new Unauthorized(`${what} must be signed by the node operator (${operator ?? 'none'}); the request is not signed`)
  if (operator === undefined || !signers.includes(operator)) {
    throw new Forbidden(`${what} must be signed by the node operator (${operator ?? 'none'}); it is signed by ${signers.join(', ')}`)
  }
  return signers
}

// ---------------------------------------------------------------- info

const UNENCODABLE = 'Unencodable value.'

/** filter_node_msg: private keys removed at every level, anything that is not a value replaced. */
function publicValue(v: unknown): Value {
  if (typeof v === 'string' || typeof v === 'bigint' || typeof v === 'boolean' || v === null) return v
  if (v instanceof Uint8Array || v instanceof Float || v instanceof Atom || v instanceof Link) return v
  if (Array.isArray(v)) return v.map(publicValue)
  if (isMessage(v) && !(v instanceof As) && !(v instanceof Resolve)) {
    const out = emptyMessage()
    for (const k of Object.keys(v)) if (!isPrivateKey(normalizeKey(k))) out[k] = publicValue(v[k])
    return out
  }
  return UNENCODABLE
}

/** The node message as `info` GET shows it. */
export function nodeInfo(ctx: ResolveContext): Message {
  const out = publicValue(ctx.node) as Message
  const address = ctx.wallet?.address
  if (address !== undefined) out['address'] = address
  return out
}

/** Request keys that describe the request, not the node: never adopted by an update. */
const NOT_ADOPTED = new Set([
  'path', 'method', 'commitments', 'accept-bundle', 'accept-codec', 'accept', 'codec-device', 'content-length',
  'content-type', 'content-digest', 'signature', 'signature-input', 'node_history', 'address', 'host',
])

async function updateNode(req: Message, ctx: ResolveContext): Promise<Outcome> {
  const initialized = directGet(ctx.node, 'initialized')
  if (text(initialized) === 'permanent') throw new Forbidden('the node message of this machine is permanent; it cannot be changed')
  await assertOperator(req, ctx, 'a node message update (POST ~meta@1.0/info)')
  // Adopt only what the operator signed: the committed keys of the HTTP
  // request, or of the request message when resolved in process.
  const update = signedKeys(req, ctx, NOT_ADOPTED)
  // Refused before anything is adopted (InvalidNodeOption, 400).
  checkNodeOptions(update)
  const node = ctx.node
  for (const k of Object.keys(update)) node[k] = update[k]!
  const old = directGet(node, 'node_history')
  const history = Array.isArray(old) ? old : isMessage(old) ? numberedToList(old) : []
  const newHistory = [...history, update]
  node['node_history'] = newHistory
  return ok(message({
    body: `Node message updated. History: ${newHistory.length} updates.`,
    'history-length': BigInt(newHistory.length),
  }))
}

export const metaDevice: Device = {
  name: META,
  info: () => ({ exports: ['info', 'build'] }),
  keys: {
    info: async (_base, req, ctx) => {
      const method = (text(directGet(req, 'method')) ?? 'GET').toUpperCase()
      if (method === 'POST') return updateNode(req, ctx)
      return ok(nodeInfo(ctx))
    },
    build: () => ok(message({ node: 'ao-tab', version: VERSION, compatible: 'HyperBEAM edge 3635c5e' })),
  },
}

// ---------------------------------------------------------------- the request pipeline

/**
 * Devices whose answers depend on the node's state or on other machines:
 * a request that names one is resolved without the result cache (HyperBEAM
 * caches them too and then serves stale node messages and relay answers).
 */
const VOLATILE_DEVICES = new Set(['meta@1.0', 'relay@1.0', 'router@1.0', 'scheduler@1.0', 'cron@1.0', 'push@1.0'])
/** Keys whose answer moves with the schedule (a process's `now`, `slot`, `schedule`): never served from the cache. */
const VOLATILE_KEYS = new Set(['now', 'slot', 'schedule'])

function namesVolatileDevice(list: PathItem[]): boolean {
  for (const item of list) {
    if (item instanceof As) {
      const d = item.device
      if (d instanceof Resolve) return true
      const name = text(d as Value)
      if (name !== undefined && VOLATILE_DEVICES.has(name.toLowerCase())) return true
      if (isMessage(item.msg) && namesVolatileMessage(item.msg)) return true
    } else if (item instanceof Resolve) {
      if (namesVolatileDevice(item.messages)) return true
    } else if (isMessage(item) && namesVolatileMessage(item)) return true
  }
  return false
}

function namesVolatileMessage(m: Message): boolean {
  const d = text(m['device'])
  if (d !== undefined && VOLATILE_DEVICES.has(d.toLowerCase())) return true
  const p = text(m['path'])
  return p !== undefined && p.split('/').some((part) => VOLATILE_KEYS.has(part.toLowerCase()))
}

/** Handlers of a hook in the node message's `on` (one message or a list). */
function hookHandlers(name: string, node: Message): Message[] {
  const on = directGet(node, 'on')
  if (!isMessage(on)) return []
  const h = directGet(on, name)
  if (h === undefined) return []
  if (Array.isArray(h)) return h.filter(isMessage)
  if (isMessage(h)) {
    const keys = Object.keys(h)
    if (keys.length > 0 && keys.every((k) => /^[1-9]\d*$/.test(k))) return numberedToList(h).filter(isMessage)
    return [h]
  }
  return []
}

function hookOption(handler: Message, key: string): string | undefined {
  const hook = directGet(handler, 'hook')
  if (isMessage(hook)) return text(directGet(hook, key))
  return text(directGet(handler, `hook/${key}`))
}

/**
 * dev_hook:on: run every handler of a hook in turn. Returns ok with the final
 * request message, or the first outcome whose status is not ok.
 */
export async function runHook(name: string, req: Message, ctx: ResolveContext): Promise<Outcome> {
  const handlers = hookHandlers(name, ctx.node)
  let current = req
  for (const handler of handlers) {
    const hreq = copy(current)
    hreq['path'] = text(directGet(handler, 'path')) ?? name
    hreq['method'] = text(directGet(handler, 'method')) ?? 'GET'
    let o: Outcome
    try {
      o = await ctx.resolve(handler, hreq, { hashpath: 'ignore', cacheControl: ['no-cache', 'no-store'] })
    } catch (e) {
      if (e instanceof AoError) throw e
      return { status: 'failure', value: `Handler for hook \`${name}\` raised an exception: ${(e as Error)?.message ?? String(e)}` }
    }
    const mode = hookOption(handler, 'result') ?? 'return'
    if (o.status === 'ok' && mode === 'ignore') continue
    if (o.status === 'ok' && mode === 'error') return { status: 'error', value: o.value }
    if (o.status !== 'ok') return o
    if (!isMessage(o.value)) return { status: 'failure', value: `Handler for hook \`${name}\` returned unexpected result.` }
    current = o.value
  }
  return ok(current)
}

/** dev_meta:resolve_hook: the hook's `body`, or an error. */
async function resolveHook(name: string, singleton: Message, body: unknown, ctx: ResolveContext): Promise<Outcome> {
  if (hookHandlers(name, ctx.node).length === 0) return ok(body as Value)
  const req = emptyMessage()
  req['request'] = singleton
  req['body'] = body as Value
  const o = await runHook(name, req, ctx)
  if (o.status === 'ok') {
    if (isMessage(o.value) && 'body' in o.value) return ok(o.value['body']!)
    return { status: 'error', value: o.value as Value }
  }
  return o
}

/** embed_status: the result as a message with its HTTP `status` (unless `status` is committed). */
export function embedStatus(o: Outcome): Message {
  if (isMessage(o.value) && !(o.value instanceof As) && !(o.value instanceof Resolve)) {
    if (committedKeysOf(o.value).includes('status')) return o.value
    const out = copy(o.value)
    out['status'] = BigInt(httpStatus(o))
    return out
  }
  return message({ status: BigInt(httpStatus(o)), body: o.value as Value })
}

const asList = (v: Value | PathItem): PathItem[] | undefined =>
  Array.isArray(v) ? (v as PathItem[]) : isMessage(v) ? (numberedToList(v) as PathItem[]) : undefined

const isInitialized = (node: Message): boolean => {
  const v = directGet(node, 'initialized')
  return !(v === false || text(v) === 'false')
}

/** Before initialization only `~meta@1.0/info` is served (handle_initialize). */
async function handleInitialize(list: PathItem[], ctx: ResolveContext): Promise<Outcome> {
  for (let i = 0; i + 1 < list.length; i++) {
    const item = list[i]!
    const dev = item instanceof As ? text(item.device as Value) : isMessage(item) ? text(item['device']) : undefined
    const next = list[i + 1]!
    if (dev?.toLowerCase() === META && isMessage(next) && text(next['path']) === 'info') {
      const base = item instanceof As && isMessage(item.msg) ? copy(item.msg) : isMessage(item) ? item : emptyMessage()
      return metaDevice.keys['info']!(base, next, ctx)
    }
  }
  return { status: 'error', value: 'Node must be initialized before use.' }
}

export interface HandleOptions {
  /** Verified signers of the singleton (from the HTTP layer). */
  signers?: string[]
  /** Keys covered by all of the singleton's commitments. */
  committed?: string[]
  /** The codec the reply will be encoded with (commitments made by `force_signed` use it). */
  commitmentDevice?: string
}

/**
 * dev_meta:handle — resolve an HTTP request message (the singleton) and
 * return the answer as a message carrying its HTTP `status`.
 */
export async function handleRequest(singleton: Message, baseCtx: ResolveContext, opts: HandleOptions = {}): Promise<Message> {
  const ctx = withRequestInfo(baseCtx, { singleton, signers: opts.signers ?? [], committed: opts.committed ?? [] })
  const list = parsePath(singleton)
  if (!isInitialized(ctx.node)) {
    const o = await handleInitialize(list, ctx)
    return embedStatus({ status: o.status, value: forceMessage(o.value) })
  }
  const pre = await resolveHook('request', singleton, list, ctx)
  if (pre.status !== 'ok') return embedStatus({ status: pre.status, value: forceMessage(pre.value) })
  const messages = asList(pre.value)
  if (messages === undefined) throw new BadInput('the request hook did not return a list of messages')
  const volatile = namesVolatileDevice(messages)
  const rctx: ResolveContext = { ...ctx, cacheControl: volatile ? ['no-cache', 'no-store'] : ['always'] }
  let res: Outcome
  try {
    res = await resolveManyOutcome(messages, rctx)
  } catch (e) {
    if (!(e instanceof MessageNotFound)) throw e
    // HyperBEAM: necessary_message_not_found → 404 with the missing ID.
    res = { status: 'error', value: message({ status: 404n, body: `Message necessary to resolve request not found: ${e.message}` }) }
  }
  const embedded = embedStatus({ status: res.status, value: forceMessage(res.value) })
  const post = await resolveHook('response', singleton, embedded, ctx)
  const out = embedStatus({ status: post.status, value: forceMessage(post.value) })
  return maybeSign(out, ctx, opts.commitmentDevice)
}

/** maybe_sign: with `force_signed`, an answer no one has signed is signed by the node. */
async function maybeSign(m: Message, ctx: ResolveContext, codec: string | undefined): Promise<Message> {
  const force = directGet(ctx.node, 'force_signed')
  if (!(force === true || text(force) === 'true') || !ctx.wallet || committersOf(m).length > 0) return m
  const device = codec === 'ans104@1.0' ? 'ans104@1.0' : HTTPSIG
  return commitMessage(m, { type: 'signed', wallet: ctx.wallet, device })
}

