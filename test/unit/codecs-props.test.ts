/** Property tests: random messages survive the wire; random input never crashes a decoder. */
import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { Atom, Float, binaryText, emptyMessage, type Message, type Value } from '../../src/core/value.ts'
import { toTabm, fromTabm } from '../../src/codecs/structured.ts'
import { commitHmac, toHttp, fromHttp, verifyCommitment, commitmentsOf } from '../../src/codecs/httpsig/index.ts'
import { hmacId, keysToCommit, normalizeForEncoding, signatureBase } from '../../src/codecs/httpsig/commitment.ts'
import { hmacAo } from '../../src/crypto/hash.ts'
import { toB64Url } from '../../src/core/bytes.ts'
import { deserializeFlat, flatToTabm, serializeFlat, tabmToFlat } from '../../src/codecs/flat.ts'
import { jsonToMessage } from '../../src/codecs/json.ts'
import { parseAoTypes } from '../../src/codecs/ao-types.ts'
import { parseTypedJson, stringifyTyped } from '../../src/core/typed-json.ts'
import { messageId, tabmId } from '../../src/core/id.ts'
import { AoError } from '../../src/core/errors.ts'
import { fromUtf8, utf8Lenient } from '../../src/core/bytes.ts'
import type { HttpMessage } from '../../src/codecs/httpsig/types.ts'

const RESERVED = /^(priv|ao-|content-|signature|commitments$|unsigned_id$|body$|data$)/
const key = fc.stringMatching(/^[a-z][a-z0-9-]{0,9}$/).filter((k) => !RESERVED.test(k) && ![32, 42, 43].includes(k.length))
const scalar: fc.Arbitrary<Value> = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme', maxLength: 8 }),
  fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => new Float(d)),
  fc.constantFrom<Value>(true, false, null, new Atom('ok'), new Atom('hello-world')),
)
const messageArb: fc.Arbitrary<Message> = fc.letrec((tie) => ({
  msg: fc.dictionary(key, fc.oneof({ depthSize: 'small', maxDepth: 2 }, scalar, fc.array(scalar, { maxLength: 3 }), tie('msg') as fc.Arbitrary<Value>), { maxKeys: 6 })
    .map((o) => Object.assign(emptyMessage(), o) as Message),
})).msg
const withBody = fc.tuple(messageArb, fc.option(fc.string({ minLength: 1 })), fc.option(fc.string({ minLength: 1, maxLength: 6000 })))
  .map(([m, body, data]) => {
    if (body !== null) m['body'] = body
    if (data !== null) m['data'] = data
    return m
  })

/** Assert `f` returns or throws an AoError: any other exception is a crash. */
function noCrash(f: () => unknown): void {
  try {
    f()
  } catch (e) {
    if (!(e instanceof AoError)) throw e
  }
}

