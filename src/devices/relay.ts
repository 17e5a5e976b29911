/**
 * relay@1.0 (spec §4.7, HyperBEAM dev_relay): send a message to a peer over
 * HTTP and answer with the peer's response.
 *
 *   call     the message (`target`, default the base) with `path`, `method`,
 *            `body` and `device` taken as dev_relay does (base first, then the
 *            target, then `relay-path` / `relay-method` / `relay-body` /
 *            `relay-device` of the request), sent to `peer` + path, or, with
 *            no peer, wherever router@1.0's routes send the path (an
 *            absolute http(s) path goes where it says). The answer is the
 *            response decoded by its `codec-device` (httpsig by default) with
 *            an integer `status`; its status is ok (< 400, 201 created),
 *            error (4xx) or failure (5xx).
 *   cast     the same without waiting; answers "OK".
 *   request  a `request` hook: rewrites the HTTP request into a relay call.
 *
 * The network is `ctx.capabilities.fetch`, given at composition time; this
 * device never imports networking. `commit-request` needs the node option
 * `relay_allow_commit_request` (the node signs the relayed message).
 *
 * Requests are encoded as hb_http:prepare_request does: httpsig@1.0 with
 * nested messages inline (bundle) and `accept-bundle: true` unless given;
 * `codec-device: ans104@1.0` sends an ANS-104 item instead. Transport headers
 * (host, content-length, connection, …) are never relayed, and are dropped
 * from the peer's response, since they describe one hop, not the message.
 */
import { binaryOrAtomText } from '../core/value.ts'
import { Atom, emptyMessage, isMessage, message, type Binary, type Message, type Value } from '../core/value.ts'
import { ok, type Device, type Outcome, type ResolveContext, type Status } from '../core/device.ts'
import { normalizeKey } from '../core/keys.ts'
import { directGet } from '../core/resolver.ts'
import { tryUtf8, utf8 } from '../core/bytes.ts'
import { toTabm, fromTabm, listToNumbered } from '../codecs/structured.ts'
import { toHttp, fromHttp, type HttpMessage } from '../codecs/httpsig/index.ts'
import { tabmToItem, itemToTabm } from '../codecs/ans104/convert.ts'
import { parseItem, serializeItem } from '../codecs/ans104/data-item.ts'
import { jsonToMessage } from '../codecs/json.ts'
import { commitMessage } from '../codecs/commitments.ts'
import { BadInput, Forbidden, UnknownCodec, UpstreamFailed } from '../core/errors.ts'
import { routeMessage } from './router.ts'
import { committersOf, committedKeysOf } from './meta.ts'

export const RELAY = 'relay@1.0'

const text = binaryOrAtomText

// ---------------------------------------------------------------- HTTP ⇄ messages (shared with the HTTP server)

/** Headers that belong to one HTTP hop (RFC 9110 §7.6.1 and framing), never to a message. */
export const TRANSPORT_HEADERS = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'content-length',
  'host', 'expect', 'content-encoding',
])

/** A header value as its bytes (one char per byte, as HTTP stacks hand them over) back to a binary. */
export function headerToBinary(v: string): Binary {
  for (let i = 0; i < v.length; i++) {
    if (v.charCodeAt(i) > 0x7f) {
      const b = new Uint8Array(v.length)
      for (let j = 0; j < v.length; j++) b[j] = v.charCodeAt(j) & 0xff
      return tryUtf8(b) ?? b
    }
  }
  return v
}

/** A binary as a header value: its bytes, one char per byte (a ByteString). */
export function binaryToHeader(v: Binary): string {
  let bytes: Uint8Array
  if (typeof v === 'string') {
    let ascii = true
    for (let i = 0; i < v.length; i++) if (v.charCodeAt(i) > 0x7f) { ascii = false; break }
    if (ascii) return v
    bytes = utf8(v)
  } else bytes = v
  let s = ''
  for (let i = 0; i < bytes.length; i += 8192) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 8192) as unknown as number[])
  return s
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/

/** A field value HTTP can carry unchanged: no CR, LF or NUL, and no leading or trailing space (which would be trimmed). */
export function isHeaderSafe(v: string): boolean {
  if (v.length === 0) return true
  const first = v.charCodeAt(0)
  const last = v.charCodeAt(v.length - 1)
  if (first === 32 || first === 9 || last === 32 || last === 9) return false
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i)
    if (c === 10 || c === 13 || c === 0) return false
  }
  return true
}

export const isHeaderName = (k: string): boolean => TOKEN.test(k)

export interface HttpParts { headers: Record<string, string>; body?: Uint8Array }

/**
 * A message as HTTP header fields and body (httpsig@1.0): nested messages
 * inline as multipart when `bundle`, else as links. Throws BadInput when a
 * value cannot travel as a header.
 */
export function messageToHttpParts(msg: Message, opts: { bundle?: boolean; skip?: Set<string> } = {}): HttpParts {
  const http = toHttp(toTabm(msg, { linkify: opts.bundle ? false : 'discard' }))
  return httpToParts(http, opts.skip)
}

