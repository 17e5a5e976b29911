/**
 * HyperBEAM's HTTP API (spec §5; hb_http_server, hb_http) as one handler
 * over Web-standard Request and Response, so that the same code serves
 * `ao serve` in Node and a service worker or Web Worker in the browser.
 *
 * Request → message (hb_http:req_to_tabm_singleton):
 *   - `codec-device` header: httpsig@1.0 (default) decodes the headers and
 *     body (multipart included); ans104@1.0 reads the body as a data item,
 *     which must be signed and verify; json@1.0 reads a JSON body.
 *   - A committed request must verify, whatever the node's options (HyperBEAM
 *     checks only with `force_signed_requests`): a request whose commitments
 *     do not verify is refused with 400. Then only its committed keys are
 *     kept (with_only_committed). A signed request is stored under its ID
 *     unless `store_all_signed` is false.
 *   - normalize_unsigned: `method` is the HTTP method; `path` is the
 *     message's own, else the `path` header, else the request target (path
 *     and query, as sent); `accept-bundle` the message's, else false.
 *   - Transport headers (host, content-length, connection, transfer-encoding,
 *     …) are dropped unless committed: they describe the hop, not the message.
 *     HyperBEAM keeps `host` and the like.
 * Paths of newer HyperBEAM that aoconnect requests are first read as edge
 * 3635c5e paths (`newerPathForms`).
 * Dispatch: meta@1.0's pipeline (devices/meta.ts `handleRequest`).
 * Reply (hb_http:reply):
 *   - status: the result's `status`, else 200;
 *   - codec: the request's `require-codec` (newer HyperBEAM; aoconnect), else
 *     its `accept-codec`, else its `accept` (`application/X`
 *     is X@1.0 for a codec we have, `device/NAME` is NAME), else the node's
 *     `default_codec`, else httpsig@1.0;
 *   - httpsig: headers and body of the encoded message; nested messages are
 *     links (their messages written to the store, so `/<ID>` serves them), or
 *     inline multipart with `accept-bundle: true`;
 *   - json@1.0: the JSON text plus every top-level scalar as a header; a
 *     nested `{content-type: application/json, body}` is written as that JSON;
 *   - ans104@1.0: the binary item (only its signers' commitments),
 *     `content-type: application/ans104`; flat@1.0: the flat text.
 *   - CORS on every reply; OPTIONS is a 204 preflight.
 * Errors never escape: an AoError answers with its status, a message
 * {status, error: <class>, body: "<class>: <reason>"} in the requested codec;
 * anything else is a 500. `/` with no query redirects (302) to the node's
 * `default_request` (default `/~meta@1.0/info`).
 */
import { binaryOrAtomText } from '../core/value.ts'
import { Atom, emptyMessage, message, type Binary, type Message, type Value } from '../core/value.ts'
import { directGet } from '../core/resolver.ts'
import { tryUtf8 } from '../core/bytes.ts'
import { messageId } from '../core/id.ts'
import { AoError, InvalidCommitment, UnknownCodec } from '../core/errors.ts'
import { toTabm, fromTabm, listToNumbered } from '../codecs/structured.ts'
import { toHttp, fromHttp, commitmentsOf, type HttpMessage } from '../codecs/httpsig/index.ts'
import { verifyMessage } from '../codecs/commitments.ts'
import { tabmToItem, itemToTabm } from '../codecs/ans104/convert.ts'
import { parseItem, serializeItem, verifyItem } from '../codecs/ans104/data-item.ts'
import { jsonToMessage, tabmToJson } from '../codecs/json.ts'
import { serializeFlat, tabmToFlat } from '../codecs/flat.ts'
import { isTabm, type Tabm } from '../codecs/tabm.ts'
import { isPrivateKey, sortKeys } from '../core/keys.ts'
import { handleRequest, committedKeysOf, committersOf } from '../devices/meta.ts'
import { TRANSPORT_HEADERS, binaryToHeader, headerToBinary, httpToParts, isHeaderName, isHeaderSafe } from '../devices/relay.ts'
import type { AoNode } from './node.ts'