describe('httpsig wire round trip', () => {
  it('random messages: structured → httpsig → back, same ID, commitment verifies', async () => {
    await fc.assert(fc.asyncProperty(withBody, async (m) => {
      const id = messageId(m)
      const http = toHttp(commitHmac(toTabm(m, { linkify: 'discard' })))
      const back = fromHttp(http)
      const comms = commitmentsOf(back)
      const ids = Object.keys(comms)
      expect(ids).toEqual([id])
      expect(await verifyCommitment(back, comms[id]!)).toBe(true)
      const bare = fromTabm(back) as Message
      delete bare['commitments']
      expect(messageId(bare)).toBe(id)
    }), { numRuns: 300 })
  })

  it('random bundled messages: nested maps inline as multipart, same ID', () => {
    fc.assert(fc.property(messageArb, (m) => {
      const http = toHttp(commitHmac(toTabm(m, { linkify: false })))
      const back = fromHttp(http)
      expect(Object.keys(commitmentsOf(back))).toEqual(Object.keys(commitmentsOf(commitHmac(toTabm(m, { linkify: false })))))
    }), { numRuns: 200 })
  })

  it('a leading U+FEFF is text like any other: kept by the UTF-8 decoders and across the wire', async () => {
    const bom = Uint8Array.from([0xef, 0xbb, 0xbf, 0x68, 0x69])
    expect(fromUtf8(bom)).toBe('\uFEFFhi')
    expect(utf8Lenient(bom)).toBe('\uFEFFhi')
    expect(binaryText(bom)).toBe('\uFEFFhi')
    const m = Object.assign(emptyMessage(), { greeting: '\uFEFFhi', body: '\uFEFF{"a":1}' })
    const id = messageId(m)
    const back = fromTabm(fromHttp(toHttp(commitHmac(toTabm(m, { linkify: 'discard' }))))) as Message
    expect(back['greeting']).toBe('\uFEFFhi')
    expect(back['body']).toBe('\uFEFF{"a":1}')
    delete back['commitments']
    expect(messageId(back)).toBe(id)
  })

  it('typed JSON round trip is exact', () => {
    fc.assert(fc.property(messageArb, (m) => {
      const text = stringifyTyped(m)
      expect(stringifyTyped(parseTypedJson(text))).toBe(text)
    }), { numRuns: 300 })
  })

  it('flat round trip', () => {
    fc.assert(fc.property(messageArb, (m) => {
      const t = toTabm(m, { linkify: 'discard' })
      expect(stringifyTyped(flatToTabm(tabmToFlat(t)) as unknown as Value)).toBe(stringifyTyped(t as unknown as Value))
    }), { numRuns: 200 })
  })
})

describe('one-pass IDs equal the IDs of the general TABM path', () => {
  const general = (v: Message | Value[]): string => tabmId(toTabm(v, { linkify: 'discard' }), 'unsigned')
  it('random messages', () => {
    fc.assert(fc.property(messageArb, (m) => { expect(messageId(m)).toBe(general(m)) }), { numRuns: 300 })
  })
  it('random lists, long enough that key order (1, 10, 100, 11, …) matters', () => {
    const item = fc.oneof(scalar, messageArb as fc.Arbitrary<Value>, fc.array(scalar, { maxLength: 3 }))
    fc.assert(fc.property(fc.array(item, { minLength: 1, maxLength: 250 }), (list) => {
      expect(messageId(list)).toBe(general(list))
    }), { numRuns: 200 })
  })
  it('random lists of strings (a dedup history: its lines come from kept key prefixes), up to four-digit keys', () => {
    // ASCII of every length around the 1,365-character limit, and some non-ASCII (the string path).
    const str = fc.oneof(
      fc.string({ unit: fc.constantFrom(...'aZ09-_ "\\:\n'.split('')), maxLength: 60 }),
      fc.string({ minLength: 1360, maxLength: 1370 }),
      fc.string({ maxLength: 8 }),
    )
    fc.assert(fc.property(fc.array(str, { minLength: 1, maxLength: 1200 }), (list) => {
      expect(messageId(list)).toBe(general(list))
    }), { numRuns: 60 })
  })
})

