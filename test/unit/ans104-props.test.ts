/** Property tests for the ANS-104 codec: Avro tags, item layout, hostile input, TABM round trips. */
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { AoError } from '../../src/core/errors.ts'
import { decodeTags, encodeTags, type Tag } from '../../src/codecs/ans104/avro.ts'
import {
  parseItem, serializeItem, SIGNATURE_TYPES, type DataItem,
} from '../../src/codecs/ans104/data-item.ts'
import { itemToTabm, tabmToItem } from '../../src/codecs/ans104/convert.ts'
import type { Tabm } from '../../src/codecs/tabm.ts'

const bytes = (max: number) => fc.uint8Array({ maxLength: max })
const tagArb: fc.Arbitrary<Tag> = fc.record({ name: bytes(40), value: bytes(80) })
const tagsArb = fc.array(tagArb, { maxLength: 20 })

/** Zig-zag varint, written independently of the codec under test. */
function long(v: number): number[] {
  let z = v >= 0 ? 2 * v : -2 * v - 1
  const out: number[] = []
  do {
    const b = z % 128
    z = Math.floor(z / 128)
    out.push(z > 0 ? b | 0x80 : b)
  } while (z > 0)
  return out
}
const avroBytes = (b: Uint8Array): number[] => [...long(b.length), ...b]

/** Any valid Avro layout of the tags: random blocks, some with a negative count and a byte size. */
function altEncoding(tags: Tag[], cuts: number[], negative: boolean[]): Uint8Array {
  const out: number[] = []
  let i = 0
  let j = 0
  while (i < tags.length) {
    const n = Math.max(1, Math.min(tags.length - i, cuts[j % Math.max(cuts.length, 1)] ?? tags.length))
    const body = tags.slice(i, i + n).flatMap((t) => [...avroBytes(t.name), ...avroBytes(t.value)])
    if (negative[j % Math.max(negative.length, 1)]) out.push(...long(-n), ...long(body.length))
    else out.push(...long(n))
    out.push(...body)
    i += n
    j++
  }
  out.push(0)
  return Uint8Array.from(out)
}

const itemArb: fc.Arbitrary<DataItem> = fc.constantFrom(1, 2, 3, 4).chain((sigType) => {
  const st = SIGNATURE_TYPES[sigType]!
  return fc.record({
    sigType: fc.constant(sigType),
    signature: fc.uint8Array({ minLength: st.sigLength, maxLength: st.sigLength }),
    owner: fc.uint8Array({ minLength: st.ownerLength, maxLength: st.ownerLength }),
    target: fc.option(fc.uint8Array({ minLength: 32, maxLength: 32 }), { nil: new Uint8Array(0) }),
    anchor: fc.option(fc.uint8Array({ minLength: 32, maxLength: 32 }), { nil: new Uint8Array(0) }),
    tags: tagsArb,
    data: bytes(300),
  })
})

function sameItem(a: DataItem, b: DataItem): void {
  expect(b.sigType).toBe(a.sigType)
  expect(b.signature).toEqual(a.signature)
  expect(b.owner).toEqual(a.owner)
  expect(b.target).toEqual(a.target)
  expect(b.anchor).toEqual(a.anchor)
  expect(b.tags.map((t) => [t.name, t.value])).toEqual(a.tags.map((t) => [t.name, t.value]))
  expect(b.data).toEqual(a.data)
}

/** The call returns or throws an AoError; anything else (TypeError, RangeError, a hang) fails. */
function typedOrOk(f: () => unknown, budgetMs = 200): void {
  const t = performance.now()
  try {
    f()
  } catch (e) {
    if (!(e instanceof AoError)) throw e
  }
  expect(performance.now() - t).toBeLessThan(budgetMs)
}

describe('ans104 Avro tags', () => {
  it('round-trip through the canonical encoding', () => {
    fc.assert(fc.property(tagsArb, (tags) => {
      const enc = encodeTags(tags)
      expect(enc.length === 0).toBe(tags.length === 0)
      const dec = decodeTags(enc)
      expect(dec.map((t) => [t.name, t.value])).toEqual(tags.map((t) => [t.name, t.value]))
      expect(encodeTags(dec)).toEqual(enc)
    }), { numRuns: 300 })
  })

  it('decode any valid block layout, and re-encode canonically', () => {
    fc.assert(fc.property(tagsArb, fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 5 }),
      fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }), (tags, cuts, negative) => {
        const dec = decodeTags(altEncoding(tags, cuts, negative))
        expect(dec.map((t) => [t.name, t.value])).toEqual(tags.map((t) => [t.name, t.value]))
        expect(encodeTags(dec)).toEqual(encodeTags(tags))
      }), { numRuns: 300 })
  })

  it('random bytes: tags or a typed error, quickly', () => {
    fc.assert(fc.property(bytes(200), (b) => typedOrOk(() => decodeTags(b))), { numRuns: 2000 })
  })

  it('mutated encodings: tags or a typed error, quickly', () => {
    fc.assert(fc.property(tagsArb, fc.nat(), fc.integer({ min: 0, max: 255 }), (tags, at, byte) => {
      const enc = encodeTags(tags)
      if (enc.length === 0) return
      const m = enc.slice()
      m[at % m.length] = byte
      typedOrOk(() => decodeTags(m))
      typedOrOk(() => decodeTags(enc.subarray(0, at % enc.length)))
    }), { numRuns: 1000 })
  })
})

