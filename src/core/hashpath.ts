/**
 * Hashpaths (spec §2): `<base>/<last>`, extended one resolution step at a
 * time. `sha-256-chain` (default) folds the previous two parts with SHA-256;
 * `accumulate-256` adds them as 256-bit numbers.
 */
import { binaryText } from './value.ts'
import { isMessage, type Message, type Value } from './value.ts'
import { fromB64, toB64Url, utf8, concatBytes } from './bytes.ts'
import { sha256 } from '../crypto/hash.ts'
import { accumulate, allCommitmentsId, messageId } from './id.ts'
import { normalizeKey } from './keys.ts'
import { pathPartsOf } from './path-parts.ts'
import { InvalidHashpath, CannotAccumulate } from './errors.ts'

export type HashpathAlg = 'sha-256-chain' | 'accumulate-256'

const text = binaryText

/** The hashpath of a message on its own: priv.hashpath, else its ID over all commitments. */
export function baseHashpath(msg: Message | Uint8Array | string): string {
  if (typeof msg === 'string' || msg instanceof Uint8Array) return messageId(msg)
  const priv = findKey(msg, 'priv')
  if (priv !== undefined && isMessage(priv)) {
    const hp = text(priv['hashpath'])
    if (hp !== undefined) return hp
  }
  return allCommitmentsId(msg)
}

function findKey(m: Message, key: string): Value | undefined {
  if (key in m) return m[key]
  for (const k of Object.keys(m)) if (normalizeKey(k) === key) return m[k]
  return undefined
}

export function hashpathAlg(msg: Message): HashpathAlg {
  const a = text(findKey(msg, 'hashpath-alg'))
  return a === 'accumulate-256' ? 'accumulate-256' : 'sha-256-chain'
}

/** The `last` part contributed by a request: its first path part if it has only a path, else its ID. */
export function requestPart(req: Message): string {
  let other = false
  for (const k of Object.keys(req)) {
    const nk = normalizeKey(k)
    if (nk !== 'path' && nk !== 'hashpath' && nk !== 'priv') { other = true; break }
  }
  const path = findKey(req, 'path')
  if (!other && path !== undefined) {
    const parts = pathPartsOf(path)
    if (parts !== undefined && parts.length > 0) return parts[0]!
  }
  return allCommitmentsId(req)
}

/** Extend a hashpath with the part of one request. */
export function extendHashpath(prev: string, last: string, alg: HashpathAlg = 'sha-256-chain'): string {
  const parts = prev.split('/').filter((p) => p !== '')
  if (parts.length === 1) return `${parts[0]}/${last}`
  if (parts.length !== 2) throw new InvalidHashpath(`hashpath has ${parts.length} parts: ${prev.slice(0, 100)}`)
  const [p, q] = parts as [string, string]
  const pRaw = fromB64(p)
  if (pRaw.length !== 32) throw new InvalidHashpath('hashpath base is not a 32-byte ID')
  let next: Uint8Array
  if (alg === 'accumulate-256') {
    if (q.length !== 43) throw new CannotAccumulate(`cannot accumulate a key name (${q.slice(0, 64)}) into a hashpath`)
    next = accumulate([pRaw, fromB64(q)])
  } else {
    next = sha256(concatBytes(pRaw, q.length === 43 ? fromB64(q) : utf8(q)))
  }
  return `${toB64Url(next)}/${last}`
}

/** hashpath(Msg1, Msg2): the hashpath of the result of resolving req on base. */
export function hashpath(base: Message, req: Message): string {
  return extendHashpath(baseHashpath(base), requestPart(req), hashpathAlg(base))
}
