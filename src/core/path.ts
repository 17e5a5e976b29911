/**
 * HyperPATH (spec §1.3), as HyperBEAM edge 3635c5e does it:
 *
 *   parsePath   = hb_singleton:from/2  (an HTTP request → the list of messages to resolve)
 *   renderPath  = hb_singleton:to/1    (the inverse)
 *   pathParts   = hb_path:term_to_path_parts/1
 *
 * Everything HyperBEAM does on the way is reproduced, quirks included:
 *   - the query string is parsed as cow_qs does (`+` is a space, `%XX`, a bare
 *     key is the atom true, `=` without a name is an error); query pairs
 *     override the request's other keys;
 *   - path segments are percent-decoded *twice* (uri_string:unquote in
 *     parse_full_path and again in path_messages) and must be UTF-8; `/` is
 *     split outside parentheses before and after decoding; a segment over 512
 *     bytes is rejected;
 *   - a segment of 32, 42 or 43 bytes is an ID, whatever its content;
 *   - `(…)` is a sub-resolution, `key~dev&k=v` an {as, dev, msg}, `&k=v`
 *     inline keys, `&k` the atom true, `k+type=v` a typed value through
 *     dev_codec_structured:decode_value (integer, float, atom, list, map;
 *     `resolve` makes a sub-resolution); a `+` or a space directly in a
 *     segment's key is an error (parse_part_mods has no clause for it);
 *   - integer/atom values go through HyperBEAM's structured-field item
 *     parser: `x+integer=abc` yields a token, which structured@1.0 then drops,
 *     so the key disappears;
 *   - request/query keys `N.key` apply to step N (0 = the base), other keys to
 *     every map step (the prepended base included) and to an `{as, D, M}`
 *     step only when M's path is empty; a key with one dot whose front is not
 *     an integer is an error;
 *   - every map step is then converted through structured@1.0 (to TABM and
 *     back): keys lower-cased, private keys and `content-digest` /
 *     `unsigned_id` dropped, integers limited to 15 digits, values that have
 *     no encoding dropped, nested maps and lists linkified (see `offload`).
 *
 * Internally the path is handled as a "byte string": one char per byte
 * (0..255), so byte lengths, ID checks and percent-decoding are exact. Text
 * becomes a Binary again (string if UTF-8, else Uint8Array) at the edges.
 * Each level of parentheses is scanned in linear passes; nesting is capped
 * (default 64) so hostile input costs at most O(depth × length).
 */
import { Atom, Float, Link, atom, atomName, emptyMessage, isAtom, isBinary, isMessage, type Binary, type Message, type Value } from './value.ts'
import { As, Resolve, type PathItem } from './typed-json.ts'
import { isPrivateKey, normalizeKey } from './keys.ts'
import { compareUtf8, fromB64, tryUtf8, utf8 } from './bytes.ts'
import { InvalidPath, PathSegmentTooLong, PathTooDeep, UnknownPathType } from './errors.ts'

/** HyperBEAM's ?MAX_SEGMENT_LENGTH. */
export const MAX_SEGMENT_LENGTH = 512
/** Default cap on nested sub-paths (HyperBEAM has none; 512-byte segments bound it near 255). */
export const MAX_PATH_DEPTH = 64

export interface PathOptions {
  /**
   * structured@1.0 replaces each nested map or list of a step by a link to
   * it, after writing it to the cache (hb_link:normalize, offload mode).
   * Given this callback, parsePath does the same: it is called with the
   * child, must store it and return its ID (HyperBEAM: hb_message:id(Child,
   * all)), and the step gets a Link. Without it the child stays inline.
   */
  offload?: (child: Message | Value[]) => string
  /** Maximum nesting of sub-paths; deeper input throws PathTooDeep. */
  maxDepth?: number
}

// ---------------------------------------------------------------- byte strings

const ASCII_ONLY = /^[\x00-\x7f]*$/

function bytesToBs(b: Uint8Array): string {
  let out = ''
  for (let i = 0; i < b.length; i += 8192) {
    out += String.fromCharCode.apply(null, b.subarray(i, i + 8192) as unknown as number[])
  }
  return out
}

function bsToBytes(bs: string): Uint8Array {
  const b = new Uint8Array(bs.length)
  for (let i = 0; i < bs.length; i++) b[i] = bs.charCodeAt(i)
  return b
}

/** A JS string without lone surrogates (so it has a UTF-8 encoding). */
function wellFormed(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0xd800 || c > 0xdfff) continue
    if (c > 0xdbff || i + 1 >= s.length) return false
    const d = s.charCodeAt(i + 1)
    if (d < 0xdc00 || d > 0xdfff) return false
    i++
  }
  return true
}

/** A text as its UTF-8 bytes, one char per byte. */
function textToBs(s: string): string {
  if (ASCII_ONLY.test(s)) return s
  if (!wellFormed(s)) throw new InvalidPath('text is not well-formed Unicode (lone surrogate)')
  return bytesToBs(utf8(s))
}

const binaryToBs = (b: Binary): string => (typeof b === 'string' ? textToBs(b) : bytesToBs(b))

/** Bytes back to a Binary: a string when they are UTF-8, else a Uint8Array. */
function bsToBinary(bs: string): Binary {
  if (ASCII_ONLY.test(bs)) return bs
  const bytes = bsToBytes(bs)
  return tryUtf8(bytes) ?? bytes
}

/** Bytes back to a map key (keys are strings here, so they must be UTF-8). */
function bsToKey(bs: string): string {
  if (ASCII_ONLY.test(bs)) return bs
  const s = tryUtf8(bsToBytes(bs))
  if (s === null) throw new InvalidPath(`key is not UTF-8: ${JSON.stringify(bs.slice(0, 64))}`)
  return s
}

