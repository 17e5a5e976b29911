/**
 * Arweave's deep hash with SHA-384 (ANS-104 signing payload):
 *   blob: H(H("blob" + byteLength) ‖ H(bytes))
 *   list: acc = H("list" + count); acc = H(acc ‖ deepHash(item)) for each item
 */
import { sha384 } from '../../crypto/hash.ts'
import { utf8 } from '../../core/bytes.ts'
import { InvalidDataItem } from '../../core/errors.ts'

export type DeepHashChunk = Uint8Array | readonly DeepHashChunk[]

const MAX_DEPTH = 64

function pair(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length)
  out.set(a, 0)
  out.set(b, a.length)
  return sha384(out)
}

function hash(chunk: DeepHashChunk, depth: number): Uint8Array {
  if (chunk instanceof Uint8Array) return pair(sha384(utf8('blob' + chunk.length)), sha384(chunk))
  if (!Array.isArray(chunk)) throw new InvalidDataItem('deep hash takes bytes or lists of them')
  if (depth >= MAX_DEPTH) throw new InvalidDataItem('deep hash input is nested too deeply')
  let acc = sha384(utf8('list' + chunk.length))
  for (const item of chunk) acc = pair(acc, hash(item, depth + 1))
  return acc
}

/** The 48-byte deep hash of a blob or a (nested) list of blobs. */
export const deepHash = (chunk: DeepHashChunk): Uint8Array => hash(chunk, 0)
