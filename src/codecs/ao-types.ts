/**
 * Typed-value encoding of structured@1.0 (spec §3.3): how one value becomes a
 * binary plus an `ao-types` entry, and back; and the `ao-types` dictionary.
 */
import { Atom, Float, atom, atomName, type Binary, type Value } from '../core/value.ts'
import { InvalidAoType, InvalidFloat, InvalidInteger, InvalidStructuredField } from '../core/errors.ts'
import { utf8, tryUtf8, compareUtf8 } from '../core/bytes.ts'

export type AoType = 'integer' | 'float' | 'atom' | 'list' | 'map' | 'binary' |
  'empty-binary' | 'empty-list' | 'empty-message'

/**
 * Erlang's float_to_binary/1: scientific notation, 20 fraction digits, an
 * exponent of at least two digits (`1.5` -> `1.50000000000000000000e+00`).
 */
export function formatFloat(x: number): string {
  if (!Number.isFinite(x)) throw new InvalidFloat(`float ${x} has no Erlang encoding`)
  const s = (x < 0 || Object.is(x, -0) ? '-' : '') + Math.abs(x).toExponential(20)
  const e = s.indexOf('e')
  const sign = s[e + 1]!
  const digits = s.slice(e + 2)
  return s.slice(0, e + 1) + sign + (digits.length < 2 ? '0' + digits : digits)
}

const FLOAT_RE = /^[+-]?(\d+\.\d+([eE][+-]?\d+)?|\d+[eE][+-]?\d+|\d+\.?\d*|\.\d+)$/
export function parseFloatText(s: string): Float {
  if (!FLOAT_RE.test(s)) throw new InvalidFloat(`not a float: ${JSON.stringify(s.slice(0, 64))}`)
  const v = Number(s)
  if (!Number.isFinite(v)) throw new InvalidFloat(`float out of range: ${s.slice(0, 64)}`)
  return new Float(v)
}

const INT_RE = /^-?\d+$/
export function parseIntegerText(s: string): bigint {
  if (!INT_RE.test(s) || s.length > 4096) throw new InvalidInteger(`not an integer: ${JSON.stringify(s.slice(0, 64))}`)
  return BigInt(s)
}

/** Parse the text of an atom. HyperBEAM writes atoms as bare names; accept SF strings too. */
export function parseAtomText(s: string): boolean | null | Atom {
  if (s.length >= 2 && s.startsWith('"') && s.endsWith('"')) return atom(s.slice(1, -1).replace(/\\(["\\])/g, '$1'))
  return atom(s)
}

/** Encode a scalar value as its TABM binary and type. Returns null type for binaries. */
export function encodeScalar(v: Value): [Binary, AoType | null] {
  if (typeof v === 'string' || v instanceof Uint8Array) return [v, null]
  if (typeof v === 'bigint') return [v.toString(), 'integer']
  if (v instanceof Float) return [formatFloat(v.value), 'float']
  if (v === true || v === false || v === null || v instanceof Atom) return [atomName(v), 'atom']
  throw new InvalidAoType(`value of type ${typeof v} is not a scalar`)
}

const textOf = (b: Binary): string => {
  if (typeof b === 'string') return b
  const s = tryUtf8(b)
  if (s === null) throw new InvalidAoType('typed value is not text')
  return s
}

/**
 * decode_value(Type, Binary): the inverse of encodeScalar, plus the legacy
 * SF-list form of `list` and the SF-dictionary form of `map`.
 */
export function decodeScalar(type: string, b: Binary): Value {
  switch (type.toLowerCase()) {
    case 'integer': return parseIntegerText(textOf(b).trim())
    case 'float': return parseFloatText(textOf(b).trim())
    case 'atom': return parseAtomText(textOf(b))
    case 'binary': return b
    case 'empty-binary': return ''
    case 'empty-list': return []
    case 'empty-message': return Object.create(null)
    case 'list': return decodeLegacyList(textOf(b))
    case 'map': return decodeSfMap(textOf(b))
    default: throw new InvalidAoType(`unknown ao-type: ${JSON.stringify(type.slice(0, 64))}`)
  }
}

// ---- hb_escape: percent-escaping of ao-types keys ----

const LITERAL = new Uint8Array(256)
for (const c of 'abcdefghijklmnopqrstuvwxyz0123456789.-_/?&') LITERAL[c.charCodeAt(0)] = 1
const HEX = '0123456789abcdef'

export function escapeKey(key: string): string {
  let plain = true
  for (let i = 0; i < key.length; i++) if (key.charCodeAt(i) > 127 || !LITERAL[key.charCodeAt(i)]) { plain = false; break }
  if (plain) return key
  let out = ''
  for (const byte of utf8(key)) out += LITERAL[byte] ? String.fromCharCode(byte) : '%' + HEX[byte >> 4] + HEX[byte & 15]
  return out
}

export function unescapeKey(s: string): string {
  if (!s.includes('%')) return s
  const bytes: number[] = []
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c === 37 && i + 2 < s.length + 0 && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 1, i + 3))) {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16)); i += 2
    } else bytes.push(...utf8(s[i]!))
  }
  const t = tryUtf8(Uint8Array.from(bytes))
  if (t === null) throw new InvalidStructuredField('escaped key is not UTF-8')
  return t
}