/** Strict UTF-8 check over a byte string (unicode:characters_to_list on a binary). */
function isUtf8Bs(s: string): boolean {
  const n = s.length
  let i = 0
  while (i < n) {
    const c = s.charCodeAt(i)
    if (c < 0x80) { i++; continue }
    let need: number
    let cp: number
    if (c >= 0xc2 && c <= 0xdf) { need = 1; cp = c & 0x1f }
    else if (c >= 0xe0 && c <= 0xef) { need = 2; cp = c & 0x0f }
    else if (c >= 0xf0 && c <= 0xf4) { need = 3; cp = c & 0x07 }
    else return false
    if (i + need >= n) return false
    for (let k = 1; k <= need; k++) {
      const d = s.charCodeAt(i + k)
      if ((d & 0xc0) !== 0x80) return false
      cp = (cp << 6) | (d & 0x3f)
    }
    if (need === 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) return false
    if (need === 3 && (cp < 0x10000 || cp > 0x10ffff)) return false
    i += need + 1
  }
  return true
}

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48
  if (c >= 65 && c <= 70) return c - 55
  if (c >= 97 && c <= 102) return c - 87
  return -1
}

const isIdLength = (n: number): boolean => n === 32 || n === 42 || n === 43

// ---------------------------------------------------------------- splitting

/** Separator sets of hb_singleton:part/2. */
const SEP_SLASH = '/'
const SEP_AMP = '&'
const SEP_MODS = '&~+ '
const SEP_TYPE = '+ '
const SEP_EQ = '=&'

/**
 * hb_singleton:part: the index of the first separator at parenthesis depth
 * 0, or -1. `(` always opens; `)` closes only when something is open.
 */
function findSep(s: string, from: number, seps: string): number {
  let depth = 0
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c === 40) depth++
    else if (c === 41 && depth > 0) depth--
    else if (depth === 0 && seps.indexOf(s[i]!) >= 0) return i
  }
  return -1
}

/** hb_singleton:path_parts: split outside parentheses, drop empty parts, reject parts over 512 bytes. */
function splitParts(s: string, sep: string): string[] {
  const out: string[] = []
  let start = 0
  while (start < s.length) {
    const i = findSep(s, start, sep)
    const end = i < 0 ? s.length : i
    const len = end - start
    if (len > MAX_SEGMENT_LENGTH) {
      throw new PathSegmentTooLong(`path segment of ${len} bytes exceeds ${MAX_SEGMENT_LENGTH}: ${JSON.stringify(s.slice(start, start + 32))}…`)
    }
    if (len > 0) out.push(s.slice(start, end))
    if (i < 0) break
    start = i + 1
  }
  return out
}

// ---------------------------------------------------------------- decoding

/** uri_string:unquote on a binary: `%XX` with two hex digits; a `%` with fewer than two bytes after it stays; the result must be UTF-8. */
function unquote(bs: string): string {
  let out = bs
  if (bs.indexOf('%') >= 0) {
    let acc = ''
    let last = 0
    for (let i = 0; i < bs.length; i++) {
      if (bs.charCodeAt(i) !== 37) continue
      if (i + 2 >= bs.length) break
      const h = hexVal(bs.charCodeAt(i + 1))
      const l = hexVal(bs.charCodeAt(i + 2))
      if (h < 0 || l < 0) throw new InvalidPath(`invalid percent-encoding: ${JSON.stringify(bs.slice(i, i + 3))}`)
      acc += bs.slice(last, i) + String.fromCharCode(h * 16 + l)
      last = i + 3
      i += 2
    }
    out = acc + bs.slice(last)
  }
  if (!ASCII_ONLY.test(out) && !isUtf8Bs(out)) throw new InvalidPath('percent-decoded path segment is not UTF-8')
  return out
}

/** cow_qs:urldecode: `+` is a space, `%XX` a byte; any other `%` is an error. No UTF-8 check. */
function urldecode(bs: string): string {
  if (bs.indexOf('%') < 0 && bs.indexOf('+') < 0) return bs
  let out = ''
  for (let i = 0; i < bs.length; i++) {
    const c = bs.charCodeAt(i)
    if (c === 43) out += ' '
    else if (c === 37) {
      const h = i + 2 < bs.length ? hexVal(bs.charCodeAt(i + 1)) : -1
      const l = i + 2 < bs.length ? hexVal(bs.charCodeAt(i + 2)) : -1
      if (h < 0 || l < 0) throw new InvalidPath(`invalid query string escape: ${JSON.stringify(bs.slice(i, i + 3))}`)
      out += String.fromCharCode(h * 16 + l)
      i += 2
    } else out += bs[i]
  }
  return out
}

/** cow_qs:parse_qs (cowlib 1c3d5de): pairs in order; a name without `=` is the atom true. */
function parseQs(qs: string): Array<[string, Binary | true]> {
  const out: Array<[string, Binary | true]> = []
  let i = 0
  const n = qs.length
  while (i <= n) {
    let j = i
    while (j < n && qs[j] !== '&' && qs[j] !== '=') j++
    if (j === n) {
      if (j > i) out.push([urldecode(qs.slice(i, j)), true])
      break
    }
    if (qs[j] === '&') {
      if (j > i) out.push([urldecode(qs.slice(i, j)), true])
      i = j + 1
      continue
    }
    // '='
    if (j === i) throw new InvalidPath('query string pair without a name')
    const name = urldecode(qs.slice(i, j))
    let k = j + 1
    while (k < n && qs[k] !== '&') k++
    out.push([name, bsToBinary(urldecode(qs.slice(j + 1, k)))])
    i = k + 1
  }
  return out
}

// ---------------------------------------------------------------- HyperBEAM's structured-field items

/** A bare item HyperBEAM carries as a tuple ({token,_}, {string,_}, {binary,_}, {decimal,_}): no encoding, dropped by structured@1.0. */
class Opaque { constructor(readonly kind: string, readonly text: string) {} }

type Bare =
  | { t: 'int'; v: bigint }
  | { t: 'dec'; base: bigint; exp: number }
  | { t: 'str' | 'tok' | 'bin'; v: string /* byte string */ }
  | { t: 'bool'; v: boolean }