export const DEFAULT_CODEC = 'httpsig@1.0'
/** Codecs this server can encode replies with. */
export const REPLY_CODECS = new Set(['httpsig@1.0', 'json@1.0', 'ans104@1.0', 'flat@1.0'])

const CORS_METHODS = 'GET, POST, PUT, DELETE, OPTIONS'
const PREFLIGHT_METHODS = 'GET, POST, PUT, DELETE, OPTIONS, PATCH'
const NULL_BODY = new Set([101, 103, 204, 205, 304])

const text = binaryOrAtomText

const isTrue = (v: Value | undefined): boolean => v === true || text(v) === 'true'

export async function handleHttp(node: AoNode, request: Request): Promise<Response> {
  return toResponse(await handleHttpReply(node, request))
}

/** An answer before it becomes a Response: what a server writes (ao serve skips the Response object). */
export interface HttpReply {
  status: number
  headers: Record<string, string>
  body: Uint8Array | null
}

export function toResponse(r: HttpReply): Response {
  return new Response(r.body as Uint8Array<ArrayBuffer> | null, { status: r.status, headers: r.headers })
}

/** handleHttp without building the Response. */
export async function handleHttpReply(node: AoNode, request: Request): Promise<HttpReply> {
  const requestHeaders = request.headers.get('access-control-request-headers') ?? ''
  if (request.method === 'OPTIONS') return preflight(requestHeaders)
  let singleton: Message | undefined
  try {
    const target = newerPathForms(requestTarget(request.url))
    if (target === '/') {
      const location = text(directGet(node.config, 'default_request')) ?? '/~meta@1.0/info'
      return { status: 302, headers: withCors({ location }, requestHeaders), body: null }
    }
    const incoming = await requestToMessage(node, request, target)
    singleton = incoming.message
    const codec = acceptCodec(singleton, node)
    if (!REPLY_CODECS.has(codec)) throw new UnknownCodec(`cannot answer with codec ${JSON.stringify(codec)} (one of ${[...REPLY_CODECS].join(', ')})`)
    const result = await handleRequest(singleton, node.context(), {
      signers: incoming.signers, committed: incoming.committed, commitmentDevice: codec,
    })
    return await encodeReply(node, result, codec, isTrue(directGet(singleton, 'accept-bundle')), requestHeaders)
  } catch (e) {
    return errorReply(node, singleton, request, e, requestHeaders)
  }
}

// ---------------------------------------------------------------- request → message

const ID = '[A-Za-z0-9_-]{43}'
const RESULTS_AT = new RegExp(`^/(${ID})(?:~process@1\\.0)?/compute/results=(\\d+)(\\?.*)?$`)
const DRYRUN = new RegExp(`^/(${ID})~process@1\\.0/as=execution/compute((?:&[^/?]*)?)(\\?.*)?$`)

/**
 * Paths of newer HyperBEAM that aoconnect's mainnet mode requests, in the
 * HyperPATH of edge 3635c5e (which reads `results=5` and `as=execution` as key
 * names). Nothing else is touched.
 *   /<pid>[~process@1.0]/compute/results=<n>
 *       → /<pid>~process@1.0/compute&slot+integer=<n>/results   (result, results)
 *   /<pid>~process@1.0/as=execution/compute&K=V…
 *       → /~genesis-wasm@1.0/dryrun&process=<pid>&K=V…           (dryrun)
 */
export function newerPathForms(target: string): string {
  const r = RESULTS_AT.exec(target)
  if (r) return `/${r[1]}~process@1.0/compute&slot+integer=${r[2]}/results${r[3] ?? ''}`
  const d = DRYRUN.exec(target)
  if (d) return `/~genesis-wasm@1.0/dryrun&process=${d[1]}${d[2] ?? ''}${d[3] ?? ''}`
  return target
}

