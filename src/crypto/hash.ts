/**
 * Hashes used by the core. Synchronous so the ID hot path never awaits:
 * @noble by default (runs anywhere); a host may install a faster backend with
 * the same results (the Node entry points install node:crypto's, 4–8× faster
 * on the tens of kilobytes a process state's ID hashes; src/crypto/node-hashes.ts).
 */
import { sha256 as nobleSha256, sha384 as nobleSha384, sha512 as nobleSha512 } from '@noble/hashes/sha2.js'
import { hmac } from '@noble/hashes/hmac.js'
import { utf8 } from '../core/bytes.ts'

export interface HashBackend {
  name: string
  sha256(b: Uint8Array): Uint8Array
  sha384(b: Uint8Array): Uint8Array
  sha512(b: Uint8Array): Uint8Array
  hmacSha256(key: Uint8Array, b: Uint8Array): Uint8Array
  /** HMAC-SHA256 with key `ao`. */
  hmacAo(b: Uint8Array): Uint8Array
  /**
   * The same HMAC through a native implementation that answers asynchronously
   * (WebCrypto), where that is much faster on long inputs than the synchronous
   * one: in a Chromium worker, hash-wasm's HMAC of 30 KB took 91 µs and WebCrypto's
   * 20 µs (SHA extensions; docs/benchmarks.md). Absent where the synchronous one
   * is native already.
   */
  hmacAoAsync?(b: Uint8Array): Promise<Uint8Array>
}

const AO_KEY = utf8('ao')
// The keyed state for `ao` is computed once; each HMAC clones it (saves two
// compressions per ID, measured ~1.3x on 100-byte bases).
const AO_STATE = hmac.create(nobleSha256, AO_KEY)

export const nobleHashes: HashBackend = {
  name: 'noble',
  sha256: (b) => nobleSha256(b),
  sha384: (b) => nobleSha384(b),
  sha512: (b) => nobleSha512(b),
  hmacSha256: (key, b) => hmac(nobleSha256, key, b),
  hmacAo: (b) => AO_STATE.clone().update(b).digest(),
}

let impl: HashBackend = nobleHashes

/** Use another implementation of the same hashes (undefined: back to @noble). */
export function useHashBackend(b: HashBackend | undefined): void {
  impl = b ?? nobleHashes
}

/** The backend in use. */
export const hashBackend = (): HashBackend => impl

export const sha256 = (b: Uint8Array): Uint8Array => impl.sha256(b)
export const sha384 = (b: Uint8Array): Uint8Array => impl.sha384(b)
export const sha512 = (b: Uint8Array): Uint8Array => impl.sha512(b)
/** HMAC-SHA256 with key `ao`: HyperBEAM's unsigned commitment. */
export const hmacAo = (b: Uint8Array): Uint8Array => impl.hmacAo(b)
export const hmacSha256 = (key: Uint8Array, b: Uint8Array): Uint8Array => impl.hmacSha256(key, b)
/** Whether `hmacAoAsync` is worth awaiting for long inputs (the backend has a native asynchronous HMAC). */
export const hasAsyncHmacAo = (): boolean => impl.hmacAoAsync !== undefined
/** HMAC-SHA256 with key `ao`, natively where the backend can (the input is read before this returns). */
export const hmacAoAsync = (b: Uint8Array): Promise<Uint8Array> => impl.hmacAoAsync ? impl.hmacAoAsync(b) : Promise.resolve(impl.hmacAo(b))