const isDigit = (c: number): boolean => c >= 48 && c <= 57
const isAlpha = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122)
const isLcAlpha = (c: number): boolean => c >= 97 && c <= 122
const TOKEN_EXTRA = "!#$%&'*+-.^_`|~:/"
const isTokenChar = (c: number): boolean => isAlpha(c) || isDigit(c) || (c < 128 && TOKEN_EXTRA.indexOf(String.fromCharCode(c)) >= 0)

const sfFail = (what: string, s: string): never => {
  throw new InvalidPath(`cannot parse ${what}: ${JSON.stringify(s.slice(0, 64))}`)
}

/** hb_structured_fields:parse_bare_item, at s[i]. */
function parseBare(s: string, i: number): [Bare, number] {
  const c = s.charCodeAt(i)
  if (c === 45 || isDigit(c)) return parseNumber(s, i)
  if (c === 34) {
    let v = ''
    let k = i + 1
    for (;;) {
      if (k >= s.length) sfFail('string', s)
      const d = s.charCodeAt(k)
      if (d === 92) {
        const e = s.charCodeAt(k + 1)
        if (e !== 34 && e !== 92) sfFail('string escape', s)
        v += s[k + 1]
        k += 2
      } else if (d === 34) return [{ t: 'str', v }, k + 1]
      else if ((d >= 0x20 && d <= 0x21) || (d >= 0x23 && d <= 0x5b) || (d >= 0x5d && d <= 0x7e)) { v += s[k]; k++ }
      else sfFail('string', s)
    }
  }
  if (isAlpha(c) || c === 42) {
    let k = i + 1
    while (k < s.length && isTokenChar(s.charCodeAt(k))) k++
    return [{ t: 'tok', v: s.slice(i, k) }, k]
  }
  if (c === 58) {
    let k = i + 1
    for (;;) {
      if (k >= s.length) sfFail('byte sequence', s)
      const d = s.charCodeAt(k)
      if (d === 58) break
      if (!(isAlpha(d) || isDigit(d) || d === 43 || d === 47 || d === 61)) sfFail('byte sequence', s)
      k++
    }
    const b64 = s.slice(i + 1, k)
    if (b64.length % 4 !== 0) sfFail('byte sequence', s)
    let bytes: Uint8Array
    try { bytes = fromB64(b64) } catch { return sfFail('byte sequence', s) }
    return [{ t: 'bin', v: bytesToBs(bytes) }, k + 1]
  }
  if (c === 63 && (s[i + 1] === '0' || s[i + 1] === '1')) return [{ t: 'bool', v: s[i + 1] === '1' }, i + 2]
  return sfFail('structured-field item', s)
}

/** parse_number / parse_decimal, with HyperBEAM's limits (15 integer digits; 12.3 decimals) and rounding quirks. */
function parseNumber(s: string, i: number): [Bare, number] {
  const start = i
  let len = 0
  if (s.charCodeAt(i) === 45) i++
  while (i < s.length && isDigit(s.charCodeAt(i))) { i++; len++ }
  const intText = s.slice(start, i)
  if (s.charCodeAt(i) !== 46) {
    if (len > 15 || len === 0) sfFail('integer', s)
    return [{ t: 'int', v: BigInt(intText) }, i]
  }
  i++
  const fracStart = i
  while (i < s.length && isDigit(s.charCodeAt(i))) i++
  let frac = s.slice(fracStart, i)
  if (len > 12 || frac.length < 1 || frac.length > 3 || intText === '-') sfFail('decimal', s)
  // The trailing-zero trimming of parse_decimal, clause by clause.
  if (frac === '0' || frac === '00' || frac === '000') frac = ''
  else if (frac.length === 3 && frac[2] === '0') frac = frac.slice(0, 2)
  else if (frac.length === 3 && frac[1] === '0' && frac[2] === '0') frac = frac.slice(0, 1)
  else if (frac.length === 2 && frac[1] === '0') frac = frac.slice(0, 1)
  const mul = 10n ** BigInt(frac.length)
  const int = BigInt(intText)
  const f = frac === '' ? 0n : int < 0n ? -BigInt(frac) : BigInt(frac)
  return [{ t: 'dec', base: int * mul + f, exp: -frac.length }, i]
}

/** parse_before_param / parse_param: parameters are parsed (they can fail) and ignored. */
function skipParams(s: string, i: number): number {
  for (;;) {
    // s[i] is just after a ';'
    while (s.charCodeAt(i) === 32) i++
    const c = s.charCodeAt(i)
    if (!(isLcAlpha(c) || c === 42)) sfFail('parameter', s)
    i++
    for (;;) {
      const d = s.charCodeAt(i)
      if (d === 59) { i++; break }
      if (d === 61) {
        const [, k] = parseBare(s, i + 1)
        if (s.charCodeAt(k) === 59) { i = k + 1; break }
        return k
      }
      if (isLcAlpha(d) || isDigit(d) || d === 95 || d === 45 || d === 46 || d === 42) { i++; continue }
      return i
    }
  }
}

/** parse_item1: a bare item and its parameters. */
function parseItemAt(s: string, i: number): [Bare, number] {
  const [bare, k] = parseBare(s, i)
  return [bare, s.charCodeAt(k) === 59 ? skipParams(s, k + 1) : k]
}

/** parse_item: the whole input must be one item. */
function parseItem(s: string): Bare {
  const [bare, k] = parseItemAt(s, 0)
  if (k !== s.length) sfFail('structured-field item', s)
  return bare
}

const isSpace = (c: number): boolean => c === 32 || c === 9

/** parse_list; inner lists make HyperBEAM's decode_value crash, so they are errors here. */
function parseList(s: string): Bare[] {
  const out: Bare[] = []
  if (s === '') return out
  let i = 0
  for (;;) {
    while (isSpace(s.charCodeAt(i))) i++
    if (s.charCodeAt(i) === 40) sfFail('list (inner lists are not supported)', s)
    const [item, k] = parseItemAt(s, i)
    out.push(item)
    i = k
    while (isSpace(s.charCodeAt(i))) i++
    if (i >= s.length) return out
    if (s.charCodeAt(i) !== 44) sfFail('list', s)
    i++
  }
}

