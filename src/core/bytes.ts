/** Byte helpers: UTF-8, base64 (standard, padded) and base64url (no padding). */
import { InvalidBase64, InvalidUtf8 } from './errors.ts'

const enc = new TextEncoder()
// A leading U+FEFF is a character like any other here: the default decoder would drop it.
const dec = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
const lenient = new TextDecoder('utf-8', { ignoreBOM: true })

export const utf8 = (s: string): Uint8Array => enc.encode(s)

/** Decode UTF-8, malformed bytes replaced by U+FFFD. */
export const utf8Lenient = (b: Uint8Array): string => lenient.decode(b)

/** Decode UTF-8 strictly; throws InvalidUtf8 on malformed input. */
export function fromUtf8(b: Uint8Array): string {
  try {
    return dec.decode(b)
  } catch {
    throw new InvalidUtf8('bytes are not valid UTF-8')
  }
}

/** Decode UTF-8 if valid, else null. */
export function tryUtf8(b: Uint8Array): string | null {
  try {
    return dec.decode(b)
  } catch {
    return null
  }
}

/** Byte length of a string's UTF-8 encoding, without allocating for ASCII. */
export function utf8Length(s: string): number {
  let n = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80) n += 1
    else if (c < 0x800) n += 2
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1)
      if (d >= 0xdc00 && d <= 0xdfff) { n += 4; i++ } else n += 3
    } else n += 3
  }
  return n
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const REV = new Int16Array(256).fill(-1)
for (let i = 0; i < 64; i++) REV[B64.charCodeAt(i)] = i
REV['-'.charCodeAt(0)] = 62
REV['_'.charCodeAt(0)] = 63

function encode(b: Uint8Array, alphabet: string, pad: boolean): string {
  let out = ''
  let i = 0
  for (; i + 2 < b.length; i += 3) {
    const n = (b[i]! << 16) | (b[i + 1]! << 8) | b[i + 2]!
    out += alphabet[n >> 18]! + alphabet[(n >> 12) & 63]! + alphabet[(n >> 6) & 63]! + alphabet[n & 63]!
  }
  const rest = b.length - i
  if (rest === 1) {
    const n = b[i]! << 16
    out += alphabet[n >> 18]! + alphabet[(n >> 12) & 63]! + (pad ? '==' : '')
  } else if (rest === 2) {
    const n = (b[i]! << 16) | (b[i + 1]! << 8)
    out += alphabet[n >> 18]! + alphabet[(n >> 12) & 63]! + alphabet[(n >> 6) & 63]! + (pad ? '=' : '')
  }
  return out
}

/** Standard base64 with padding (RFC 4648 §4). */
export const toB64 = (b: Uint8Array): string => encode(b, B64, true)
/** base64url without padding (RFC 4648 §5), as HyperBEAM's human IDs. */
export const toB64Url = (b: Uint8Array): string => encode(b, B64URL, false)

/**
 * Decode base64 or base64url, padded or not. Both alphabets are accepted, as
 * b64fast and Erlang's base64 module accept what HyperBEAM feeds them.
 */
export function fromB64(s: string): Uint8Array {
  let end = s.length
  while (end > 0 && s.charCodeAt(end - 1) === 61 /* = */) end--
  if (s.length - end > 2) throw new InvalidBase64('too much base64 padding')
  if (end % 4 === 1) throw new InvalidBase64('base64 length is impossible')
  const out = new Uint8Array(Math.floor((end * 3) / 4))
  let o = 0
  let acc = 0
  let bits = 0
  for (let i = 0; i < end; i++) {
    const c = s.charCodeAt(i)
    const v = c < 256 ? REV[c]! : -1
    if (v < 0) throw new InvalidBase64(`invalid base64 character at ${i}`)
    acc = (acc << 6) | v
    bits += 6
    if (bits >= 8) {
      bits -= 8
      out[o++] = (acc >> bits) & 0xff
    }
  }
  return out
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0
  for (const p of parts) n += p.length
  const out = new Uint8Array(n)
  let o = 0
  for (const p of parts) { out.set(p, o); o += p.length }
  return out
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** Bytewise comparison of two strings' UTF-8 encodings (Erlang binary order). */
export function compareUtf8(a: string, b: string): number {
  // For strings, UTF-16 order differs from UTF-8 order only for astral vs
  // U+E000..U+FFFF; compare code points to get UTF-8 byte order.
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i)
    const y = b.charCodeAt(i)
    if (x === y) continue
    const xs = x >= 0xd800 && x <= 0xdfff
    const ys = y >= 0xd800 && y <= 0xdfff
    if (xs !== ys) return xs ? 1 : -1
    return x - y
  }
  return a.length - b.length
}