// ---- the ao-types dictionary (HyperBEAM's SF dialect: keys may start with `.` or `%`) ----

/** Serialize `ao-types`: ascending by escaped key, `key="type"`, joined by `, `. */
export function serializeAoTypes(types: Map<string, string>): string {
  // Fast path: keys need no escaping and arrive sorted (as toTabm produces them).
  let out = ''
  let prev = ''
  let fast = true
  for (const [k, t] of types) {
    if (escapeKey(k) !== k || (out !== '' && compareUtf8(prev, k) >= 0)) { fast = false; break }
    out += (out === '' ? '' : ', ') + k + '="' + t + '"'
    prev = k
  }
  if (fast) return out
  const entries = [...types].map(([k, t]) => [escapeKey(k), t] as const)
  entries.sort((a, b) => compareUtf8(a[0], b[0]))
  return entries.map(([k, t]) => `${k}="${t}"`).join(', ')
}

const KEY_START = /[a-z0-9*%_\-.]/
const KEY_CHAR = /[a-z0-9*%_\-.]/

/** Parse `ao-types` into a map from (unescaped) key to type name. */
export function parseAoTypes(s: string): Map<string, string> {
  const out = new Map<string, string>()
  let i = 0
  const n = s.length
  const ws = () => { while (i < n && (s[i] === ' ' || s[i] === '\t')) i++ }
  ws()
  while (i < n) {
    const start = i
    if (!KEY_START.test(s[i]!)) throw new InvalidStructuredField(`bad ao-types key at ${i}`)
    while (i < n && KEY_CHAR.test(s[i]!)) i++
    const key = unescapeKey(s.slice(start, i))
    let value = 'true'
    if (s[i] === '=') {
      i++
      if (s[i] === '"') {
        i++
        let v = ''
        while (i < n && s[i] !== '"') {
          if (s[i] === '\\') { i++; if (s[i] !== '"' && s[i] !== '\\') throw new InvalidStructuredField('bad escape in ao-types') }
          const c = s.charCodeAt(i)
          if (c < 0x20 || c > 0x7e) throw new InvalidStructuredField('bad character in ao-types string')
          v += s[i]; i++
        }
        if (i >= n) throw new InvalidStructuredField('unterminated string in ao-types')
        i++
        value = v
      } else {
        const vs = i
        while (i < n && /[A-Za-z0-9_\-.:/*!#$&'+^`|~%]/.test(s[i]!)) i++
        if (vs === i) throw new InvalidStructuredField(`bad ao-types value at ${vs}`)
        value = s.slice(vs, i)
      }
    }
    // Parameters are not used by ao-types; skip them if present.
    while (s[i] === ';') { i++; while (i < n && s[i] !== ',' && s[i] !== ';') i++ }
    out.set(key, value)
    ws()
    if (i >= n) break
    if (s[i] !== ',') throw new InvalidStructuredField(`expected ',' in ao-types at ${i}`)
    i++
    ws()
    if (i >= n) throw new InvalidStructuredField('trailing comma in ao-types')
  }
  return out
}

// ---- legacy forms ----

function decodeLegacyList(s: string): Value[] {
  const items = parseSfStringList(s)
  return items.map((item) => {
    if (item.startsWith('(ao-type-')) {
      const close = item.indexOf(') ')
      if (close < 0) throw new InvalidAoType('bad legacy list item')
      return decodeScalar(item.slice(9, close), item.slice(close + 2))
    }
    return item
  })
}

function parseSfStringList(s: string): string[] {
  const out: string[] = []
  let i = 0
  const n = s.length
  while (i < n) {
    while (s[i] === ' ' || s[i] === '\t') i++
    if (i >= n) break
    if (s[i] === '"') {
      i++
      let v = ''
      while (i < n && s[i] !== '"') { if (s[i] === '\\') i++; v += s[i] ?? ''; i++ }
      if (i >= n) throw new InvalidStructuredField('unterminated string in list')
      i++
      out.push(v)
    } else {
      const st = i
      while (i < n && s[i] !== ',' && s[i] !== ' ') i++
      out.push(s.slice(st, i))
    }
    while (s[i] === ' ' || s[i] === '\t') i++
    if (i < n && s[i] !== ',') throw new InvalidStructuredField(`expected ',' in list at ${i}`)
    i++
  }
  return out
}

function decodeSfMap(s: string): Value {
  const m = Object.create(null) as Record<string, Value>
  for (const [k, v] of parseAoTypes(s)) m[k] = v
  return m
}