const isDictKeyChar = (c: number): boolean =>
  isAlpha(c) || isDigit(c) || c === 95 || c === 45 || c === 46 || c === 42 || c === 37

/** parse_dictionary in HyperBEAM's dialect (upper case and `%` in keys; `.` may start only the first key). */
function parseDict(s: string): Array<[string, Bare]> {
  const out: Array<[string, Bare]> = []
  if (s === '') return out
  let i = 0
  let first = true
  for (;;) {
    if (!first) while (isSpace(s.charCodeAt(i))) i++
    const c = s.charCodeAt(i)
    if (!(isAlpha(c) || isDigit(c) || c === 42 || c === 37 || c === 95 || c === 45 || (first && c === 46))) sfFail('dictionary key', s)
    first = false
    const ks = i
    i++
    while (i < s.length && isDictKeyChar(s.charCodeAt(i))) i++
    const key = s.slice(ks, i)
    let value: Bare = { t: 'bool', v: true }
    if (s.charCodeAt(i) === 61) {
      if (s.charCodeAt(i + 1) === 40) sfFail('dictionary (inner lists are not supported)', s)
      const [item, k] = parseItemAt(s, i + 1)
      value = item
      i = k
    } else if (s.charCodeAt(i) === 59) {
      i = skipParams(s, i + 1)
    }
    const at = out.findIndex(([k]) => k === key)
    if (at >= 0) out[at] = [key, value]
    else out.push([key, value])
    while (isSpace(s.charCodeAt(i))) i++
    if (i >= s.length) return out
    if (s.charCodeAt(i) !== 44) sfFail('dictionary', s)
    i++
  }
}

/** bare_item({decimal, …}) then list_to_float: the text HyperBEAM renders a decimal as. */
function decimalToFloat(base: bigint, exp: number): Float {
  let text: string
  if (exp >= 0) text = `${base}.0`
  else {
    const div = 10n ** BigInt(-exp)
    const int = base / div
    const frac = (base < 0n ? -base : base) % div
    text = `${int}.${frac}`
  }
  return new Float(Number(text))
}

/** An atom from hb_util:atom (list_to_existing_atom: every name is accepted here). */
function atomFromBs(bs: string): boolean | null | Atom {
  if (!ASCII_ONLY.test(bs)) {
    const s = tryUtf8(bsToBytes(bs))
    if (s === null) throw new InvalidPath('atom name is not UTF-8')
    return atom(s)
  }
  return atom(bs)
}

/** hb_structured_fields:from_bare_item. */
function fromBare(b: Bare): Value {
  switch (b.t) {
    case 'int': return b.v
    case 'bool': return b.v
    case 'dec': return decimalToFloat(b.base, b.exp)
    case 'str': return bsToBinary(b.v)
    case 'tok': return atomFromBs(b.v)
    case 'bin': return bsToBinary(b.v)
  }
}

/** Erlang's binary_to_float syntax: digits, a point, digits, an optional exponent. */
const ERLANG_FLOAT = /^[+-]?[0-9]+\.[0-9]+(?:[eE][+-]?[0-9]+)?$/

const asciiLower = (s: string): string => s.replace(/[A-Z]/g, (c) => c.toLowerCase())

/**
 * dev_codec_structured:decode_value(Type, Binary) on a byte string. Only
 * integer, float, atom, list and map exist as types there: any other name
 * is badarg or unexpected_type.
 */
function decodeValue(typeBs: string, v: string): Value | Opaque {
  const type = asciiLower(typeBs)
  switch (type) {
    case 'integer': {
      const b = parseItem(v)
      if (b.t === 'int' || b.t === 'bool') return b.v
      return new Opaque(b.t, v)
    }
    case 'float': {
      if (!ERLANG_FLOAT.test(v)) throw new InvalidPath(`not a float: ${JSON.stringify(v.slice(0, 64))}`)
      const x = Number(v)
      if (!Number.isFinite(x)) throw new InvalidPath(`float out of range: ${v.slice(0, 64)}`)
      return new Float(x)
    }
    case 'atom': {
      const b = parseItem(v)
      if (b.t === 'str' || b.t === 'tok' || b.t === 'bin') return atomFromBs(b.v)
      throw new InvalidPath(`not an atom: ${JSON.stringify(v.slice(0, 64))}`)
    }
    case 'list':
      return parseList(v).map((b) => {
        if (b.t === 'str' && b.v.startsWith('(ao-type-')) {
          const rest = b.v.slice(9)
          const at = rest.indexOf(') ')
          if (at < 0) throw new InvalidPath(`bad typed list item: ${JSON.stringify(b.v.slice(0, 64))}`)
          const item = decodeValue(rest.slice(0, at), rest.slice(at + 2))
          if (item instanceof Opaque) throw new InvalidPath(`list item has no encoding: ${JSON.stringify(b.v.slice(0, 64))}`)
          return item
        }
        return fromBare(b)
      })
    case 'map': {
      const m = emptyMessage()
      for (const [k, b] of parseDict(v)) m[bsToKey(k)] = fromBare(b)
      return m
    }
    default:
      throw new UnknownPathType(`unknown type ${JSON.stringify(bsToBinary(typeBs))}`)
  }
}

// ---------------------------------------------------------------- hb_singleton:from

/** A value still in path bytes (parse_inlined_key_val's V before maybe_typed). */
class BsVal { constructor(readonly bs: string) {} }
/** A nested map or list kept inline where HyperBEAM would leave a link (no `offload` given). */
class Inline { constructor(readonly value: Message | Value[]) {} }
/** A typed scalar in TABM form (its text; the type is in ao-types). */
class Encoded { constructor(readonly text: string) {} }

type Raw = Value | Resolve | Opaque
/** A step map before structured@1.0 conversion; keys are byte strings. */
type RawMap = Map<string, Raw>
class RawAs { constructor(readonly device: Binary | Resolve, readonly msg: RawMap) {} }
type Step = Binary | Resolve | RawAs | RawMap