describe('HMAC IDs of TABMs with ID-shaped keys (ao-ids) equal the general normalize_for_encoding path', () => {
  const general = (t: ReturnType<typeof toTabm>): string => {
    const n = normalizeForEncoding(t, keysToCommit(t))
    return toB64Url(hmacAo(signatureBase(n.encoded, n.components, { alg: 'hmac-sha256', keyid: 'ao' })))
  }
  const b64 = fc.constantFrom(...'ABCXYZabcxyz0189-_'.split(''))
  // 43-character addresses, 32- and 42-byte IDs, and a multi-byte key of 32 bytes.
  const idKey = fc.oneof(
    fc.string({ unit: b64, minLength: 43, maxLength: 43 }),
    fc.string({ unit: b64, minLength: 32, maxLength: 32 }),
    fc.string({ unit: b64, minLength: 42, maxLength: 42 }),
    fc.constant('é'.repeat(16)),
  )
  const plainKey = fc.string({ unit: fc.constantFrom(...'abc-xyz'.split('')), minLength: 1, maxLength: 8 })
  const value: fc.Arbitrary<Value> = fc.oneof(
    fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }),
    fc.string({ maxLength: 40 }),
    fc.string({ unit: 'binary', maxLength: 5 }),
    fc.string({ minLength: 150, maxLength: 200 }).map((x) => x.repeat(30)),
  )
  it('random ledgers', () => {
    fc.assert(fc.property(fc.dictionary(idKey, value, { minKeys: 1, maxKeys: 90 }), fc.dictionary(plainKey, value, { maxKeys: 4 }), (ids, plain) => {
      const m = emptyMessage()
      for (const [k, v] of Object.entries(plain)) m[k] = v
      for (const [k, v] of Object.entries(ids)) m[k] = v
      let t: ReturnType<typeof toTabm>
      try { t = toTabm(m, { linkify: 'discard' }) } catch { return }
      let want: string | Error
      try { want = general(t) } catch (e) { want = e as Error }
      if (want instanceof Error) expect(() => hmacId(t)).toThrow(want.constructor as new () => Error)
      else expect(hmacId(t)).toBe(want)
    }), { numRuns: 400 })
  })
  it('ledgers around the 4,096-byte header limit of ao-ids', () => {
    // Text values (no ao-types, which would pass its own limit first) and integers.
    for (const n of [60, 70, 74, 75, 76, 77, 80, 120]) {
      for (const v of [(i: number) => `b${i}`, (i: number) => BigInt(i)]) {
        const m = emptyMessage()
        for (let i = 0; i < n; i++) m[('Ab' + i).padEnd(43, 'x')] = v(i)
        const t = toTabm(m, { linkify: 'discard' })
        expect(hmacId(t), `${n} holders`).toBe(general(t))
      }
    }
  })
})

describe('decoders never crash on random input', () => {
  const text = fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 300 }))
  it('fromHttp with random headers and bodies', () => {
    fc.assert(fc.property(fc.dictionary(fc.constantFrom('signature', 'signature-input', 'content-type', 'ao-types', 'ao-ids', 'ao-body-key', 'content-digest', 'x'), text), fc.option(text), (h, body) => {
      const http = Object.assign(Object.create(null), h) as HttpMessage
      if (body !== null) http['body'] = body
      noCrash(() => fromTabm(fromHttp(http)))
    }), { numRuns: 1000 })
  })
  it('multipart bodies with a valid boundary and random parts', () => {
    fc.assert(fc.property(fc.array(text, { maxLength: 4 }), (parts) => {
      const b = 'bnd'
      const body = parts.map((p) => `--${b}\r\n${p}`).join('\r\n') + `\r\n--${b}--`
      noCrash(() => fromHttp({ 'content-type': `multipart/form-data; boundary="${b}"`, body } as HttpMessage))
    }), { numRuns: 1000 })
  })
  it('ao-types, flat, json and typed JSON parsers', () => {
    fc.assert(fc.property(text, (s) => {
      noCrash(() => parseAoTypes(s))
      noCrash(() => flatToTabm(deserializeFlat(s)))
      noCrash(() => jsonToMessage(s))
      noCrash(() => parseTypedJson(s))
      noCrash(() => fromTabm({ 'ao-types': s, a: s, b: '1' }))
    }), { numRuns: 2000 })
  })
  it('typed values with every ao-type on random text', () => {
    fc.assert(fc.property(fc.constantFrom('integer', 'float', 'atom', 'list', 'map', 'binary', 'bogus'), text, (type, v) => {
      noCrash(() => fromTabm({ 'ao-types': `v="${type}"`, v }))
    }), { numRuns: 2000 })
  })
  it('flat serialization of random messages parses back', () => {
    fc.assert(fc.property(messageArb, (m) => {
      const flat = tabmToFlat(toTabm(m, { linkify: 'discard' }))
      const allSingleLine = Object.values(flat).every((v) => typeof v === 'string' && !v.includes('\n'))
      if (allSingleLine) expect(deserializeFlat(fromUtf8(serializeFlat(flat)))).toEqual(flat)
    }), { numRuns: 200 })
  })
})
