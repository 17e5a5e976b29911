/**
 * An exact, deterministic binary encoding of stored values, shared by the
 * persistent stores (IndexedDB, filesystem) and by snapshots. Browser-pure.
 *
 * Every type of the value model keeps its identity: a string and the same
 * bytes as a Uint8Array differ, `1` (bigint) and `1.0` (Float) differ, -0.0
 * and any bigint survive, atoms and links keep their names. One value has
 * exactly one encoding (map keys sorted by their UTF-8 bytes, minimal
 * lengths, one NaN), and the decoder accepts only that encoding, so
 * bytes ⇄ value is a bijection: equal values give equal bytes and hashes.
 *
 *   value := 0x00 null | 0x01 false | 0x02 true
 *          | 0x03 len bytes          integer ≥ 0, big-endian magnitude, no leading zero byte
 *          | 0x04 len bytes          integer < 0, magnitude of its negation
 *          | 0x05 8 bytes            Float, IEEE-754 big-endian (NaN as 0x7ff8000000000000)
 *          | 0x06 len utf8           string (well-formed UTF-16 only)
 *          | 0x07 len bytes          Uint8Array
 *          | 0x08 len utf8           Atom (other than true/false/null)
 *          | 0x09 len utf8 len utf8  Link: id, type
 *          | 0x0a count value*       list
 *          | 0x0b count (len utf8 value)*   message, keys in strictly increasing UTF-8 order
 *   len, count := unsigned LEB128, minimal
 *
 * A store entry wraps one value or one link target with a checksum, so that
 * bytes torn by a crash (or by a disk) are never taken for a valid entry:
 *
 *   entry := "AOE" version(1) kind('v' | 'l' | 'c' | 'h') len payload sha256(payload)[0..8]
 *
 * Kind 'c' holds a value whose long lists are stored in chunks (src/store/chunks.ts); kind 'h' the
 * same, where a list may keep its first chunk inline.
 */
import { sha256 } from '../crypto/hash.ts'
import { Atom, Float, Link, emptyMessage, type Message, type Value } from '../core/value.ts'
import { compareUtf8 } from '../core/bytes.ts'
import { StoreFailed, UnencodableValue } from '../core/errors.ts'
import type { Stored } from './store.ts'

/** Stored bytes that are not a valid encoding (torn write, bit rot, another format). */
export class StoreCorrupt extends StoreFailed {}
/** The store is out of space (IndexedDB quota, ENOSPC/EDQUOT): HTTP 507 Insufficient Storage. */
export class StoreQuotaExceeded extends StoreFailed { static override status = 507 }

const MAX_DEPTH = 1000
const enc = new TextEncoder()
const dec = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

const T_NULL = 0x00, T_FALSE = 0x01, T_TRUE = 0x02, T_POS = 0x03, T_NEG = 0x04, T_FLOAT = 0x05
const T_STR = 0x06, T_BIN = 0x07, T_ATOM = 0x08, T_LINK = 0x09, T_LIST = 0x0a, T_MAP = 0x0b

/** A length as a varint (7 bits a byte, low first) at `pos`; the position after it. */
function putUint(buf: Uint8Array, pos: number, n: number): number {
  while (n >= 0x80) { buf[pos++] = (n % 0x80) | 0x80; n = Math.floor(n / 0x80) }
  buf[pos++] = n
  return pos
}