/** A map in the message model (isMessage also accepts this module's helper objects). */
const isPlainMessage = (v: unknown): v is Message =>
  isMessage(v) && !(v instanceof Resolve || v instanceof As || v instanceof Opaque || v instanceof BsVal || v instanceof Inline || v instanceof Encoded)

interface Ctx { offload: ((child: Message | Value[]) => string) | undefined; maxDepth: number }

/** hb_singleton:from(Req): the request's `path` and other keys → the messages to resolve. */
export function parsePath(request: Message, opts: PathOptions = {}): PathItem[] {
  if (!isPlainMessage(request)) throw new InvalidPath('a path request must be a message')
  const ctx: Ctx = { offload: opts.offload, maxDepth: opts.maxDepth ?? MAX_PATH_DEPTH }
  const raw = request['path']
  let pathBs: string
  if (raw === undefined) pathBs = ''
  else if (typeof raw === 'string') pathBs = textToBs(raw)
  else if (raw instanceof Uint8Array) pathBs = bytesToBs(raw)
  else throw new InvalidPath('path must be a binary')
  const extra: Map<string, Raw | BsVal> = new Map()
  for (const key of Object.keys(request)) {
    if (key === 'path') continue
    extra.set(textToBs(key), request[key]!)
  }
  return fromBs(pathBs, extra, 0, ctx)
}

/** parsePath({path}) */
export const parsePathString = (path: string, opts?: PathOptions): PathItem[] => {
  const m = emptyMessage()
  m['path'] = path
  return parsePath(m, opts)
}

function fromBs(pathBs: string, extra: Map<string, Raw | BsVal>, depth: number, ctx: Ctx): PathItem[] {
  if (depth > ctx.maxDepth) throw new PathTooDeep(`sub-paths nested deeper than ${ctx.maxDepth}`)
  // parse_full_path: query string first, then the raw segments (512-byte check), then one unquote each.
  const q = pathBs.indexOf('?')
  const pathPart = q < 0 ? pathBs : pathBs.slice(0, q)
  const query = q < 0 ? [] : parseQs(pathBs.slice(q + 1))
  const decoded = splitParts(pathPart, SEP_SLASH).map(unquote)
  // path_messages: a second unquote, a second split, then one step per part.
  const steps: Step[] = []
  for (const seg of decoded) {
    for (const part of splitParts(unquote(seg), SEP_SLASH)) steps.push(parsePart(part, depth, ctx))
  }
  // normalize_base
  const head = steps[0]
  if (head !== undefined && !(isBinary(head) || head instanceof RawAs || head instanceof Resolve)) steps.unshift(new Map())
  // The request's keys (minus path) overridden by the query's.
  const merged = new Map(extra)
  for (const [k, v] of query) merged.set(k, v)
  const scoped = groupScoped(applyTypes(merged, depth, ctx), steps.length)
  return steps.map((s, i) => buildStep(s, scoped[i]!, ctx))
}

/** parse_part: an ID, a `(sub/path)`, or `key` with `~device` and `&k=v` modifiers. */
function parsePart(part: string, depth: number, ctx: Ctx): Step {
  if (isIdLength(part.length)) return bsToBinary(part)
  const sub = maybeSubpath(part, depth, ctx)
  if (sub !== null) return sub
  const at = findSep(part, 0, SEP_MODS)
  const msg: RawMap = new Map()
  msg.set('path', bsToBinary(at < 0 ? part : part.slice(0, at)))
  if (at < 0) return msg
  const sep = part[at]
  const rest = part.slice(at + 1)
  if (sep === '&') {
    applyInline(rest, msg, depth, ctx)
    return msg
  }
  if (sep === '~') {
    const amp = findSep(rest, 0, SEP_AMP)
    applyInline(amp < 0 ? '' : rest.slice(amp + 1), msg, depth, ctx)
    const device = amp < 0 ? rest : rest.slice(0, amp)
    return new RawAs(maybeSubpath(device, depth, ctx) ?? bsToBinary(device), msg)
  }
  // parse_part_mods has no clause for `+` or a space after the key.
  throw new InvalidPath(`unexpected ${sep === ' ' ? 'space' : "'+'"} in path segment ${JSON.stringify(bsToBinary(part))}`)
}

/** maybe_subpath: `(…)` (at least two bytes) is resolved as a path of its own. */
function maybeSubpath(s: string, depth: number, ctx: Ctx): Resolve | null {
  if (s.length < 2 || s.charCodeAt(0) !== 40 || s.charCodeAt(s.length - 1) !== 41) return null
  return new Resolve(fromBs(s.slice(1, -1), new Map(), depth + 1, ctx))
}

/** parse_part_mods `&…`: `k=v`, `k+type=v`, bare `k` (true). */
function applyInline(bs: string, msg: RawMap, depth: number, ctx: Ctx): void {
  for (const pair of splitParts(bs, SEP_AMP)) {
    const eq = findSep(pair, 0, SEP_EQ)
    if (eq < 0) { msg.set(pair, true); continue }
    const v = pair.slice(eq + 1)
    const [k, val] = maybeTyped(pair.slice(0, eq), maybeSubpath(v, depth, ctx) ?? new BsVal(v), depth, ctx)
    msg.set(k, val)
  }
}

/** maybe_typed: `key+type` (or `key type`) applies a type to the value. */
function maybeTyped(keyBs: string, value: Raw | BsVal, depth: number, ctx: Ctx): [string, Raw] {
  const at = findSep(keyBs, 0, SEP_TYPE)
  if (at < 0) return [keyBs, value instanceof BsVal ? bsToBinary(value.bs) : value]
  const key = keyBs.slice(0, at)
  const type = keyBs.slice(at + 1)
  const bs = value instanceof BsVal ? value.bs : isBinary(value) ? binaryToBs(value) : null
  if (type === 'resolve') {
    if (bs === null) throw new InvalidPath(`${JSON.stringify(bsToBinary(keyBs))} needs a path (a binary) to resolve`)
    return [key, new Resolve(fromBs(bs, new Map(), depth + 1, ctx))]
  }
  if (bs === null) throw new InvalidPath(`typed key ${JSON.stringify(bsToBinary(keyBs))} needs a binary value`)
  return [key, decodeValue(type, bs)]
}

