/**
 * The snapshot format: portable, versioned, deterministic bytes. Browser-pure.
 *
 *   snapshot := "AOSNAP" 0x00 version(1 byte) value
 *
 * `value` is the exact value encoding of src/store/encoding.ts (canonical:
 * one value, one byte string), so the same state gives the same bytes on any
 * machine, and so the same CID. A reader refuses versions it does not know
 * (SnapshotVersionUnsupported) rather than guessing; damaged bytes are
 * SnapshotCorrupt.
 */
import type { Value } from '../core/value.ts'
import { decodeValue, encodeValue } from '../store/encoding.ts'
import { SnapshotCorrupt, SnapshotVersionUnsupported } from './errors.ts'

export const SNAPSHOT_VERSION = 1
const MAGIC = [0x41, 0x4f, 0x53, 0x4e, 0x41, 0x50, 0x00] // "AOSNAP\0"
const HEADER = MAGIC.length + 1

export function encodeSnapshot(state: Value): Uint8Array {
  const body = encodeValue(state)
  const out = new Uint8Array(HEADER + body.length)
  out.set(MAGIC)
  out[MAGIC.length] = SNAPSHOT_VERSION
  out.set(body, HEADER)
  return out
}

/** The version a snapshot's header declares (without decoding the rest). */
export function snapshotVersion(bytes: Uint8Array): number {
  if (bytes.length < HEADER || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new SnapshotCorrupt('not a snapshot: the AOSNAP header is missing')
  }
  return bytes[MAGIC.length]!
}

export function decodeSnapshot(bytes: Uint8Array): Value {
  const v = snapshotVersion(bytes)
  if (v !== SNAPSHOT_VERSION) {
    throw new SnapshotVersionUnsupported(`snapshot format version ${v} is not supported (this node reads ${SNAPSHOT_VERSION})`)
  }
  return decodeValue(bytes.subarray(HEADER), SnapshotCorrupt, 'snapshot: ')
}