/** The request target as sent: path and query, without scheme, authority or fragment. */
export function requestTarget(url: string): string {
  const scheme = url.indexOf('://')
  const start = url.indexOf('/', scheme < 0 ? 0 : scheme + 3)
  if (start < 0) return '/'
  const hash = url.indexOf('#', start)
  return hash < 0 ? url.slice(start) : url.slice(start, hash)
}

export interface IncomingMessage {
  message: Message
  /** Committers whose commitments verified (none for an unsigned request). */
  signers: string[]
  /** Keys covered by all of the request's commitments. */
  committed: string[]
}

const asMessage = (v: Message | Value[]): Message => (Array.isArray(v) ? listToNumbered(v) : v)

function keepOnly(m: Message, keys: string[]): Message {
  const out = emptyMessage()
  for (const k of keys) if (k in m) out[k] = m[k]!
  if ('commitments' in m) out['commitments'] = m['commitments']!
  return out
}

/** Decode, verify and normalize an HTTP request into the request message (the singleton). */
export async function requestToMessage(node: AoNode, request: Request, target: string): Promise<IncomingMessage> {
  const http: HttpMessage = Object.create(null)
  request.headers.forEach((value, name) => { http[name] = headerToBinary(value) })
  let bodyBytes: Uint8Array | undefined
  if (request.body !== null) {
    const b = new Uint8Array(await request.arrayBuffer())
    if (b.length > 0) bodyBytes = b
  }
  const codec = text(http['codec-device']) ?? DEFAULT_CODEC
  let msg: Message
  let signers: string[] = []
  let committed: string[] = []
  if (codec === 'ans104@1.0') {
    if (!bodyBytes) throw new InvalidCommitment('an ans104@1.0 request needs a data item as its body')
    const item = parseItem(bodyBytes)
    if (!(await verifyItem(item))) throw new InvalidCommitment('the ans104@1.0 data item of the request is not signed or does not verify')
    msg = asMessage(fromTabm(itemToTabm(item)))
    signers = committersOf(msg)
    committed = Object.keys(msg).filter((k) => k !== 'commitments')
  } else {
    if (codec === 'httpsig@1.0') {
      if (bodyBytes) http['body'] = tryUtf8(bodyBytes) ?? bodyBytes
      msg = asMessage(fromTabm(fromHttp(http)))
    } else if (codec === 'json@1.0') {
      // As HyperBEAM: the message is the decoded body alone.
      msg = bodyBytes ? jsonToMessage(new TextDecoder().decode(bodyBytes)) : emptyMessage()
    } else throw new UnknownCodec(`unknown codec-device ${JSON.stringify(codec)}`)
    if (Object.keys(commitmentsOf(msg)).length > 0) {
      const v = await verifyMessage(msg)
      if (!v.verified) throw new InvalidCommitment('the request is committed (signed) but its commitments do not verify: the message was changed after signing, or the signature is wrong')
      signers = v.committers
      committed = committedKeysOf(msg)
      msg = keepOnly(msg, committed)
    }
  }
  // Transport headers describe one hop: dropped unless committed.
  for (const k of Object.keys(msg)) if (TRANSPORT_HEADERS.has(k) && !committed.includes(k)) delete msg[k]
  if (signers.length > 0 && directGet(node.config, 'store_all_signed') !== false) {
    await node.store.write(messageId(msg, 'signed'), msg)
  }
  // normalize_unsigned
  const path = directGet(msg, 'path') ?? http['path'] ?? target
  msg['method'] = request.method
  msg['path'] = path
  if (!('accept-bundle' in msg)) msg['accept-bundle'] = http['accept-bundle'] ?? false
  return { message: msg, signers, committed }
}

/** A codec named as a device (`json@1.0`) or a media type (`application/json`, `device/json@1.0`). */
function codecNamed(v: string): string | undefined {
  const mime = v.split(',')[0]!.split(';')[0]!.trim().toLowerCase()
  if (mime.startsWith('device/')) return mime.slice(7)
  if (mime.startsWith('application/')) {
    const sub = mime.slice(12)
    const name = sub.includes('@') ? sub : `${sub}@1.0`
    if (REPLY_CODECS.has(name)) return name
  }
  return undefined
}

