/**
 * Values between AO-Core and Lua (spec §4.5), in the binary format the
 * prelude decodes (src/lua/prelude.ts):
 *
 *   AO-Core → Lua: binaries → strings; integers (bigint) → Lua integers (outside
 *   int64: decimal strings); Float → Lua floats; true/false → booleans; any other
 *   atom → its name; lists and numbered messages (`1`..`n`) → sequences; other
 *   messages → tables with string keys.
 *
 *   Lua → AO-Core: strings → string (valid UTF-8) or Uint8Array; integers → bigint;
 *   floats → Float; tables with keys exactly 1..n (integers, or their text as
 *   dev_lua:decode normalizes keys) → lists; the empty table → [] (as luerl decodes
 *   it); other tables → messages (number and boolean keys as text);
 *   functions, coroutines and userdata are left out; nil → the atom `nil`.
 */
import { Atom, Float, Link, atomName, emptyMessage, isAtom, isMessage, type Message, type Value } from '../core/value.ts'
import { BadInput } from '../core/errors.ts'
import { tryUtf8, utf8Lenient } from '../core/bytes.ts'
import { numberedToList } from '../codecs/structured.ts'

const INT64_MIN = -(1n << 63n)
const INT64_MAX = (1n << 63n) - 1n
const utf8 = new TextEncoder()

/**
 * A table read back whose keys are exactly 1..n, as integers or as their text
 * (`{[1] = a, ["2"] = b}`), as a list: dev_lua:decode makes every such map a
 * list (hb_util:is_ordered_list normalizes the keys first).
 */
export const orderedList = (m: Message): Value[] | undefined => (isNumberedMessage(m) ? numberedToList(m) : undefined)

/** An ordered list in message form: keys exactly `1`..`n`, n ≥ 1. */
export function isNumberedMessage(m: Message): boolean {
  // Keys that are array indices come first and in ascending order (OrdinaryOwnPropertyKeys),
  // so 1..n read "1", "2", … "n"; any other key ends the match. No allocation: this runs on
  // every message crossing into or out of Lua.
  let i = 0
  for (const k in m) if (k !== String(++i)) return false
  return i > 0
}

class Writer {
  private buf = new Uint8Array(256)
  private view = new DataView(this.buf.buffer)
  len = 0
  private ensure(n: number) {
    if (this.len + n <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < this.len + n) size *= 2
    const b = new Uint8Array(size)
    b.set(this.buf.subarray(0, this.len))
    this.buf = b
    this.view = new DataView(b.buffer)
  }
  tag(c: string) { this.ensure(1); this.buf[this.len++] = c.charCodeAt(0) }
  u32(n: number) { this.ensure(4); this.view.setUint32(this.len, n, true); this.len += 4 }
  i64(n: bigint) { this.ensure(8); this.view.setBigInt64(this.len, n, true); this.len += 8 }
  f64(n: number) { this.ensure(8); this.view.setFloat64(this.len, n, true); this.len += 8 }
  bytes(b: Uint8Array) { this.u32(b.length); this.ensure(b.length); this.buf.set(b, this.len); this.len += b.length }
  /** A string as its UTF-8 bytes, written in place (no intermediate array). */
  str(s: string) {
    this.ensure(4 + s.length * 3)
    const at = this.len + 4
    let n = 0
    if (s.length <= 64) {
      // Short ASCII (keys, IDs): byte by byte; anything else goes to the encoder.
      for (; n < s.length; n++) {
        const c = s.charCodeAt(n)
        if (c >= 0x80) break
        this.buf[at + n] = c
      }
    }
    if (n < s.length) n = utf8.encodeInto(s, this.buf.subarray(at)).written
    this.view.setUint32(this.len, n, true)
    this.len = at + n
  }
  result(): Uint8Array { return this.buf.slice(0, this.len) }
}

