/**
 * ANS-104 tags as Avro: an array of records {name: bytes, value: bytes}.
 * Longs are zig-zag varints. The decoder accepts any valid block layout
 * (several blocks; a negative item count followed by the block's byte size);
 * the encoder writes the canonical form: one block, then the 0 terminator.
 * Zero tags encode as zero bytes.
 */
import { utf8 } from '../../core/bytes.ts'
import { InvalidAvro } from '../../core/errors.ts'

export interface Tag {
  name: Uint8Array
  value: Uint8Array
}

/** A tag from text or bytes. */
export const tag = (name: string | Uint8Array, value: string | Uint8Array): Tag => ({
  name: typeof name === 'string' ? utf8(name) : name,
  value: typeof value === 'string' ? utf8(value) : value,
})

// ---- encoding ----

function longSize(v: number): number {
  let z = v >= 0 ? v * 2 : -v * 2 - 1
  let n = 1
  while (z >= 128) { z = Math.floor(z / 128); n++ }
  return n
}

function writeLong(out: Uint8Array, pos: number, v: number): number {
  let z = v >= 0 ? v * 2 : -v * 2 - 1
  while (z >= 128) {
    out[pos++] = (z % 128) | 0x80
    z = Math.floor(z / 128)
  }
  out[pos++] = z
  return pos
}

/** Canonical Avro bytes of a tag list (empty list: zero bytes). */
export function encodeTags(tags: readonly Tag[]): Uint8Array {
  if (tags.length === 0) return new Uint8Array(0)
  let size = longSize(tags.length) + 1
  for (const t of tags) size += longSize(t.name.length) + t.name.length + longSize(t.value.length) + t.value.length
  const out = new Uint8Array(size)
  let pos = writeLong(out, 0, tags.length)
  for (const t of tags) {
    pos = writeLong(out, pos, t.name.length)
    out.set(t.name, pos); pos += t.name.length
    pos = writeLong(out, pos, t.value.length)
    out.set(t.value, pos); pos += t.value.length
  }
  out[pos] = 0
  return out
}

// ---- decoding ----

interface Cursor { b: Uint8Array; pos: number; end: number }

const TWO_7 = [1, 2 ** 7, 2 ** 14, 2 ** 21, 2 ** 28, 2 ** 35, 2 ** 42, 2 ** 49, 2 ** 56, 2 ** 63]

/** A zig-zag varint long; values beyond ±2^53 are rejected (no length can be that large). */
function readLong(c: Cursor): number {
  let z = 0
  for (let i = 0; i < 10; i++) {
    if (c.pos >= c.end) throw new InvalidAvro('truncated Avro varint')
    const byte = c.b[c.pos++]!
    z += (byte & 0x7f) * TWO_7[i]!
    if ((byte & 0x80) === 0) {
      if (z > Number.MAX_SAFE_INTEGER) throw new InvalidAvro('Avro long out of range')
      return z % 2 === 0 ? z / 2 : -(z + 1) / 2
    }
  }
  throw new InvalidAvro('Avro varint longer than 10 bytes')
}

function readBytes(c: Cursor): Uint8Array {
  const len = readLong(c)
  if (len < 0) throw new InvalidAvro(`negative Avro bytes length ${len}`)
  if (len > c.end - c.pos) throw new InvalidAvro(`Avro bytes length ${len} exceeds the ${c.end - c.pos} bytes left`)
  const out = c.b.subarray(c.pos, c.pos + len)
  c.pos += len
  return out
}

/**
 * Decode Avro tag bytes; every byte must belong to the array. Names and
 * values are views into `bytes` (no copies). Zero bytes decode to no tags.
 */
export function decodeTags(bytes: Uint8Array): Tag[] {
  const tags: Tag[] = []
  if (bytes.length === 0) return tags
  const c: Cursor = { b: bytes, pos: 0, end: bytes.length }
  for (;;) {
    let count = readLong(c)
    if (count === 0) break
    let blockEnd = -1
    if (count < 0) {
      count = -count
      const size = readLong(c)
      if (size < 0 || size > c.end - c.pos) throw new InvalidAvro(`bad Avro block size ${size}`)
      blockEnd = c.pos + size
    }
    // Each record takes at least two bytes: bound the count before looping.
    if (count > (c.end - c.pos) / 2) throw new InvalidAvro(`Avro block of ${count} tags exceeds the input`)
    for (let i = 0; i < count; i++) {
      const name = readBytes(c)
      const value = readBytes(c)
      tags.push({ name, value })
    }
    if (blockEnd >= 0 && c.pos !== blockEnd) throw new InvalidAvro('Avro block size does not match its contents')
  }
  if (c.pos !== c.end) throw new InvalidAvro(`${c.end - c.pos} bytes after the Avro tag array`)
  return tags
}
