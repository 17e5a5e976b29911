/**
 * httpsig@1.0 wire encoding (spec §3.6): TABM ⇄ HTTP headers + body,
 * including `ao-ids`, the inline body key and HyperBEAM's multipart layout
 * (parts sorted by name, boundary = b64url(sha256(parts joined by CRLF))).
 */
import { emptyTabm, isTabm, type Tabm } from '../tabm.ts'
import type { Binary } from '../../core/value.ts'
import { isIdShaped, normalizeKey, sortKeys } from '../../core/keys.ts'
import { concatBytes, fromUtf8, toB64Url, tryUtf8, utf8, utf8Length } from '../../core/bytes.ts'
import { sha256 } from '../../crypto/hash.ts'
import { sfString } from './sf.ts'
import { bodyDigest } from './digest.ts'
import { MAX_HEADER_LENGTH, type HttpMessage } from './types.ts'
import { InvalidMultipart, InvalidStructuredField } from '../../core/errors.ts'
import { parseItem } from 'structured-headers'
import { flatToTabm } from '../flat.ts'

const CRLF = '\r\n'
const byteLen = (b: Binary): number => (typeof b === 'string' ? utf8Length(b) : b.length)
const asBytes = (b: Binary): Uint8Array => (typeof b === 'string' ? utf8(b) : b)
const isEmpty = (b: Binary): boolean => b.length === 0

/** The key whose value is the inline body, and the header that records it (if any). */
export function inlineKey(m: Tabm | HttpMessage): [string, Record<string, string>] {
  const explicit = m['ao-body-key']
  if (explicit !== undefined && !isTabm(explicit)) return [binText(explicit), {}]
  if ('body' in m) return ['body', {}]
  if ('data' in m) return ['data', { 'ao-body-key': 'data' }]
  return ['body', {}]
}

const binText = (b: Binary): string => (typeof b === 'string' ? b : fromUtf8(b))

/**
 * Encode a TABM (without commitments) as HTTP fields. Signature headers are
 * added by the caller (see codec.ts) from the commitments.
 */
export function tabmToHttp(tabm: Tabm, nested = false): HttpMessage {
  const stripped = emptyTabm()
  for (const k of Object.keys(tabm)) {
    // A message's own signature headers come from its commitments; inside a
    // multipart part, `signature` and `signature-input` are plain fields (a
    // nested commitment's signature), kept.
    if (k === 'commitments' || k === 'priv' || (!nested && (k === 'signature' || k === 'signature-input'))) continue
    stripped[k] = tabm[k]!
  }
  const grouped = groupIds(stripped)
  const [inline, inlineHeaders] = inlineKey(grouped)
  const headers: HttpMessage = Object.assign(Object.create(null), inlineHeaders)
  const bodyMap = emptyTabm()
  let hasBody = false
  for (const k of Object.keys(grouped)) {
    const v = grouped[k]!
    if (k === 'body' || k === inline) { bodyMap[k] = v; hasBody = true; continue }
    const nk = normalizeKey(k)
    if (isTabm(v) || byteLen(v) > MAX_HEADER_LENGTH) { bodyMap[nk] = v; hasBody = true } else headers[nk] = v
  }
  if (!hasBody) return headers
  const parts = groupMaps(bodyMap, '', new Map())
  if (parts.size === 0) return headers
  const only = parts.size === 1 ? parts.get(inline) : undefined
  let body: Binary
  if (only !== undefined && !isTabm(only)) {
    body = only
  } else {
    const names = sortKeys([...parts.keys()])
    const encoded: Uint8Array[] = names.map((name) => {
      const v = parts.get(name)!
      if (isTabm(v) && Object.keys(v).length === 1 && 'body' in v) return encodePart(name + '/body', v, 'body')
      return encodePart(name, v, inline)
    })
    const joined = joinBytes(encoded, utf8(CRLF))
    const boundary = toB64Url(sha256(joined))
    const chunks: Uint8Array[] = []
    for (let i = 0; i < encoded.length; i++) {
      if (i > 0) chunks.push(utf8(CRLF))
      chunks.push(utf8(`--${boundary}${CRLF}`), encoded[i]!)
    }
    chunks.push(utf8(`${CRLF}--${boundary}--`))
    body = bytesToBinary(concatBytes(...chunks))
    headers['content-type'] = `multipart/form-data; boundary="${boundary}"`
  }
  if (!isEmpty(body)) {
    headers['body'] = body
    headers['content-digest'] = bodyDigest(body)
  }
  return headers
}

/** Prefer a string when the bytes are UTF-8 (cheaper to handle downstream). */
function bytesToBinary(b: Uint8Array): Binary {
  const s = tryUtf8(b)
  return s === null ? b : s
}