/** HttpMessage (codec output) → header strings and body bytes. */
export function httpToParts(http: HttpMessage, skip: Set<string> = TRANSPORT_HEADERS): HttpParts {
  const headers: Record<string, string> = Object.create(null)
  for (const k of Object.keys(http)) {
    if (k === 'body' || skip.has(k)) continue
    if (!isHeaderName(k)) throw new BadInput(`key ${JSON.stringify(k)} cannot be an HTTP header name`)
    const v = binaryToHeader(http[k]!)
    if (!isHeaderSafe(v)) throw new BadInput(`the value of ${JSON.stringify(k)} cannot travel as an HTTP header (line break or surrounding space)`)
    headers[k] = v
  }
  const body = http['body']
  return body === undefined ? { headers } : { headers, body: typeof body === 'string' ? utf8(body) : body }
}

/** HTTP status → AO-Core status (hb_http:request's BaseStatus). */
export function statusOfHttp(code: number): Status {
  if (code === 201) return 'created'
  if (code < 400) return 'ok'
  if (code < 500) return 'error'
  return 'failure'
}

/**
 * A peer's HTTP response as a message: decoded by its `codec-device`
 * (httpsig@1.0 by default, ans104@1.0, json@1.0), with `status` the integer
 * HTTP status (hb_http:http_response_to_httpsig).
 */
export function responseToMessage(status: number, headers: Iterable<[string, string]>, body: Uint8Array): Message {
  const http: HttpMessage = Object.create(null)
  for (const [k, v] of headers) {
    const name = k.toLowerCase()
    if (TRANSPORT_HEADERS.has(name)) continue
    http[name] = headerToBinary(v)
  }
  const codec = text(http['codec-device']) ?? 'httpsig@1.0'
  let m: Message
  if (codec === 'ans104@1.0') {
    const decoded = fromTabm(itemToTabm(parseItem(body)))
    m = isMessage(decoded) ? decoded : listToNumbered(decoded)
  } else if (codec === 'json@1.0') {
    m = jsonToMessage(new TextDecoder().decode(body))
  } else {
    http['status'] = String(status)
    if (body.length > 0) http['body'] = tryUtf8(body) ?? body
    const decoded = fromTabm(fromHttp(http))
    m = isMessage(decoded) ? decoded : listToNumbered(decoded)
  }
  m['status'] = BigInt(status)
  return m
}

// ---------------------------------------------------------------- call

function firstOf(pairs: Array<[Message, string]>): Value | undefined {
  for (const [m, k] of pairs) {
    const v = directGet(m, k)
    if (v !== undefined) return v
  }
  return undefined
}

/** hb_message:find_target: `target` names a key of the request (default: the base itself). */
function findTarget(base: Message, req: Message): Message {
  const t = text(directGet(req, 'target'))
  if (t === undefined || t === 'self') return base
  const v = directGet(req, t) ?? directGet(req, 'body')
  if (!isMessage(v)) throw new BadInput(`relay target ${JSON.stringify(t)} is not a message in the request`)
  return v
}

interface Outgoing { method: string; url: string; message: Message }

const joinUrl = (peer: string, path: string): string =>
  peer.replace(/\/+$/, '') + (path.startsWith('/') ? path : '/' + path)

/** The URI of a route, with the message's path when the route names only a host. */
function uriWithPath(uri: string, path: string): string {
  let u: URL
  try { u = new URL(uri) } catch { throw new BadInput(`route gives an invalid URI ${JSON.stringify(uri)}`) }
  if ((u.pathname === '/' || u.pathname === '') && u.search === '' && !/^[a-z]+:\/\/[^/]+\/./i.test(uri)) return joinUrl(uri, path)
  return uri
}

async function destinations(peer: string | undefined, path: string, msg: Message, ctx: ResolveContext): Promise<string[]> {
  if (peer !== undefined) return [joinUrl(peer, path)]
  if (path.startsWith('http://') || path.startsWith('https://')) return [path]
  const routed = await routeMessage(message({ ...msg, path }), ctx)
  if (routed === undefined) throw new UpstreamFailed(`relay: no peer given and no route matches ${JSON.stringify(path)}`)
  if (typeof routed === 'string') return [uriWithPath(routed, path)]
  if ('uri' in routed && typeof routed.uri === 'string') return [uriWithPath(routed.uri, path)]
  const nodes = directGet(routed as Message, 'nodes')
  const list = Array.isArray(nodes) ? nodes : []
  const out: string[] = []
  for (const n of list) {
    const u = isMessage(n) ? text(directGet(n, 'uri')) ?? text(directGet(n, 'prefix')) : text(n)
    if (u !== undefined) out.push(uriWithPath(u, path))
  }
  if (out.length === 0) throw new UpstreamFailed(`relay: the route for ${JSON.stringify(path)} names no reachable node`)
  return out
}