class Writer {
  buf = new Uint8Array(256)
  pos = 0
  private view = new DataView(this.buf.buffer)
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < this.pos + n) size *= 2
    const next = new Uint8Array(size)
    next.set(this.buf.subarray(0, this.pos))
    this.buf = next
    this.view = new DataView(next.buffer)
  }
  byte(b: number): void { this.ensure(1); this.buf[this.pos++] = b }
  uint(n: number): void {
    this.ensure(10)
    this.pos = putUint(this.buf, this.pos, n)
  }
  bytes(b: Uint8Array): void { this.uint(b.length); this.ensure(b.length); this.buf.set(b, this.pos); this.pos += b.length }
  /** A string as length + UTF-8; ASCII (IDs, keys, addresses) is copied without an encoder call. */
  str(s: string): void {
    const n = s.length
    let i = 0
    while (i < n && s.charCodeAt(i) < 0x80) i++
    if (i < n) return this.bytes(utf8Exact(s))
    this.uint(n)
    this.ensure(n)
    const buf = this.buf
    let p = this.pos
    for (let j = 0; j < n; j++) buf[p++] = s.charCodeAt(j)
    this.pos = p
  }
  raw(b: Uint8Array): void { this.ensure(b.length); this.buf.set(b, this.pos); this.pos += b.length }
  f64(x: number): void {
    this.ensure(8)
    if (Number.isNaN(x)) { this.view.setUint32(this.pos, 0x7ff80000); this.view.setUint32(this.pos + 4, 0) }
    else this.view.setFloat64(this.pos, x)
    this.pos += 8
  }
  done(): Uint8Array { return this.buf.slice(0, this.pos) }
}

/** A string's UTF-8 bytes; a lone surrogate has none that round-trip, so it is refused. */
function utf8Exact(s: string): Uint8Array {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0xd800 || c > 0xdfff) continue
    const next = s.charCodeAt(i + 1)
    if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) { i++; continue }
    throw new UnencodableValue(`a string with a lone surrogate (U+${c.toString(16).toUpperCase()}) has no exact encoding`)
  }
  return enc.encode(s)
}

function magnitude(n: bigint): Uint8Array {
  if (n === 0n) return new Uint8Array(0)
  let hex = n.toString(16)
  if (hex.length % 2) hex = '0' + hex
  const out = new Uint8Array(hex.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16)
  return out
}

function write(w: Writer, v: unknown, depth: number): void {
  if (depth > MAX_DEPTH) throw new UnencodableValue(`a value nested deeper than ${MAX_DEPTH} levels`)
  if (v === null) return w.byte(T_NULL)
  if (v === false) return w.byte(T_FALSE)
  if (v === true) return w.byte(T_TRUE)
  if (typeof v === 'string') { w.byte(T_STR); return w.str(v) }
  if (typeof v === 'bigint') {
    w.byte(v < 0n ? T_NEG : T_POS)
    return w.bytes(magnitude(v < 0n ? -v : v))
  }
  if (v instanceof Uint8Array) { w.byte(T_BIN); return w.bytes(v) }
  if (v instanceof Float) { w.byte(T_FLOAT); return w.f64(v.value) }
  if (v instanceof Atom) { w.byte(T_ATOM); return w.bytes(utf8Exact(v.name)) }
  if (v instanceof Link) { w.byte(T_LINK); w.str(v.id); return w.str(v.type) }
  if (Array.isArray(v)) {
    w.byte(T_LIST)
    w.uint(v.length)
    for (const x of v) write(w, x, depth + 1)
    return
  }
  if (typeof v === 'object') {
    const keys = Object.keys(v).sort(compareUtf8)
    w.byte(T_MAP)
    w.uint(keys.length)
    for (const k of keys) { w.str(k); write(w, (v as Message)[k], depth + 1) }
    return
  }
  throw new UnencodableValue(`a ${typeof v} is not a stored value`)
}

/** The one encoding of a value. Throws UnencodableValue for what the value model does not hold. */
export function encodeValue(v: Stored | Value): Uint8Array {
  return withEncoding(v, (b) => b.slice())
}

/**
 * One writer for every encoding, reused: encoding is synchronous and never
 * re-entered, and a fresh writer per value spent much of a store write on
 * growing its buffer (profiled in the Chromium token bench). A buffer grown
 * past SCRATCH_KEEP by one large value is not kept.
 */
const SCRATCH_KEEP = 1 << 20
let scratch: Writer | undefined

/** `f` on the encoding of `v`, a view valid only during the call (no copy). */
export function withEncoding<T>(v: Stored | Value, f: (bytes: Uint8Array) => T): T {
  const w = scratch ?? new Writer()
  scratch = undefined // a throw below leaves no half-written scratch behind
  w.pos = 0
  write(w, v, 0)
  const out = f(w.buf.subarray(0, w.pos))
  if (w.buf.length <= SCRATCH_KEEP) scratch = w
  return out
}