/**
 * hb_http:accept_to_codec, plus `require-codec` (newer HyperBEAM; aoconnect's
 * mainnet mode sends `require-codec: application/json` and parses the body as
 * JSON), which comes first.
 */
export function acceptCodec(req: Message | undefined, node: AoNode, headers?: Headers): string {
  const get = (k: string): string | undefined => (req ? text(directGet(req, k)) : headers?.get(k) ?? undefined)
  const required = get('require-codec')
  if (required !== undefined) return codecNamed(required) ?? required
  const fromKey = get('accept-codec')
  if (fromKey !== undefined) return fromKey
  const accept = get('accept')
  if (accept !== undefined) {
    const named = codecNamed(accept)
    if (named !== undefined) return named
  }
  return text(directGet(node.config, 'default_codec')) ?? DEFAULT_CODEC
}

// ---------------------------------------------------------------- message → reply

function withCors(headers: Record<string, string>, requestHeaders: string): Record<string, string> {
  if (!('access-control-allow-origin' in headers)) headers['access-control-allow-origin'] = '*'
  if (!('access-control-allow-methods' in headers)) headers['access-control-allow-methods'] = CORS_METHODS
  if (!('access-control-expose-headers' in headers)) headers['access-control-expose-headers'] = '*'
  if (requestHeaders !== '' && !('access-control-allow-headers' in headers)) headers['access-control-allow-headers'] = requestHeaders
  return headers
}

function preflight(requestHeaders: string): HttpReply {
  return {
    status: 204,
    headers: {
      'access-control-allow-origin': '*',
      'access-control-allow-headers': requestHeaders === '' ? '*' : requestHeaders,
      'access-control-allow-methods': PREFLIGHT_METHODS,
      'access-control-max-age': '600',
    },
    body: null,
  }
}

/** The HTTP status of a result message: its `status` (integer or numeric text), else 200; out of range → 500. */
export function replyStatus(m: Message): number {
  const s = directGet(m, 'status')
  let n = 200
  if (typeof s === 'bigint') n = Number(s)
  else {
    const t = text(s)
    if (t !== undefined && /^\d+$/.test(t)) n = Number(t)
  }
  return n >= 200 && n <= 599 ? n : 500
}

/** Headers a reply never takes from a message: the server frames the response itself. */
const REPLY_SKIP = new Set([...TRANSPORT_HEADERS].filter((h) => h !== 'host'))

function scalarHeaders(t: ReturnType<typeof toTabm>, into: Record<string, string>): void {
  for (const k of Object.keys(t)) {
    if (k === 'body' || k === 'priv' || k === 'ao-types' || REPLY_SKIP.has(k) || !isHeaderName(k) || k in into) continue
    const v = t[k]!
    if (isTabm(v)) continue
    const h = binaryToHeader(v as Binary)
    if (h.length <= 4096 && isHeaderSafe(h)) into[k] = h
  }
}