describe('ans104 data items', () => {
  it('serialize → parse gives the same item and the same bytes', () => {
    fc.assert(fc.property(itemArb, (item) => {
      const bin = serializeItem(item)
      const back = parseItem(bin)
      sameItem(item, back)
      expect(serializeItem(back)).toEqual(bin)
    }), { numRuns: 300 })
  })

  it('random bytes: an item or a typed error, quickly', () => {
    const header = fc.constantFrom(1, 2, 3, 4).chain((t) => bytes(1200).map((rest) => Uint8Array.from([t, 0, ...rest])))
    fc.assert(fc.property(fc.oneof(bytes(1200), header), (b) => typedOrOk(() => parseItem(b))), { numRuns: 2000 })
  })

  it('mutated and truncated items: an item or a typed error, quickly', () => {
    fc.assert(fc.property(itemArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.nat(),
      (item, edits, cut) => {
        const bin = serializeItem(item)
        const m = bin.slice()
        for (const [at, b] of edits) m[at % m.length] = b
        typedOrOk(() => parseItem(m))
        typedOrOk(() => parseItem(bin.subarray(0, cut % bin.length)))
      }), { numRuns: 500 })
  })

  it('huge declared counts fail fast', () => {
    const bin = serializeItem({
      sigType: 2, signature: new Uint8Array(64), owner: new Uint8Array(32), target: new Uint8Array(0), anchor: new Uint8Array(0),
      tags: [{ name: new Uint8Array([97]), value: new Uint8Array([98]) }], data: new Uint8Array(10),
    })
    const tagHeader = 2 + 64 + 32 + 2
    for (const [off, val] of [[0, 0xff], [6, 0xff], [8, 0xff], [14, 0x1f]] as const) {
      const m = bin.slice()
      for (let i = off; i < off + 2; i++) m[tagHeader + i] = val
      typedOrOk(() => parseItem(m), 50)
    }
    // A block count of 2^62 in otherwise tiny tag bytes.
    typedOrOk(() => decodeTags(Uint8Array.from([0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0])), 50)
  })
})

describe('ans104 TABM conversion', () => {
  const key = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,15}$/).map((k) => `k-${k}`)
  const value = fc.string({ maxLength: 60 })
  const tabmArb = fc.record({
    fields: fc.dictionary(key, value, { maxKeys: 20 }),
    data: fc.option(fc.string({ minLength: 1, maxLength: 100 }), { nil: undefined }),
  })

  it('flat messages round-trip through an unsigned item', () => {
    fc.assert(fc.property(tabmArb, ({ fields, data }) => {
      const tabm: Tabm = Object.assign(Object.create(null), fields)
      if (data !== undefined) tabm.data = data
      const item = parseItem(serializeItem(tabmToItem(tabm)))
      const back = itemToTabm(item)
      expect({ ...back }).toEqual({ ...tabm })
    }), { numRuns: 200 })
  })

  // Names avoid the #tx field names (`id`, `target`, ...), which HyperBEAM's `from` drops or moves.
  it('mixed-case and repeated tags survive through original-tags', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.stringMatching(/^[A-Za-z]{1,8}$/).map((n) => `T-${n}`), value), { minLength: 1, maxLength: 10 }), (pairs) => {
      const item = parseItem(serializeItem({
        sigType: 1, signature: new Uint8Array(512), owner: new Uint8Array(512), target: new Uint8Array(0), anchor: new Uint8Array(0),
        tags: pairs.map(([n, v]) => ({ name: new TextEncoder().encode(n), value: new TextEncoder().encode(v) })), data: new Uint8Array(0),
      }))
      const tabm = itemToTabm(item)
      for (const k of Object.keys(tabm)) expect(k).toBe(k === 'commitments' ? k : k.toLowerCase())
      const again = tabmToItem(tabm)
      expect(serializeItem(again)).toEqual(serializeItem(item))
    }), { numRuns: 200 })
  })
})