function joinBytes(parts: Uint8Array[], sep: Uint8Array): Uint8Array {
  const all: Uint8Array[] = []
  parts.forEach((p, i) => { if (i > 0) all.push(sep); all.push(p) })
  return concatBytes(...all)
}

/** group_ids: ID-shaped keys with binary values travel in one `ao-ids` header (case kept). */
function groupIds(m: Tabm): Tabm {
  const ids: string[] = []
  for (const k of Object.keys(m)) if (isIdShaped(k) && !isTabm(m[k])) ids.push(k)
  if (ids.length === 0) return m
  const out = emptyTabm()
  for (const k of Object.keys(m)) if (!ids.includes(k)) out[k] = m[k]!
  sortKeys(ids)
  out['ao-ids'] = ids.map((k) => `${k}=${sfString(binText(m[k] as Binary))}`).join(', ')
  return out
}

/**
 * group_maps: flatten nested maps into parts named by path. Small binaries
 * stay in their part; large ones and sub-maps become parts of their own.
 */
function groupMaps(map: Tabm, parent: string, top: Map<string, Binary | Tabm>): Map<string, Binary | Tabm> {
  const flattened = emptyTabm()
  let flatCount = 0
  for (const key of Object.keys(map)) {
    const v = map[key]!
    const nk = normalizeKey(key)
    const flatK = parent === '' ? nk : `${parent}/${nk}`
    if (isTabm(v)) {
      if (Object.keys(v).length === 0) top.set(flatK, { 'ao-types': 'empty-message' } as Tabm)
      else groupMaps(v, flatK, top)
    } else if (parent !== '' && byteLen(v) > MAX_HEADER_LENGTH) {
      top.set(flatK, v)
    } else {
      flattened[nk] = v
      flatCount++
    }
  }
  if (flatCount > 0) {
    if (parent === '') for (const k of Object.keys(flattened)) top.set(k, flattened[k]!)
    else top.set(parent, flattened)
  }
  return top
}

/** One multipart part: its header lines (sorted), a blank line, its body. */
function encodePart(name: string, value: Binary | Tabm, inline: string): Uint8Array {
  const disposition = name === inline ? 'inline' : `form-data;name="${name}"`
  if (!isTabm(value)) return concatBytes(utf8(`content-disposition: ${disposition}${CRLF}${CRLF}`), asBytes(value))
  const withDisp = emptyTabm()
  for (const k of Object.keys(value)) withDisp[k] = value[k]!
  withDisp['content-disposition'] = disposition
  return encodeHttpMessage(tabmToHttp(withDisp, true))
}

/** Headers as `name: value` lines in sorted order, then CRLF CRLF and the body if any. */
export function encodeHttpMessage(http: HttpMessage): Uint8Array {
  const names = sortKeys(Object.keys(http).filter((k) => k !== 'body' && k !== 'priv'))
  const lines: Uint8Array[] = []
  names.forEach((n, i) => {
    if (i > 0) lines.push(utf8(CRLF))
    lines.push(utf8(n + ': '), asBytes(http[n]!))
  })
  const body = http['body']
  if (body === undefined || isEmpty(body)) return concatBytes(...lines)
  return concatBytes(...lines, utf8(CRLF + CRLF), asBytes(body))
}

// ------------------------------------------------------------------ decoding

export interface DecodedBody { orderedBodyKeys: string[]; tabm: Tabm }

/** body_to_tabm: split a (multipart) body into TABM fields. */
export function bodyToTabm(http: HttpMessage): DecodedBody {
  const body = http['body']
  if (body === undefined) return { orderedBodyKeys: [], tabm: emptyTabm() }
  const [inline] = inlineKey(http)
  const ct = http['content-type']
  const boundary = ct === undefined ? undefined : multipartBoundary(binText(ct))
  if (boundary === undefined) {
    const t = emptyTabm()
    t[inline] = body
    return { orderedBodyKeys: [inline], tabm: t }
  }
  const parts = splitMultipart(asBytes(body), boundary)
  const flat = emptyTabm()
  const order: string[] = []
  for (const part of parts) {
    const [name, parsed] = parsePart(inline, part)
    flat[name] = parsed
    const first = name.split('/')[0]!
    if (!order.includes(first)) order.push(first)
  }
  return { orderedBodyKeys: order, tabm: flatToTabm(flat) }
}

function multipartBoundary(ct: string): string | undefined {
  let params: Map<string, unknown>
  try {
    params = parseItem(ct)[1] as Map<string, unknown>
  } catch {
    return undefined
  }
  const b = params.get('boundary')
  if (b === undefined) return undefined
  if (typeof b === 'string') return b
  if (typeof b === 'object' && b !== null && 'toString' in b) return String(b)
  throw new InvalidMultipart('multipart boundary is not a string')
}