class Reader {
  pos = 0
  private readonly view: DataView
  constructor(readonly buf: Uint8Array, private readonly Err: new (m: string) => Error, private readonly where = '') {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  }
  fail(why: string): never { throw new this.Err(`${this.where}${why} at byte ${this.pos}`) }
  byte(): number {
    if (this.pos >= this.buf.length) this.fail('truncated')
    return this.buf[this.pos++]!
  }
  uint(): number {
    let n = 0, mul = 1, b: number
    const start = this.pos
    do {
      b = this.byte()
      n += (b & 0x7f) * mul
      mul *= 0x80
      if (mul > 2 ** 56) this.fail('length too large')
    } while (b & 0x80)
    if (b === 0 && this.pos - start > 1) this.fail('non-minimal length')
    return n
  }
  take(n: number): Uint8Array {
    if (n > this.buf.length - this.pos) this.fail('truncated')
    const out = this.buf.subarray(this.pos, this.pos + n)
    this.pos += n
    return out
  }
  bytes(): Uint8Array { return this.take(this.uint()) }
  text(): string {
    const b = this.bytes()
    try { return dec.decode(b) } catch { return this.fail('invalid UTF-8') }
  }
  f64(): number {
    if (this.pos + 8 > this.buf.length) this.fail('truncated')
    const hi = this.view.getUint32(this.pos), lo = this.view.getUint32(this.pos + 4)
    const x = this.view.getFloat64(this.pos)
    if (Number.isNaN(x) && (hi !== 0x7ff80000 || lo !== 0)) this.fail('non-canonical NaN')
    this.pos += 8
    return x
  }
}

function read(r: Reader, depth: number): Value {
  if (depth > MAX_DEPTH) r.fail(`nested deeper than ${MAX_DEPTH} levels`)
  const tag = r.byte()
  switch (tag) {
    case T_NULL: return null
    case T_FALSE: return false
    case T_TRUE: return true
    case T_POS: case T_NEG: {
      const m = r.bytes()
      if (m.length > 0 && m[0] === 0) r.fail('integer with a leading zero byte')
      if (tag === T_NEG && m.length === 0) r.fail('negative zero integer')
      let n = 0n
      if (m.length > 0) n = BigInt('0x' + Array.from(m, (b) => b.toString(16).padStart(2, '0')).join(''))
      return tag === T_NEG ? -n : n
    }
    case T_FLOAT: return new Float(r.f64())
    case T_STR: return r.text()
    case T_BIN: {
      // A copy, and a plain Uint8Array even when the input is a Node Buffer.
      const b = r.bytes()
      const out = new Uint8Array(b.length)
      out.set(b)
      return out
    }
    case T_ATOM: {
      const name = r.text()
      if (name === 'true' || name === 'false' || name === 'null') r.fail('atom true/false/null has its own tag')
      return new Atom(name)
    }
    case T_LINK: {
      const id = r.text()
      const type = r.text()
      if (type !== 'link') r.fail(`unknown link type ${type}`)
      return new Link(id, type)
    }
    case T_LIST: {
      const n = r.uint()
      if (n > r.buf.length - r.pos) r.fail('list longer than the input')
      const out: Value[] = []
      for (let i = 0; i < n; i++) out.push(read(r, depth + 1))
      return out
    }
    case T_MAP: {
      const n = r.uint()
      if (n > r.buf.length - r.pos) r.fail('map longer than the input')
      const m = emptyMessage()
      let prev: string | undefined
      for (let i = 0; i < n; i++) {
        const k = r.text()
        if (prev !== undefined && compareUtf8(prev, k) >= 0) r.fail('map keys not in strictly increasing order')
        prev = k
        m[k] = read(r, depth + 1)
      }
      return m
    }
    default: return r.fail(`unknown tag 0x${tag.toString(16)}`)
  }
}

/**
 * The value encoded by `bytes`, which must be exactly one canonical encoding.
 * Anything else throws `Err` (StoreCorrupt by default).
 */
