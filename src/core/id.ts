/**
 * Message IDs (spec §3.2):
 *   unsignedId  = id(M, committers=none): the HMAC commitment(s), fresh if absent
 *   signedId    = id(M, committers=all): commitments that have a committer
 *                 (falling back to the unsigned ones when there are none)
 *   allCommitmentsId = id(M, commitments=all): every commitment, HMAC included
 *                 (what the hashpath uses)
 * Several IDs combine by `accumulate` (a 256-bit sum, order-free).
 */
import { isMessage, type Message, type Value } from './value.ts'
import { fromB64, toB64Url, utf8 } from './bytes.ts'
import { sha256 } from '../crypto/hash.ts'
import { setChildIdFunction, toTabm } from '../codecs/structured.ts'
import { HTTPSIG, commitmentsOf, hmacId } from '../codecs/httpsig/commitment.ts'
import { CannotAccumulate } from './errors.ts'
import type { Tabm } from '../codecs/tabm.ts'

export type IdScope = 'unsigned' | 'signed' | 'all-commitments'

/** The 256-bit big-endian sum of native IDs, modulo 2^256. */
export function accumulate(ids: Uint8Array[]): Uint8Array {
  const acc = new Uint8Array(32)
  for (const id of ids) {
    if (id.length !== 32) throw new CannotAccumulate(`cannot accumulate an ID of ${id.length} bytes`)
    let carry = 0
    for (let i = 31; i >= 0; i--) {
      const s = acc[i]! + id[i]! + carry
      acc[i] = s & 0xff
      carry = s >> 8
    }
  }
  return acc
}

/** A human ID (43-char base64url) as 32 raw bytes; 32- and 42-byte inputs pass through. */
export function nativeId(id: string | Uint8Array): Uint8Array {
  if (id instanceof Uint8Array) return id
  if (id.length === 43) return fromB64(id)
  return utf8(id)
}

const text = (v: Value | undefined): string | undefined =>
  typeof v === 'string' ? v : v instanceof Uint8Array ? new TextDecoder().decode(v) : undefined

function selectCommitments(comms: Record<string, Message>, scope: IdScope): string[] {
  const ids = Object.keys(comms)
  if (scope === 'all-commitments') return ids
  if (scope === 'signed') {
    const signed = ids.filter((id) => comms[id]!['committer'] !== undefined)
    if (signed.length > 0) return signed
  }
  return ids.filter((id) => text(comms[id]!['commitment-device']) === HTTPSIG && comms[id]!['committer'] === undefined)
}

/** The ID of a TABM (linkified), under a scope. */
export function tabmId(t: Tabm, scope: IdScope): string {
  const comms = commitmentsOf(t)
  const selected = selectCommitments(comms, scope)
  if (selected.length === 0) {
    if ('commitments' in t) {
      const bare = Object.assign(Object.create(null), t) as Tabm
      delete bare['commitments']
      return hmacId(bare)
    }
    return hmacId(t)
  }
  if (selected.length === 1) return selected[0]!
  return toB64Url(accumulate(selected.map(nativeId)))
}

/** The ID of a message under a scope; a binary's ID is its SHA-256. */
export function messageId(msg: Message | Value[] | Uint8Array | string, scope: IdScope = 'unsigned'): string {
  if (typeof msg === 'string') return toB64Url(sha256(utf8(msg)))
  if (msg instanceof Uint8Array) return toB64Url(sha256(msg))
  return tabmId(toTabm(msg, { linkify: 'discard' }), scope)
}

export const unsignedId = (msg: Message | Value[]): string => messageId(msg, 'unsigned')
export const signedId = (msg: Message | Value[]): string => messageId(msg, 'signed')
export const allCommitmentsId = (msg: Message | Value[]): string => messageId(msg, 'all-commitments')

// Links inside messages are the children's IDs over all committers.
setChildIdFunction((child) => messageId(child, 'signed'))

export { isMessage }
