/**
 * httpsig@1.0 as a codec: TABM (with commitments) ⇄ HTTP message.
 */
import { emptyTabm, type Tabm } from '../tabm.ts'
import { isTabm } from '../tabm.ts'
import { tabmToHttp, bodyToTabm, ungroupIds } from './wire.ts'
import { commitmentsOf } from './commitment.ts'
import { commitmentsToSiginfo, siginfoToCommitments } from './siginfo.ts'
import type { HttpMessage } from './types.ts'
import { utf8Lenient } from '../../core/bytes.ts'

export type { HttpMessage } from './types.ts'
export * from './commitment.ts'
export { encodeHttpMessage } from './wire.ts'

/** TABM → HTTP fields and body, with signature headers for its commitments. */
export function toHttp(t: Tabm): HttpMessage {
  const http = tabmToHttp(t)
  const comms = commitmentsOf(t)
  if (Object.keys(comms).length === 0) return http
  return Object.assign(http, commitmentsToSiginfo(t, comms))
}

/** HTTP fields and body → TABM with `commitments` parsed from the signature headers. */
export function fromHttp(http: HttpMessage): Tabm {
  const headers = emptyTabm()
  for (const k of Object.keys(http)) if (k !== 'body') headers[k] = http[k]!
  const { orderedBodyKeys, tabm: bodyTabm } = bodyToTabm(http)
  const merged = Object.assign(emptyTabm(), headers, bodyTabm)
  const withIds = ungroupIds(merged)
  const comms = siginfoToCommitments(withIds, orderedBodyKeys)
  const out = emptyTabm()
  for (const k of Object.keys(withIds)) {
    if (k === 'signature' || k === 'signature-input' || k === 'commitments' || k === 'content-digest') continue
    if (k in comms) continue
    if (k === 'content-type') {
      const v = withIds[k]!
      if (!isTabm(v) && (typeof v === 'string' ? v : utf8Lenient(v)).startsWith('multipart/')) continue
    }
    if (k === 'ao-body-key' && !isSignedKey(comms, 'ao-body-key')) continue
    out[k] = withIds[k]!
  }
  if (Object.keys(comms).length > 0) out['commitments'] = comms as unknown as Tabm
  return out
}

function isSignedKey(comms: Record<string, Record<string, unknown>>, key: string): boolean {
  for (const c of Object.values(comms)) {
    const committed = c['committed']
    if (committed && typeof committed === 'object' && Object.values(committed).includes(key)) return true
  }
  return false
}
