/**
 * Content-Digest values (RFC 9530, `sha-256=:…:`) of message bodies, with a
 * small cache: an ID computation digests the same body twice (the HTTP
 * encoding, then the signature base), and a process state carries the same
 * large module body from slot to slot (as a fresh string each time it comes
 * back from a VM), so re-hashing it dominated the cost of a result ID. Only
 * text is remembered (a string cannot change; bytes can).
 */
import { sha256 } from '../../crypto/hash.ts'
import { utf8 } from '../../core/bytes.ts'
import { contentDigestValue } from './sf.ts'
import { setBounded } from '../../core/bounded.ts'

/** Text bodies at least this long are remembered by content. */
const CACHED_MIN = 2048
const CACHE_MAX = 64
const byText = new Map<string, string>()

export function bodyDigest(body: string | Uint8Array): string {
  if (typeof body === 'string') {
    if (body.length < CACHED_MIN) return contentDigestValue(sha256(utf8(body)))
    const hit = byText.get(body)
    if (hit !== undefined) {
      // Refresh its place: the map's insertion order is the eviction order.
      byText.delete(body)
      byText.set(body, hit)
      return hit
    }
    const d = contentDigestValue(sha256(utf8(body)))
    setBounded(byText, body, d, CACHE_MAX)
    return d
  }
  // Bytes can change under the same object: never remembered.
  return contentDigestValue(sha256(body))
}
