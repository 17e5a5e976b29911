/** The node:crypto and hash-wasm backends give the same bytes as @noble for every hash the core uses. */
import { beforeAll, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { hashBackend, nobleHashes, useHashBackend, type HashBackend } from '../../src/crypto/hash.ts'
import { freezeMessage, messageId, messageIdAsync } from '../../src/core/id.ts'
import { message, type Message } from '../../src/core/value.ts'
import { wasmHashes } from '../../src/crypto/wasm-hashes.ts'
import { nodeHashes } from '../../src/crypto/node-hashes.ts'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { SHARED } from './node-fixtures.ts'

interface DigestCase { id: string; alg: string; content_utf8?: string; content_hex?: string; expected: string }
const DIGESTS = (JSON.parse(readFileSync(resolve(SHARED, 'vectors/content-digest-rfc9530/vectors.json'), 'utf8')) as { cases: DigestCase[] }).cases
  .filter((c) => (c.alg === 'sha-256' || c.alg === 'sha-512') && (c.content_utf8 !== undefined || c.content_hex !== undefined))

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')

describe('hash backends', () => {
  let wasm: HashBackend
  beforeAll(async () => { wasm = await wasmHashes() })

  it('sha256/384/512, HMAC-SHA256 and the `ao` HMAC agree on random inputs', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 70_000 }), fc.uint8Array({ maxLength: 100 }), (b, key) => {
      for (const f of ['sha256', 'sha384', 'sha512', 'hmacAo'] as const) {
        expect(hex(nodeHashes[f](b))).toBe(hex(nobleHashes[f](b)))
        expect(hex(wasm[f](b)), `hash-wasm ${f}`).toBe(hex(nobleHashes[f](b)))
      }
      expect(hex(nodeHashes.hmacSha256(key, b))).toBe(hex(nobleHashes.hmacSha256(key, b)))
      expect(hex(wasm.hmacSha256(key, b))).toBe(hex(nobleHashes.hmacSha256(key, b)))
    }), { numRuns: 300 })
  })

  it('known answers: SHA-256("abc") and HMAC-SHA256 (RFC 4231 case 2)', () => {
    const abc = new TextEncoder().encode('abc')
    const want = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'
    expect(hex(nodeHashes.sha256(abc))).toBe(want)
    expect(hex(nobleHashes.sha256(abc))).toBe(want)
    expect(hex(wasm.sha256(abc))).toBe(want)
    const key = new TextEncoder().encode('Jefe'), data = new TextEncoder().encode('what do ya want for nothing?')
    const mac = '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843'
    expect(hex(nodeHashes.hmacSha256(key, data))).toBe(mac)
    expect(hex(nobleHashes.hmacSha256(key, data))).toBe(mac)
  })

  it('RFC 9530 Content-Digest vectors (../shared/vectors): SHA-256 and SHA-512, every backend', () => {
    expect(DIGESTS.length).toBeGreaterThan(5)
    for (const c of DIGESTS) {
      const body = c.content_hex !== undefined ? Buffer.from(c.content_hex, 'hex') : Buffer.from(c.content_utf8!, 'utf8')
      for (const b of [nobleHashes, nodeHashes, wasm]) {
        const d = c.alg === 'sha-256' ? b.sha256(new Uint8Array(body)) : b.sha512(new Uint8Array(body))
        expect(Buffer.from(d).toString('base64'), `${c.id} (${b.name})`).toBe(c.expected)
      }
    }
  })

  it('results are plain Uint8Arrays the caller owns', () => {
    for (const b of [nodeHashes, wasm]) {
      const d = b.sha256(new Uint8Array(3))
      expect(Object.getPrototypeOf(d)).toBe(Uint8Array.prototype)
      // Each answer is its own copy, not a view of the hasher's memory.
      const e = b.sha256(new Uint8Array(4))
      expect(hex(d)).toBe(hex(nobleHashes.sha256(new Uint8Array(3))))
      expect(d.buffer).not.toBe(e.buffer)
    }
  })

  it('hash-wasm carries WebCrypto\'s HMAC where there is WebCrypto, with the same answers', async () => {
    expect(wasm.hmacAoAsync).toBeDefined()
    for (const n of [0, 1, 64, 4095, 4096, 70_000]) {
      const b = new Uint8Array(n).map((_, i) => (i * 31) % 256)
      expect(hex(await wasm.hmacAoAsync!(b))).toBe(hex(nobleHashes.hmacAo(b)))
    }
  })

  it('messageIdAsync gives messageId\'s ID, hashing long children through the asynchronous HMAC', async () => {
    // A process-state shape: a long history, a short list, nested messages, a signed-looking child.
    const state = (): Message => freezeMessage(message({
      dedup: Array.from({ length: 700 }, (_, i) => `id-${i}-`.padEnd(43, 'x')),
      short: ['a', 'b'],
      results: message({ outbox: message({ '1': message({ target: 'x', data: 'y' }) }), status: 'OK' }),
      balance: message({ Abc: 1n, ['A'.repeat(43)]: 5n }),
      mixed: [1n, 'two', message({ three: 3n }), ...Array.from({ length: 200 }, (_, i) => `item ${i}`)],
      'at-slot': 7n,
    }))
    const want = messageId(state())
    const before = hashBackend()
    let asyncCalls = 0
    useHashBackend({ ...wasm, hmacAoAsync: (b) => { asyncCalls++; return wasm.hmacAoAsync!(b) } })
    try {
      const s = state()
      const top = message({ ...s })
      expect(await messageIdAsync(top)).toBe(want)
      // The history and the long mixed list went through it; the result is the same on a second ask.
      expect(asyncCalls).toBe(2)
      expect(messageId(top)).toBe(want)
    } finally {
      useHashBackend(before)
    }
  })
})