function write(w: Writer, v: Value, depth: number): void {
  if (depth > 200) throw new BadInput('a value nested more than 200 deep cannot be passed to Lua')
  if (typeof v === 'string') { w.tag('s'); w.str(v) }
  else if (v instanceof Uint8Array) { w.tag('s'); w.bytes(v) }
  else if (typeof v === 'bigint') {
    if (v >= INT64_MIN && v <= INT64_MAX) { w.tag('i'); w.i64(v) } else { w.tag('s'); w.bytes(utf8.encode(v.toString())) }
  } else if (v instanceof Float) { w.tag('f'); w.f64(v.value) }
  else if (v === true) w.tag('T')
  else if (v === false) w.tag('F')
  else if (isAtom(v)) { w.tag('s'); w.bytes(utf8.encode(atomName(v))) }
  else if (v instanceof Link) { w.tag('s'); w.bytes(utf8.encode(v.id)) }
  else if (Array.isArray(v)) {
    w.tag('a'); w.u32(v.length)
    for (const x of v) write(w, x, depth + 1)
  } else if (isMessage(v)) {
    if (isNumberedMessage(v)) {
      const keys = Object.keys(v)
      w.tag('a'); w.u32(keys.length)
      for (let i = 1; i <= keys.length; i++) write(w, v[String(i)]!, depth + 1)
    } else {
      const keys = Object.keys(v).filter((k) => v[k] !== undefined)
      w.tag('m'); w.u32(keys.length)
      for (const k of keys) { w.tag('s'); w.str(k); write(w, v[k]!, depth + 1) }
    }
  } else throw new BadInput('a value that cannot be passed to Lua')
}

/** Encode a list of values (a call's arguments, or a host function's results). */
export function encodeList(values: Value[]): Uint8Array {
  const w = new Writer()
  write(w, values, 0)
  return w.result()
}

export function encodeValue(v: Value): Uint8Array {
  const w = new Writer()
  write(w, v, 0)
  return w.result()
}

const NIL = new Atom('nil')

function keyText(k: Value): string | undefined {
  if (typeof k === 'string') return k
  if (k instanceof Uint8Array) return utf8Lenient(k)
  if (typeof k === 'bigint') return k.toString()
  if (k instanceof Float) return luaNumberText(k.value)
  if (k === true) return 'true'
  if (k === false) return 'false'
  return undefined
}

/** Lua's %.14g rendering of a float (as tostring gives it). */
export function luaNumberText(x: number): string {
  if (Number.isNaN(x)) return x > 0 ? 'nan' : '-nan'
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf'
  let s = x.toPrecision(14)
  if (s.includes('e')) {
    let [m, e] = s.split('e') as [string, string]
    if (m.includes('.')) m = m.replace(/0+$/, '').replace(/\.$/, '')
    const sign = e.startsWith('-') ? '-' : '+'
    const digits = e.replace(/^[+-]/, '').padStart(2, '0')
    return `${m}e${sign}${digits}`
  }
  if (s.includes('.')) s = s.replace(/0+$/, '').replace(/\.$/, '')
  return /^-?\d+$/.test(s) ? s + '.0' : s
}

/** Decode a value from the prelude's encoding. */
export function decodeValue(bytes: Uint8Array): Value {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let pos = 0
  const read = (): Value => {
    const tag = String.fromCharCode(bytes[pos++]!)
    switch (tag) {
      case 'n': return NIL
      case 'T': return true
      case 'F': return false
      case 'i': { const v = view.getBigInt64(pos, true); pos += 8; return v }
      case 'f': { const v = view.getFloat64(pos, true); pos += 8; return new Float(v) }
      case 's': {
        const n = view.getUint32(pos, true); pos += 4
        const b = bytes.subarray(pos, pos + n); pos += n
        return tryUtf8(b) ?? b.slice()
      }
      case 'a': {
        const n = view.getUint32(pos, true); pos += 4
        const out: Value[] = []
        for (let i = 0; i < n; i++) out.push(read())
        return out
      }
      case 'm': {
        const n = view.getUint32(pos, true); pos += 4
        const m = emptyMessage()
        for (let i = 0; i < n; i++) {
          const k = keyText(read())
          const v = read()
          if (k !== undefined) m[k] = v
        }
        return orderedList(m) ?? m
      }
      default: throw new BadInput(`bad Lua value encoding (tag ${JSON.stringify(tag)})`)
    }
  }
  return read()
}

/** Decode a list of values (results of a call, arguments of a host function). */
export function decodeList(bytes: Uint8Array): Value[] {
  const v = decodeValue(bytes)
  if (!Array.isArray(v)) throw new BadInput('expected a list of Lua values')
  return v
}