export function decodeValue(bytes: Uint8Array, Err: new (m: string) => Error = StoreCorrupt, where = ''): Value {
  const r = new Reader(bytes, Err, where)
  const v = read(r, 0)
  if (r.pos !== bytes.length) r.fail('trailing bytes')
  return v
}

const MAGIC = [0x41, 0x4f, 0x45] // "AOE"
const ENTRY_VERSION = 1
const SUM = 8

/** `heads`: some of its lists keep their first chunk inline (src/store/chunks.ts), kind byte `h`. */
export type Entry = { kind: 'value'; value: Stored } | { kind: 'link'; target: string } | { kind: 'chunked'; value: Stored; heads?: true }

const KIND_BYTE = { value: 0x76, link: 0x6c, chunked: 0x63, heads: 0x68 } as const

/** One operation of a persistent store's `batch`. */
export type StoreOp = { op: 'write'; path: string; value: Stored } | { op: 'link'; path: string; target: string }

/** A store entry: header, payload, checksum. */
export function encodeEntry(e: Entry): Uint8Array {
  if (e.kind === 'link') return entryBytes(KIND_BYTE.link, utf8Exact(e.target))
  const kind = e.kind === 'chunked' ? (e.heads === true ? KIND_BYTE.heads : KIND_BYTE.chunked) : KIND_BYTE.value
  return withEncoding(e.value, (payload) => entryBytes(kind, payload))
}

/**
 * A value entry's bytes and the SHA-256 of its payload, from one encoding:
 * a chunk's name is that hash (src/store/chunks.ts), and its entry's checksum
 * is the same hash's first bytes.
 */
export function valueEntryWithDigest(v: Value): { bytes: Uint8Array; digest: Uint8Array } {
  return withEncoding(v, (payload) => {
    const digest = sha256(payload)
    return { bytes: entryBytes(KIND_BYTE.value, payload, digest), digest }
  })
}

/** magic, version, kind, the payload with its length (a varint), its checksum: one copy of the payload. */
function entryBytes(kind: number, payload: Uint8Array, digest: Uint8Array = sha256(payload)): Uint8Array {
  let lenBytes = 1
  for (let n = payload.length; n >= 0x80; n = Math.floor(n / 0x80)) lenBytes++
  const out = new Uint8Array(MAGIC.length + 2 + lenBytes + payload.length + SUM)
  let p = 0
  for (const b of MAGIC) out[p++] = b
  out[p++] = ENTRY_VERSION
  out[p++] = kind
  p = putUint(out, p, payload.length)
  out.set(payload, p)
  out.set(digest.subarray(0, SUM), p + payload.length)
  return out
}

/** The entry in `bytes`; StoreCorrupt when they are torn, altered or not an entry. */
export function decodeEntry(bytes: Uint8Array, where = 'entry'): Entry {
  const r = new Reader(bytes, StoreCorrupt, `${where}: `)
  if (bytes.length < MAGIC.length + 3 + SUM) r.fail(`${bytes.length} bytes is too short for an entry`)
  for (const b of MAGIC) if (r.byte() !== b) r.fail('not a store entry')
  const version = r.byte()
  if (version !== ENTRY_VERSION) r.fail(`entry version ${version} is not supported`)
  const kind = r.byte()
  if (kind !== KIND_BYTE.value && kind !== KIND_BYTE.link && kind !== KIND_BYTE.chunked && kind !== KIND_BYTE.heads) r.fail('unknown entry kind')
  const payload = r.bytes()
  const sum = r.take(SUM)
  if (r.pos !== bytes.length) r.fail('trailing bytes')
  const want = sha256(payload)
  for (let i = 0; i < SUM; i++) if (sum[i] !== want[i]) r.fail('checksum mismatch')
  if (kind === KIND_BYTE.link) {
    try { return { kind: 'link', target: dec.decode(payload) } } catch { return r.fail('invalid UTF-8 link target') }
  }
  const value = decodeValue(payload, StoreCorrupt, `${where}: `) as Stored
  if (kind === KIND_BYTE.heads) return { kind: 'chunked', value, heads: true }
  return kind === KIND_BYTE.chunked ? { kind: 'chunked', value } : { kind: 'value', value }
}