const byteOrder = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/** apply_types over the request/query keys, in Erlang map order (later keys win). */
function applyTypes(m: Map<string, Raw | BsVal>, depth: number, ctx: Ctx): RawMap {
  const out: RawMap = new Map()
  for (const key of [...m.keys()].sort(byteOrder)) {
    const [k, v] = maybeTyped(key, m.get(key)!, depth, ctx)
    out.set(k, v)
  }
  return out
}

/** Erlang binary_to_integer syntax. */
const ERLANG_INT = /^[+-]?[0-9]+$/

/** group_scoped: `N.key` to step N+1 (1-based, the base is step 1), other keys to every step. */
function groupScoped(typed: RawMap, n: number): RawMap[] {
  const global: RawMap = new Map()
  const scoped = new Map<number, RawMap>()
  for (const key of [...typed.keys()].sort(byteOrder)) {
    const v = typed.get(key)!
    const dot = key.indexOf('.')
    if (dot < 0 || key.indexOf('.', dot + 1) >= 0) { global.set(key, v); continue }
    const front = key.slice(0, dot)
    if (!ERLANG_INT.test(front)) throw new InvalidPath(`invalid scope in key ${JSON.stringify(bsToBinary(key))}`)
    const step = BigInt(front) + 1n
    if (step <= 0n) throw new InvalidPath(`invalid scope in key ${JSON.stringify(bsToBinary(key))}`)
    if (step > BigInt(n)) continue
    const idx = Number(step)
    let s = scoped.get(idx)
    if (s === undefined) scoped.set(idx, (s = new Map()))
    s.set(key.slice(dot + 1), v)
  }
  const out: RawMap[] = []
  for (let i = 1; i <= n; i++) {
    const s = scoped.get(i)
    if (s === undefined) out.push(global)
    else {
      const m = new Map(global)
      for (const [k, v] of s) m.set(k, v)
      out.push(m)
    }
  }
  return out
}

function mergeRaw(a: RawMap, b: RawMap): RawMap {
  if (b.size === 0) return a
  const m = new Map(a)
  for (const [k, v] of b) m.set(k, v)
  return m
}

const isEmptyBinary = (v: unknown): boolean => v === '' || (v instanceof Uint8Array && v.length === 0)

/** do_build */
function buildStep(s: Step, scoped: RawMap, ctx: Ctx): PathItem {
  if (s instanceof RawAs) {
    if (isEmptyBinary(s.msg.get('path'))) return new As(s.device, convert(mergeRaw(s.msg, scoped), ctx))
    return new As(s.device, rawToMessage(s.msg))
  }
  if (s instanceof Map) return convert(mergeRaw(s, scoped), ctx)
  return s
}

/** An {as, …} message HyperBEAM leaves unconverted; values without an encoding are left out. */
function rawToMessage(raw: RawMap): Message {
  const m = emptyMessage()
  for (const [k, v] of raw) if (!(v instanceof Opaque)) m[bsToKey(k)] = v as Value
  return m
}

/**
 * hb_message:convert(Msg, structured@1.0): structured → TABM → structured,
 * for the values a parsed step can hold.
 */
function convert(raw: RawMap, ctx: Ctx): Message {
  // convert/4 takes `priv` out and restore_priv puts a non-empty map back.
  let priv: Message | undefined
  if (raw.has('priv')) {
    const p = raw.get('priv')
    raw = new Map(raw)
    raw.delete('priv')
    if (!isPlainMessage(p)) throw new InvalidPath('priv must be a message')
    if (Object.keys(p).length > 0) priv = p
  }
  // hb_link:normalize: nested maps/lists (and links) become `key+link`.
  const entries: Array<[string, Raw | Inline | Link]> = []
  for (const [k, v] of raw) {
    if (k !== 'commitments' && (isPlainMessage(v) || Array.isArray(v))) {
      entries.push([k + '+link', ctx.offload ? new Link(ctx.offload(v)) : new Inline(v)])
    } else if (k !== 'commitments' && v instanceof Link) entries.push([k + '+link', v])
    else entries.push([k, v])
  }
  // hb_ao:normalize_keys: in Erlang map order, later keys win.
  entries.sort((a, b) => byteOrder(a[0], b[0]))
  const norm = new Map<string, Raw | Inline | Link>()
  for (const [k, v] of entries) norm.set(normalizeKey(bsToKey(k)), v)
  // dev_codec_structured:from
  const tabm = new Map<string, Raw | Inline | Link | Encoded>()
  const typed: Array<[string, string]> = []
  for (const k of [...norm.keys()].sort(compareUtf8)) {
    if (k === 'unsigned_id' || k === 'content-digest' || k === 'commitments' || isPrivateKey(k)) continue
    const v = norm.get(k)!
    if (isBinary(v) || v instanceof Inline || v instanceof Link || v instanceof Resolve) tabm.set(k, v)
    else if (typeof v === 'bigint') { typed.push([k, 'integer']); tabm.set(k, new Encoded(v.toString())) }
    else if (v instanceof Float) {
      if (!Number.isFinite(v.value)) throw new InvalidPath(`float ${v.value} has no encoding`)
      typed.push([k, 'float'])
      tabm.set(k, new Encoded(erlangFloatText(v.value)))
    } else if (isAtom(v)) { typed.push([k, 'atom']); tabm.set(k, new Encoded(atomName(v))) }
    // Anything else (bare-item tuples) has no encoding and is dropped.
  }
  if (raw.has('commitments')) tabm.set('commitments', raw.get('commitments')!)
  // ao-types: ours, unless the message carries an `ao-types` key of its own.
  let types: Map<string, string | null>
  const own = tabm.get('ao-types')
  if (own !== undefined) {
    const text = isBinary(own) ? binaryToBs(own) : own instanceof Encoded ? own.text : null
    if (text === null) throw new InvalidPath('ao-types must be a binary')
    types = userAoTypes(text)
  } else {
    checkAoTypesKeys(typed)
    types = new Map(typed)
  }
  if (types.has('.')) throw new InvalidPath('an ao-types entry for "." (a list step) is not supported')
  // dev_codec_structured:to
  const out = emptyMessage()
  for (const k of [...tabm.keys()].sort(compareUtf8)) {
    if (k === 'ao-types') continue
    const v = tabm.get(k)!
    if (k.length >= 5 && k.endsWith('+link')) {
      // decode_all_links turns every `+link` key into a link, even one a bare `&x+link` made.
      if (v instanceof Inline) out[k.slice(0, -5)] = v.value
      else if (v instanceof Link) out[k.slice(0, -5)] = v
      else if (isBinary(v) || v instanceof Encoded) {
        const id = v instanceof Encoded ? v.text : typeof v === 'string' ? v : tryUtf8(v)
        if (id === null) throw new InvalidPath(`link ID of ${JSON.stringify(k)} is not text`)
        out[k.slice(0, -5)] = new Link(id)
      } else throw new InvalidPath(`value of ${JSON.stringify(k)} cannot be a link`)
      continue
    }
    if (isBinary(v) || v instanceof Encoded) {
      const text = v instanceof Encoded ? v.text : v
      const type = types.get(normalizeKey(k))
      if (type === undefined) { out[k] = text; continue }
      if (type === null) throw new InvalidPath(`ao-types entry for ${JSON.stringify(k)} is not a type name`)
      const d = decodeValue(type, typeof text === 'string' ? textToBs(text) : bytesToBs(text))
      if (!(d instanceof Opaque)) out[k] = d
      continue
    }
    out[k] = v as Value
  }
  if (priv !== undefined) out['priv'] = priv
  return out
}

