/**
 * hash-wasm's SHA-2 as a HashBackend, for the browser (the tab node's worker),
 * where node:crypto is not there. Measured in Node's V8 against @noble 2.4.0:
 * 2.1× on 24 KB (a token process's state with its `dedup` history, hashed for
 * its ID and for each store entry's checksum), 1.6× on a 114-byte ID base.
 * Its hashers are created asynchronously once, then hash synchronously, as the
 * ID path needs; all hashing is synchronous, so one hasher per algorithm is
 * never used by two callers at once.
 */
import { createHMAC, createSHA256, createSHA384, createSHA512, type IHasher } from 'hash-wasm'
import { nobleHashes, useHashBackend, type HashBackend } from './hash.ts'

function once(h: IHasher, b: Uint8Array): Uint8Array {
  h.init()
  h.update(b)
  return h.digest('binary')
}

/**
 * WebCrypto's HMAC with key `ao`, where there is WebCrypto (a secure context,
 * a worker of one). Chromium runs it on the calling thread, but natively.
 */
async function subtleHmacAo(): Promise<((b: Uint8Array) => Promise<Uint8Array>) | undefined> {
  const subtle = globalThis.crypto?.subtle
  if (subtle === undefined) return undefined
  try {
    const key = await subtle.importKey('raw', new TextEncoder().encode('ao'), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
    return async (b) => new Uint8Array(await subtle.sign('HMAC', key, b as Uint8Array<ArrayBuffer>))
  } catch {
    return undefined
  }
}

/** The backend (its WebAssembly compiled and instantiated). */
export async function wasmHashes(): Promise<HashBackend> {
  const [s256, s384, s512, ao, aoAsync] = await Promise.all([
    createSHA256(), createSHA384(), createSHA512(), createHMAC(createSHA256(), 'ao'), subtleHmacAo(),
  ])
  return {
    ...(aoAsync ? { hmacAoAsync: aoAsync } : {}),
    name: 'hash-wasm',
    sha256: (b) => once(s256, b),
    sha384: (b) => once(s384, b),
    sha512: (b) => once(s512, b),
    // Keys other than `ao` are rare (wallet-derived HMACs): @noble's.
    hmacSha256: nobleHashes.hmacSha256,
    hmacAo: (b) => once(ao, b),
  }
}

let installing: Promise<string> | undefined

/**
 * Hash with hash-wasm from now on; the name of the backend in use is the
 * answer. Where WebAssembly cannot be compiled the core stays on @noble.
 */
export function useWasmHashes(): Promise<string> {
  installing ??= wasmHashes().then((b) => { useHashBackend(b); return b.name }, () => nobleHashes.name)
  return installing
}