function indexOf(hay: Uint8Array, needle: Uint8Array, from = 0): number {
  const n = needle.length
  const first = needle[0]
  outer: for (let i = hay.indexOf(first!, from); i !== -1 && i + n <= hay.length; i = hay.indexOf(first!, i + 1)) {
    for (let j = 1; j < n; j++) if (hay[i + j] !== needle[j]) continue outer
    return i
  }
  return -1
}

function splitMultipart(body: Uint8Array, boundary: string): Uint8Array[] {
  const beg = utf8(`--${boundary}${CRLF}`)
  const end = utf8(`${CRLF}--${boundary}--`)
  const s = indexOf(body, beg)
  const e = indexOf(body, end)
  if (s < 0 || e < 0 || e < s + beg.length) throw new InvalidMultipart('multipart body does not match its boundary')
  const inner = body.subarray(s + beg.length, e)
  const sep = utf8(`${CRLF}--${boundary}`)
  const parts: Uint8Array[] = []
  let from = 0
  for (;;) {
    const i = indexOf(inner, sep, from)
    if (i < 0) { parts.push(inner.subarray(from)); break }
    parts.push(inner.subarray(from, i))
    from = i + sep.length
    // A part after a separator starts with CRLF.
    if (inner[from] === 13 && inner[from + 1] === 10) from += 2
  }
  return parts
}

function parsePart(inline: string, part: Uint8Array): [string, Binary | Tabm] {
  const dbl = indexOf(part, utf8(CRLF + CRLF))
  const headBytes = dbl < 0 ? part : part.subarray(0, dbl)
  const rawBody = dbl < 0 ? new Uint8Array(0) : part.subarray(dbl + 4)
  const headers = Object.create(null) as Record<string, Binary>
  const headText = tryUtf8(headBytes)
  if (headText === null) throw new InvalidMultipart('multipart part headers are not UTF-8')
  for (const line of headText.split(CRLF)) {
    if (line === '') continue
    const i = line.indexOf(': ')
    if (i < 0) continue
    headers[line.slice(0, i)] = line.slice(i + 2)
  }
  const disp = headers['content-disposition']
  if (disp === undefined) throw new InvalidMultipart('multipart part has no content-disposition')
  let name: string
  try {
    const [token, params] = parseItem(binText(disp)) as [unknown, Map<string, unknown>]
    if (String(token) === 'inline') name = inline
    else {
      const n = params.get('name')
      if (n === undefined) throw new InvalidMultipart('multipart part has no name')
      name = String(n)
    }
  } catch (e) {
    if (e instanceof InvalidMultipart) throw e
    throw new InvalidStructuredField('bad content-disposition in multipart part')
  }
  const rest = emptyTabm()
  for (const k of Object.keys(headers)) {
    if (k === 'content-disposition' || k === 'ao-body-key' || k === 'content-digest') continue
    // Only a multipart content-type is framing; any other is a field of the part's message.
    if (k === 'content-type' && binText(headers[k]!).startsWith('multipart/')) continue
    rest[k] = headers[k]!
  }
  const body = bytesToBinary(rawBody)
  const restKeys = Object.keys(rest).filter((k) => k !== 'ao-types')
  const types = rest['ao-types']
  if (restKeys.length === 0 && types === 'empty-message' && rawBody.length === 0) return [name, emptyTabm()]
  // A part's ID-shaped keys travel in its own `ao-ids` header, as at the top level.
  if (rawBody.length === 0) return [name, ungroupIds(rest)]
  if (restKeys.length === 0 && types === undefined) return [name, body]
  const [bodyKey] = inlineKey(headers)
  rest[bodyKey] = body
  return [name, ungroupIds(rest)]
}

/** ungroup_ids: `ao-ids` back into ID-named keys. */
export function ungroupIds(t: Tabm): Tabm {
  const ids = t['ao-ids']
  if (ids === undefined || isTabm(ids)) return t
  let dict: Map<string, unknown>
  try {
    dict = parseIdDictionary(binText(ids))
  } catch {
    throw new InvalidStructuredField('bad ao-ids header')
  }
  const out = emptyTabm()
  for (const k of Object.keys(t)) if (k !== 'ao-ids') out[k] = t[k]!
  for (const [k, v] of dict) out[k] = String(v)
  return out
}

/** ao-ids keys keep their case, which standard SF parsers refuse: parse key=string pairs ourselves. */
function parseIdDictionary(s: string): Map<string, string> {
  const out = new Map<string, string>()
  const re = /\s*([A-Za-z0-9_\-.*%]+)="((?:[^"\\]|\\.)*)"\s*(?:,|$)/y
  let i = 0
  while (i < s.length) {
    re.lastIndex = i
    const m = re.exec(s)
    if (!m) throw new InvalidStructuredField('bad ao-ids entry')
    out.set(m[1]!, m[2]!.replace(/\\(.)/g, '$1'))
    i = re.lastIndex
  }
  return out
}