/** Encode a result message as the Response for a request. */
export async function encodeReply(node: AoNode, msg: Message, codec: string, bundle: boolean, requestHeaders: string): Promise<HttpReply> {
  const status = replyStatus(msg)
  let headers: Record<string, string>
  let body: Uint8Array | undefined
  switch (codec) {
    case 'httpsig@1.0': {
      const writes: Promise<void>[] = []
      const t = bundle
        ? toTabm(msg, { linkify: false })
        : toTabm(msg, { linkify: 'offload', offload: (id, child) => { writes.push(node.store.write(id, child)) } })
      if (writes.length > 0) await Promise.all(writes)
      const parts = httpToParts(toHttp(t), REPLY_SKIP)
      headers = parts.headers
      body = parts.body
      break
    }
    case 'json@1.0': {
      const t = toTabm(msg, { linkify: false })
      body = new TextEncoder().encode(jsonEmbedding(t))
      headers = { 'codec-device': codec, 'content-type': 'application/json' }
      scalarHeaders(t, headers)
      break
    }
    case 'ans104@1.0': {
      const signers = committersOf(msg)
      const only = emptyMessage()
      for (const k of Object.keys(msg)) if (k !== 'commitments') only[k] = msg[k]!
      const comms = commitmentsOf(msg)
      const kept = emptyMessage()
      for (const id of Object.keys(comms)) if (signers.includes(text(comms[id]!['committer']) ?? '')) kept[id] = comms[id]!
      if (Object.keys(kept).length > 0) only['commitments'] = kept
      body = serializeItem(tabmToItem(toTabm(only, { linkify: 'discard' })))
      headers = { 'codec-device': codec, 'content-type': 'application/ans104' }
      break
    }
    case 'flat@1.0': {
      const t = toTabm(msg, { linkify: false })
      body = serializeFlat(tabmToFlat(t))
      headers = { 'codec-device': codec }
      scalarHeaders(t, headers)
      break
    }
    default:
      throw new UnknownCodec(`cannot answer with codec ${JSON.stringify(codec)}`)
  }
  withCors(headers, requestHeaders)
  return { status, headers, body: NULL_BODY.has(status) || body === undefined || body.length === 0 ? null : body }
}

/** A nested `{content-type: application/json, body: <JSON text>}`: its JSON text, else undefined. */
function embeddedJson(t: Tabm): string | undefined {
  const keys = Object.keys(t)
  if (keys.length !== 2 || t['content-type'] !== 'application/json') return undefined
  const b = t['body']
  const s = typeof b === 'string' ? b : b instanceof Uint8Array ? tryUtf8(b) : null
  if (s === null || s === undefined) return undefined
  try { return JSON.stringify(JSON.parse(s)) } catch { return undefined }
}

/**
 * json@1.0 as codecs/json.ts writes it, except that a nested JSON document
 * (`{content-type: application/json, body}`, as HyperBEAM keeps a compute
 * unit's answer) is written as JSON rather than as a string of JSON: aoconnect
 * reads `raw.Output` from a result (src/devices/genesis-wasm.ts).
 */
function jsonEmbedding(t: Tabm): string {
  const has = (v: Tabm): boolean => Object.values(v).some((x) => isTabm(x) && (embeddedJson(x) !== undefined || has(x)))
  if (!has(t)) return tabmToJson(t)
  const keys = sortKeys(Object.keys(t).filter((k) => !isPrivateKey(k)))
  return '{' + keys.map((k) => {
    const v = t[k]!
    if (isTabm(v)) return JSON.stringify(k) + ':' + (embeddedJson(v) ?? jsonEmbedding(v))
    return tabmToJson({ [k]: v } as Tabm).slice(1, -1)
  }).join(',') + '}'
}

async function errorReply(node: AoNode, singleton: Message | undefined, request: Request, e: unknown, requestHeaders: string): Promise<HttpReply> {
  const known = e instanceof AoError
  const status = known ? e.status : 500
  const name = known ? e.name : 'InternalError'
  const reason = (e as Error)?.message ?? String(e)
  if (!known) console.error('ao: unexpected error while answering', request.method, request.url, e)
  const msg = message({ status: BigInt(status), error: name, body: `${name}: ${reason}` })
  try {
    let codec = acceptCodec(singleton, node, singleton ? undefined : request.headers)
    if (!REPLY_CODECS.has(codec)) codec = DEFAULT_CODEC
    return await encodeReply(node, msg, codec, false, requestHeaders)
  } catch {
    return {
      status: status >= 200 && status <= 599 ? status : 500,
      headers: withCors({ 'content-type': 'text/plain; charset=utf-8' }, requestHeaders),
      body: new TextEncoder().encode(`${name}: ${reason.replace(/[\r\n]+/g, ' ')}\n`),
    }
  }
}

