/**
 * RSA-PSS over WebCrypto for Arweave keys (public exponent 65537).
 *
 * WebCrypto needs the exact salt length to verify, but signers differ:
 * HyperBEAM's rsa_pss uses the digest length (32 / 64), arbundles and Node
 * default to the maximum (key bytes − digest − 2: 478 / 446 for RSA-4096), and
 * some signers use 0. `rsaPssVerify` tries them in that order, starting with
 * the length that last worked for the same key.
 */
import { toB64Url } from '../core/bytes.ts'
import { InvalidRsaParams } from '../core/errors.ts'
import type { Wallet } from './wallet.ts'
import { setBounded } from '../core/bounded.ts'

export type PssHash = 'SHA-256' | 'SHA-512'

const DIGEST_BYTES: Record<PssHash, number> = { 'SHA-256': 32, 'SHA-512': 64 }
const JWK_ALG: Record<PssHash, string> = { 'SHA-256': 'PS256', 'SHA-512': 'PS512' }
/** Imported public keys kept (by modulus); importing a 4096-bit key is slow. */
const CACHE_LIMIT = 256

const subtle = (): SubtleCrypto => globalThis.crypto.subtle
/** WebCrypto's typings want an ArrayBuffer-backed view; every Uint8Array works at run time. */
const buf = (b: Uint8Array): Uint8Array<ArrayBuffer> => b as Uint8Array<ArrayBuffer>

export const digestLength = (hash: PssHash): number => DIGEST_BYTES[hash]

/** The modulus without leading zero bytes, and its bit length. */
function modulusBits(n: Uint8Array): [Uint8Array, number] {
  let i = 0
  while (i < n.length && n[i] === 0) i++
  if (i === n.length) return [n.subarray(i), 0]
  return [n.subarray(i), (n.length - i - 1) * 8 + (32 - Math.clz32(n[i]!))]
}

/** EMSA-PSS maximum salt: emLen − hLen − 2, with emLen = ⌈(modBits − 1) / 8⌉. */
export function maxSaltLength(n: Uint8Array, hash: PssHash): number {
  const bits = modulusBits(n)[1]
  return Math.ceil((bits - 1) / 8) - DIGEST_BYTES[hash] - 2
}

/** Salt lengths tried by `rsaPssVerify`: digest length, maximum, zero. */
export function pssSaltLengths(n: Uint8Array, hash: PssHash): number[] {
  const max = maxSaltLength(n, hash)
  const out = [DIGEST_BYTES[hash]]
  if (max !== out[0] && max > 0) out.push(max)
  out.push(0)
  return out.filter((s) => s <= max)
}

/** Sign with the wallet's private key (RSA-PSS, MGF1 with the same hash). */
export async function rsaPssSign(wallet: Wallet, hash: PssHash, saltLength: number, data: Uint8Array): Promise<Uint8Array> {
  const max = maxSaltLength(wallet.n, hash)
  if (!Number.isInteger(saltLength) || saltLength < 0 || saltLength > max) {
    throw new InvalidRsaParams(`PSS salt length ${saltLength} is outside 0..${max} for this key and ${hash}`)
  }
  const sig = await subtle().sign({ name: 'RSA-PSS', saltLength }, wallet.privateKey(hash), buf(data))
  return new Uint8Array(sig)
}

interface CachedKey {
  keys: Partial<Record<PssHash, Promise<CryptoKey | null>>>
  /** The salt length that last verified, per hash: tried first next time. */
  salt: Partial<Record<PssHash, number>>
}
const cache = new Map<string, CachedKey>()

function entry(n: Uint8Array): CachedKey {
  const id = toB64Url(n)
  let e = cache.get(id)
  if (e) {
    // Refresh recency (Map keeps insertion order; the oldest is evicted first).
    cache.delete(id)
    cache.set(id, e)
    return e
  }
  e = { keys: {}, salt: {} }
  setBounded(cache, id, e, CACHE_LIMIT)
  return e
}

function importPublic(n: Uint8Array, hash: PssHash): Promise<CryptoKey | null> {
  const [stripped, bits] = modulusBits(n)
  if (bits < 512) return Promise.resolve(null)
  const jwk: JsonWebKey = { kty: 'RSA', n: toB64Url(stripped), e: 'AQAB', alg: JWK_ALG[hash], ext: true }
  return subtle().importKey('jwk', jwk, { name: 'RSA-PSS', hash }, false, ['verify']).catch(() => null)
}

/** Put an already imported public key in the cache (a loaded wallet does this). */
export function cachePublicKey(n: Uint8Array, hash: PssHash, key: CryptoKey): void {
  entry(n).keys[hash] = Promise.resolve(key)
}

/**
 * Verify an RSA-PSS signature by the key with modulus `n` and e = 65537.
 * Returns false (never throws) for a wrong signature, a signature of the wrong
 * length or a modulus WebCrypto cannot import.
 */
export async function rsaPssVerify(
  n: Uint8Array, hash: PssHash, data: Uint8Array, sig: Uint8Array, saltLengths?: number[],
): Promise<boolean> {
  if (sig.length !== n.length || sig.length === 0) return false
  const e = entry(n)
  const pending = e.keys[hash] ?? (e.keys[hash] = importPublic(n, hash))
  const key = await pending
  if (key === null) return false
  let order = saltLengths ?? pssSaltLengths(n, hash)
  const last = e.salt[hash]
  if (last !== undefined && order.includes(last) && order[0] !== last) order = [last, ...order.filter((s) => s !== last)]
  for (const saltLength of order) {
    let ok = false
    try {
      ok = await subtle().verify({ name: 'RSA-PSS', saltLength }, key, buf(sig), buf(data))
    } catch {
      ok = false
    }
    if (ok) {
      e.salt[hash] = saltLength
      return true
    }
  }
  return false
}
