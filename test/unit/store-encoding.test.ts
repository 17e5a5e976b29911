/** The exact value encoding: round trips, one encoding per value, strict decoding. */
import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { decodeValue, encodeValue, decodeEntry, encodeEntry, withEncoding } from '../../src/store/encoding.ts'
import { entriesFor, entryBytesOf } from '../../src/store/chunks.ts'
import { sha256 } from '../../src/crypto/hash.ts'
import { toB64Url } from '../../src/core/bytes.ts'
import { Atom, Float, Link, message, type Message } from '../../src/core/value.ts'
import { arbValue, exactValues, expectSame } from './store-contract.ts'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

describe('value encoding', () => {
  it('round-trips every kind of value exactly', () => {
    for (const [, v] of exactValues()) expectSame(decodeValue(encodeValue(v)), v)
    fc.assert(fc.property(arbValue, (v) => { expectSame(decodeValue(encodeValue(v)), v) }), { numRuns: 500 })
  })

  it('is canonical: insertion order does not matter, and re-encoding a decoded value gives the same bytes', () => {
    const a = message([['b', 1n], ['a', [new Float(1), new Atom('x')]], ['é', 'u'], ['z', null]])
    const b = message([['z', null], ['é', 'u'], ['a', [new Float(1), new Atom('x')]], ['b', 1n]])
    expect(hex(encodeValue(a))).toBe(hex(encodeValue(b)))
    fc.assert(fc.property(arbValue, (v) => {
      const bytes = encodeValue(v)
      expect(hex(encodeValue(decodeValue(bytes)))).toBe(hex(bytes))
    }), { numRuns: 300 })
  })

  it('keeps apart what other encodings merge', () => {
    const distinct = ['1', new Uint8Array([0x31]), 1n, new Float(1), new Atom('1'), new Link('1'), ['1'], message({ 1: '1' }),
      new Float(0), new Float(-0), 0n, '', new Uint8Array(0), null, new Atom('null_')]
    const seen = new Set(distinct.map((v) => hex(encodeValue(v))))
    expect(seen.size).toBe(distinct.length)
  })

  it('has fixed bytes (the format is stable across versions of this code)', () => {
    expect(hex(encodeValue(message({ a: 1n, b: [new Float(1.5), -256n], c: new Uint8Array([255]), d: new Atom('ok'), e: true }))))
      .toBe('0b0501610301010162' + '0a02' + '053ff8000000000000' + '04020100' + '016307' + '01ff' + '0164' + '08026f6b' + '016502')
  })

  it('the decoder accepts only canonical bytes (typed StoreCorrupt otherwise)', () => {
    const bad = [
      '', '0c', '03', '0301', '030100', '0400', '06 02 61'.replace(/ /g, ''), '0602c328',
      '0b02016201016101', // keys out of order
      '0b02016101016101', // duplicate key
      '0a0200', '00 00'.replace(/ /g, ''), '0a8000', '057ff8000000000001', '0804' + '74727565'.slice(0, 8),
      '09016102786b', // link type other than link
    ]
    for (const h of bad) expect(() => decodeValue(Uint8Array.from(Buffer.from(h, 'hex'))), h).toThrow(expect.objectContaining({ name: 'StoreCorrupt' }))
  })

  it('any bytes decode to a value or a typed StoreCorrupt, nothing else', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
      try {
        decodeValue(b)
      } catch (e) {
        expect((e as Error).name).toBe('StoreCorrupt')
      }
    }), { numRuns: 3000 })
    // Mutations of valid encodings, which get much further into the decoder than random bytes.
    fc.assert(fc.property(arbValue, fc.nat(), fc.integer({ min: 1, max: 255 }), (v, at, x) => {
      const b = encodeValue(v)
      b[at % b.length] ^= x
      try {
        expectSame(decodeValue(encodeValue(decodeValue(b))), decodeValue(b))
      } catch (e) {
        expect((e as Error).name).toBe('StoreCorrupt')
      }
    }), { numRuns: 2000 })
    const deep = new Uint8Array(5000).fill(0x0a).map((x, i) => (i % 2 ? 1 : x))
    expect(() => decodeValue(deep)).toThrow(expect.objectContaining({ name: 'StoreCorrupt' }))
  })

  it('refuses what has no exact encoding (lone surrogates), typed', () => {
    expect(() => encodeValue('a\udc00')).toThrow(expect.objectContaining({ name: 'UnencodableValue' }))
    expect(() => encodeValue(message({ ['\ud800']: 'k' }))).toThrow(expect.objectContaining({ name: 'UnencodableValue' }))
    expect(() => encodeValue('🌍')).not.toThrow()
  })

  it('entries have fixed bytes, whatever was encoded before (one reused writer)', () => {
    const link = '414f45016c03612f62c14cddc033f64b9d'
    const long = message({ x: 1n, long: 'y'.repeat(150) }) // a payload over 127 bytes: a two-byte length
    const longHex = '414f450176a5010b02046c6f6e6706960179797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979797901780301017bcdb40b42e22160'
    expect(hex(encodeEntry({ kind: 'link', target: 'a/b' }))).toBe(link)
    expect(hex(encodeEntry({ kind: 'value', value: long }))).toBe(longHex)
    // After a large value, and after an encoding that failed half-way, the bytes are the same.
    encodeValue(message({ big: 'z'.repeat(200_000) }))
    expect(() => encodeValue(message({ a: 'x'.repeat(1000), b: '\ud800' }))).toThrow(expect.objectContaining({ name: 'UnencodableValue' }))
    expect(hex(encodeEntry({ kind: 'value', value: long }))).toBe(longHex)
    // An encoding inside another's callback gets its own writer.
    const outer = withEncoding(long, (b) => { const inner = encodeValue(message({ q: 'w'.repeat(500) })); return [hex(b), inner.length] })
    expect(outer[0]).toBe(hex(encodeValue(long)))
    expect(outer[1]).toBe(encodeValue(message({ q: 'w'.repeat(500) })).length)
  })

  it('entries carry a checksum over their payload', () => {
    const e = encodeEntry({ kind: 'link', target: 'a/b' })
    expect(decodeEntry(e)).toEqual({ kind: 'link', target: 'a/b' })
    const v = encodeEntry({ kind: 'value', value: message({ x: 1n }) })
    expectSame((decodeEntry(v) as { value: unknown }).value, message({ x: 1n }))
    for (let i = 0; i < v.length; i++) {
      const b = v.slice()
      b[i] = b[i]! ^ 0x80
      expect(() => decodeEntry(b), `byte ${i}`).toThrow(expect.objectContaining({ name: 'StoreCorrupt' }))
    }
  })
})