/** float_to_binary/1: 20 fraction digits in scientific notation, at least a two-digit exponent. */
function erlangFloatText(x: number): string {
  const s = (Object.is(x, -0) ? '-' : '') + Math.abs(x).toExponential(20)
  const e = s.indexOf('e')
  const digits = s.slice(e + 2)
  return s.slice(0, e + 1) + s[e + 1] + (digits.length < 2 ? '0' + digits : digits)
}

/** hb_escape:encode */
function escapeKey(k: string): string {
  let out = ''
  for (const c of utf8(k)) {
    if ((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 46 || c === 45 || c === 95 || c === 47 || c === 63 || c === 38) out += String.fromCharCode(c)
    else out += '%' + (c >> 4).toString(16) + (c & 15).toString(16)
  }
  return out
}

/** hb_escape:decode (a `%` needs two hex digits when two bytes follow it). */
function unescapeKey(bs: string): string {
  if (bs.indexOf('%') < 0) return bsToKey(bs)
  let out = ''
  for (let i = 0; i < bs.length; i++) {
    if (bs.charCodeAt(i) === 37 && i + 2 < bs.length) {
      const h = hexVal(bs.charCodeAt(i + 1))
      const l = hexVal(bs.charCodeAt(i + 2))
      if (h < 0 || l < 0) throw new InvalidPath(`bad escape in ao-types key ${JSON.stringify(bs.slice(0, 64))}`)
      out += String.fromCharCode(h * 16 + l)
      i += 2
    } else out += bs[i]
  }
  return bsToKey(out)
}

/** The ao-types dictionary HyperBEAM writes must parse back: check its escaped keys as parse_dictionary would. */
function checkAoTypesKeys(typed: Array<[string, string]>): void {
  typed.forEach(([k], i) => {
    const e = escapeKey(k)
    const c = e.charCodeAt(0)
    const ok = e.length > 0 && (isAlpha(c) || isDigit(c) || c === 42 || c === 37 || c === 95 || c === 45 || (i === 0 && c === 46)) &&
      [...e].every((ch) => isDictKeyChar(ch.charCodeAt(0)))
    if (!ok) throw new InvalidPath(`key ${JSON.stringify(k)} of a typed value cannot be written in ao-types`)
  })
}

/** decode_ao_types of a message's own `ao-types`: entries must be strings, tokens or byte sequences. */
function userAoTypes(text: string): Map<string, string | null> {
  const out = new Map<string, string | null>()
  for (const [k, b] of parseDict(text)) {
    if (b.t === 'str' || b.t === 'tok' || b.t === 'bin') out.set(unescapeKey(k), b.v)
    else if (b.t === 'dec') out.set(unescapeKey(k), null)
    else throw new InvalidPath(`ao-types entry ${JSON.stringify(k)} is not a type name`)
  }
  return out
}

// ---------------------------------------------------------------- hb_singleton:to

/**
 * hb_singleton:to: a message list → one request message. Path parts join
 * with `/`; sub-resolutions become `(…)`; a key found in exactly one step is
 * emitted as `N.key` (`N.key+integer` for integers, `N.key+resolve` for a
 * sub-resolution), N counting from 0 = the first element; a key found in
 * several steps stays unscoped (the last value wins); `method` is never
 * scoped. Beyond HyperBEAM (whose to/1 has no clause for them), `{as, D, M}`
 * steps render as `path~D`: with an empty path M's other keys are scoped
 * like a map's, otherwise they are inlined as `&k=v`, `&k+integer=N`, `&k`.
 */
export function renderPath(items: PathItem[]): Message {
  const acc = emptyMessage()
  let path: string | undefined
  const scopes = new Map<string, number[]>()
  const append = (part: string): void => { path = path === undefined ? '/' + part : path + '/' + part }
  const scope = (key: string, index: number): void => {
    const s = scopes.get(key)
    if (s === undefined) scopes.set(key, [index])
    else s.push(index)
  }
  const putKeys = (m: Message, index: number): void => {
    for (const key of Object.keys(m).sort(compareUtf8)) {
      const v = m[key]!
      if (key === 'path') {
        if (typeof v !== 'string') throw new InvalidPath('a step path must be text to render')
        append(v)
      } else if (key === 'method') acc['method'] = v
      else if ((v as unknown) instanceof Resolve) {
        const k = key + '+resolve'
        acc[k] = subPath(v as unknown as Resolve)
        scope(k, index)
      } else {
        acc[key] = v
        scope(key, index)
      }
    }
  }
  items.forEach((item, index) => {
    if (isBinary(item)) {
      const id = typeof item === 'string' ? item : tryUtf8(item)
      if (id === null || !isIdLength(utf8(id).length)) throw new InvalidPath('a bare binary step must be an ID')
      append(id)
    } else if (item instanceof Resolve) append('(' + subPath(item).slice(1) + ')')
    else if (item instanceof As) {
      const m = item.msg
      if (!isPlainMessage(m)) throw new InvalidPath('an {as, …} step must hold a message')
      const p = m['path']
      if (typeof p !== 'string') throw new InvalidPath('an {as, …} step must have a text path to render')
      const dev = item.device
      const devText = dev instanceof Resolve ? '(' + subPath(dev).slice(1) + ')' : typeof dev === 'string' ? dev : null
      if (devText === null || (typeof dev === 'string' && !safeInline(devText))) throw new InvalidPath('the device of an {as, …} step cannot be rendered')
      if (!safeInline(p) || p.includes('~') || p.includes('+') || p.includes(' ')) throw new InvalidPath(`path ${JSON.stringify(p)} of an {as, …} step cannot be rendered`)
      let segment = p + '~' + devText
      const rest = emptyMessage()
      for (const k of Object.keys(m)) if (k !== 'path') rest[k] = m[k]!
      if (p === '') putKeys(rest, index)
      else segment += inlineKeys(rest)
      const len = utf8(segment).length
      if (isIdLength(len) || len > MAX_SEGMENT_LENGTH) throw new InvalidPath(`{as, …} segment of ${len} bytes cannot be rendered`)
      append(segment)
    } else if (isMessage(item)) putKeys(item, index)
    else throw new InvalidPath('a step must be an ID, a message, an {as, …} or a sub-resolution')
  })
  if (path !== undefined) acc['path'] = path
  for (const key of [...scopes.keys()].sort(compareUtf8)) {
    const idx = scopes.get(key)!
    if (idx.length !== 1) continue
    const v = acc[key]!
    delete acc[key]
    if (typeof v === 'bigint') acc[`${idx[0]}.${key}+integer`] = v.toString()
    else acc[`${idx[0]}.${key}`] = v
  }
  return acc
}

function subPath(r: Resolve): string {
  const p = renderPath(r.messages)['path']
  if (typeof p !== 'string' || !p.startsWith('/')) throw new InvalidPath('a sub-resolution without a path cannot be rendered')
  return p
}

/** Text that survives as part of an inline segment: no separators, escapes or parentheses. */
const safeInline = (s: string): boolean => !/[/?&()%]/.test(s)

function inlineKeys(m: Message): string {
  let out = ''
  for (const k of Object.keys(m).sort(compareUtf8)) {
    const v = m[k]!
    if (k === '' || !safeInline(k) || /[=~+ ]/.test(k)) throw new InvalidPath(`key ${JSON.stringify(k)} cannot be inlined`)
    if (v === true) out += '&' + k
    else if (typeof v === 'bigint') out += `&${k}+integer=${v}`
    else if ((v as unknown) instanceof Resolve) out += `&${k}=(${subPath(v as unknown as Resolve).slice(1)})`
    else if (typeof v === 'string' && safeInline(v) && !(v.startsWith('(') && v.endsWith(')'))) out += `&${k}=${v}`
    else throw new InvalidPath(`value of ${JSON.stringify(k)} cannot be inlined`)
  }
  return out
}

// ---------------------------------------------------------------- hb_path:term_to_path_parts

/**
 * hb_path:term_to_path_parts: `/a//b/` → [a, b], `/` → [], '' and `//` →
 * undefined, a binary without `/` → [itself], integers as text, atoms by
 * name, lists flattened (an empty part inside a list becomes the atom
 * `undefined`, as in HyperBEAM), a list of integers as one normalized key.
 */
export function pathParts(path: Value): string[] | undefined {
  if (isBinary(path)) {
    const s = typeof path === 'string' ? path : tryUtf8(path)
    if (s === null) throw new InvalidPath('path is not UTF-8')
    if (s === '') return undefined
    if (s === '/') return []
    if (s.indexOf('/') < 0) return [s]
    const parts = s.split('/').filter((p) => p !== '')
    return parts.length === 0 ? undefined : parts
  }
  if (Array.isArray(path)) {
    if (path.length === 0) return undefined
    if (typeof path[0] === 'bigint') return [keyOfList(path)]
    const out: string[] = []
    for (const p of path) {
      const sub = pathParts(p)
      if (sub === undefined) out.push('undefined')
      else for (const x of sub) out.push(x)
    }
    return out
  }
  if (typeof path === 'bigint') return [path.toString()]
  if (isAtom(path)) return [atomName(path)]
  throw new InvalidPath('path must be a binary, an integer, an atom or a list')
}

/** hb_ao:normalize_key of a list: a string of byte values, or its elements joined by `/`. */
function keyOfList(list: Value[]): string {
  if (list.every((x) => typeof x === 'bigint')) {
    const bytes = new Uint8Array(list.length)
    list.forEach((x, i) => {
      const b = x as bigint
      if (b < 0n || b > 255n) throw new InvalidPath('a list of integers as a path must hold bytes')
      bytes[i] = Number(b)
    })
    const s = tryUtf8(bytes)
    if (s === null) throw new InvalidPath('path is not UTF-8')
    return normalizeKey(s)
  }
  return list.map((x) => {
    if (isBinary(x)) {
      const s = typeof x === 'string' ? x : tryUtf8(x)
      if (s === null) throw new InvalidPath('path is not UTF-8')
      return normalizeKey(s)
    }
    if (typeof x === 'bigint') return x.toString()
    if (isAtom(x)) return atomName(x)
    if (Array.isArray(x)) return keyOfList(x)
    throw new InvalidPath('cannot make a key of this path element')
  }).join('/')
}
