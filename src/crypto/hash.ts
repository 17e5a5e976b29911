/** Hashes used by the core. Synchronous (@noble) so the ID hot path never awaits. */
import { sha256 as nobleSha256, sha384 as nobleSha384, sha512 as nobleSha512 } from '@noble/hashes/sha2.js'
import { hmac } from '@noble/hashes/hmac.js'
import { utf8 } from '../core/bytes.ts'

export const sha256 = (b: Uint8Array): Uint8Array => nobleSha256(b)
export const sha384 = (b: Uint8Array): Uint8Array => nobleSha384(b)
export const sha512 = (b: Uint8Array): Uint8Array => nobleSha512(b)

const AO_KEY = utf8('ao')
// The keyed state for `ao` is computed once; each HMAC clones it (saves two
// compressions per ID, measured ~1.3x on 100-byte bases).
const AO_STATE = hmac.create(nobleSha256, AO_KEY)
/** HMAC-SHA256 with key `ao`: HyperBEAM's unsigned commitment. */
export const hmacAo = (b: Uint8Array): Uint8Array => AO_STATE.clone().update(b).digest()
export const hmacSha256 = (key: Uint8Array, b: Uint8Array): Uint8Array => hmac(nobleSha256, key, b)