describe('chunk entries', () => {
  it('a chunk is encoded once: its entry bytes are encodeEntry\'s, and its name is the SHA-256 of its encoding', () => {
    fc.assert(fc.property(fc.array(fc.oneof(fc.string({ maxLength: 50 }), fc.bigInt()), { minLength: 300, maxLength: 1500 }), fc.string(), (list, salt) => {
      // Items no earlier run had (the salt and the position in each): every chunk is named afresh.
      const items = list.map((x, i) => `${salt}:${i}:${String(x)}`)
      const writes = entriesFor('k', message({ h: items }))
      const chunks = writes.filter((w) => w.path.startsWith('chunks/'))
      expect(chunks.length).toBeGreaterThan(0)
      for (const w of chunks) {
        // Named just now, so its bytes came with its name.
        expect(w.encoded).toBeDefined()
        expect(hex(entryBytesOf(w))).toBe(hex(encodeEntry(w.entry)))
        expect(w.path).toBe('chunks/' + toB64Url(withEncoding((w.entry as { value: unknown[] }).value as never, sha256)))
      }
    }), { numRuns: 30 })
  })

  it('a new first chunk stays in the entry (kind h); the entry reads back whole, and the kind byte says so', () => {
    const list = Array.from({ length: 1200 }, (_, i) => `first-chunk-test-${i}`.padEnd(43, 'q'))
    const writes = entriesFor('k', message({ h: list, n: 1n }))
    const entry = writes[writes.length - 1]!.entry
    expect(entry).toMatchObject({ kind: 'chunked', heads: true })
    const bytes = encodeEntry(entry)
    expect(bytes[4]).toBe(0x68)
    expect(decodeEntry(bytes)).toEqual(entry)
    // An entry of kind c (written before heads existed) keeps such a list as it is.
    const v = (entry as { value: Message }).value
    const old = encodeEntry({ kind: 'chunked', value: v })
    expect(bytes[4]).not.toBe(old[4])
    expect(decodeEntry(old)).toEqual({ kind: 'chunked', value: v })
  })
})