async function prepare(base: Message, req: Message, ctx: ResolveContext): Promise<{ out: Outgoing[] }> {
  const target = findTarget(base, req)
  const path = text(firstOf([[base, 'path'], [target, 'path'], [req, 'relay-path'], [base, 'relay-path']]))
  const device = firstOf([[base, 'relay-device'], [target, 'relay-device'], [req, 'relay-device']])
  const peer = text(firstOf([[base, 'peer'], [target, 'peer'], [req, 'peer']]))
  const method = (text(firstOf([[base, 'method'], [target, 'method'], [req, 'relay-method'], [base, 'relay-method'], [req, 'method']])) ?? 'GET').toUpperCase()
  const body = firstOf([[base, 'body'], [target, 'body'], [req, 'relay-body'], [base, 'relay-body'], [req, 'body']])
  const commit = firstOf([[target, 'commit-request'], [req, 'relay-commit-request'], [base, 'relay-commit-request'], [req, 'commit-request'], [base, 'commit-request']])
  if (path === undefined) throw new BadInput('relay: no path to relay to (give `relay-path`)')
  let msg = emptyMessage()
  for (const k of Object.keys(target)) {
    const nk = normalizeKey(k)
    if (nk === 'device' || TRANSPORT_HEADERS.has(nk)) continue
    msg[k] = target[k]!
  }
  // With `target: body` the request's body *is* the target: it is not also its own body
  // (HyperBEAM nests it, then sends a GET with a body).
  if (body !== undefined && body !== target) msg['body'] = body
  msg['method'] = method
  msg['path'] = path
  if (device !== undefined) msg['device'] = device
  if (commit === true || text(commit) === 'true') {
    const allowed = directGet(ctx.node, 'relay_allow_commit_request')
    if (!(allowed === true || text(allowed) === 'true')) throw new Forbidden('relay: commit-request is not allowed on this node (relay_allow_commit_request)')
    if (!ctx.wallet) throw new Forbidden('relay: this node has no wallet to commit the request with')
    msg = await commitMessage(msg, { type: 'signed', wallet: ctx.wallet })
  }
  const urls = await destinations(peer, path, msg, ctx)
  return { out: urls.map((url) => ({ method, url, message: msg })) }
}

/** hb_http:prepare_request: the Request for one outgoing message. */
export function buildRequest(o: Outgoing): Request {
  const m = o.message
  const codec = text(directGet(m, 'codec-device')) ?? 'httpsig@1.0'
  let headers: Record<string, string>
  let body: Uint8Array | undefined
  if (codec === 'ans104@1.0') {
    const signers = committersOf(m)
    let only = m
    if (signers.length > 0) {
      only = emptyMessage()
      for (const k of [...committedKeysOf(m), 'commitments']) { const v = directGet(m, k); if (v !== undefined) only[k] = v }
    }
    body = serializeItem(tabmToItem(toTabm(only, { linkify: 'discard' })))
    const ab = directGet(m, 'accept-bundle')
    headers = { 'codec-device': 'ans104@1.0', 'content-type': 'application/ans104', 'accept-bundle': ab === undefined ? 'true' : text(ab) ?? String(ab) }
  } else if (codec === 'httpsig@1.0') {
    const withBundle = directGet(m, 'accept-bundle') === undefined ? { ...m, 'accept-bundle': true } as Message : m
    const parts = messageToHttpParts(withBundle, { bundle: true })
    headers = parts.headers
    body = parts.body
  } else throw new UnknownCodec(`relay: cannot send a message with codec ${JSON.stringify(codec)}`)
  if ((o.method === 'GET' || o.method === 'HEAD') && body !== undefined && body.length > 0) {
    throw new BadInput(`relay: a ${o.method} request cannot carry a body; relay it with method POST`)
  }
  return new Request(o.url, { method: o.method, headers, body: body && body.length > 0 ? (body as Uint8Array<ArrayBuffer>) : undefined })
}

async function send(o: Outgoing, ctx: ResolveContext): Promise<Outcome> {
  const fetchFn = ctx.capabilities.fetch
  if (!fetchFn) throw new UpstreamFailed('relay: this node has no network capability (fetch)')
  const request = buildRequest(o)
  let res: Response
  try {
    res = await fetchFn(request)
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } })?.cause
    throw new UpstreamFailed(`relay: ${o.method} ${o.url} failed: ${cause?.code ?? cause?.message ?? (e as Error)?.message ?? String(e)}`)
  }
  const body = new Uint8Array(await res.arrayBuffer())
  const headers: Array<[string, string]> = []
  res.headers.forEach((v, k) => headers.push([k, v]))
  return { status: statusOfHttp(res.status), value: responseToMessage(res.status, headers, body) }
}

async function call(base: Message, req: Message, ctx: ResolveContext): Promise<Outcome> {
  const { out } = await prepare(base, req, ctx)
  let last: unknown
  for (const o of out) {
    try {
      return await send(o, ctx)
    } catch (e) {
      last = e
    }
  }
  throw last
}

export const relayDevice: Device = {
  name: RELAY,
  info: () => ({ exports: ['call', 'cast', 'request'] }),
  keys: {
    call,
    cast: (base, req, ctx) => {
      call(base, req, ctx).catch(() => { /* a cast has no one to answer */ })
      return ok('OK')
    },
    request: (_base, req) => ok(message({
      body: [
        message({ device: RELAY }),
        message({ path: 'call', target: 'body', body: directGet(req, 'request') ?? emptyMessage() }),
      ],
    })),
  },
}
