/**
 * Commitments ⇄ `signature` / `signature-input` headers (spec §3.5, "On the
 * wire"). HyperBEAM parses only labels that start with `sig-`; so do we, so
 * that the IDs we compute match (documented in README).
 */
import { emptyMessage, type Message } from '../../core/value.ts'
import { fromB64, toB64Url, utf8Lenient } from '../../core/bytes.ts'
import { sha256 } from '../../crypto/hash.ts'
import { parseDictionary, type Dictionary, type Item, type InnerList } from 'structured-headers'
import { sfBinary, sfString, sfStringLoose } from './sf.ts'
import { committedKeys, fromSiginfoKeys, normalizeForEncoding, HTTPSIG } from './commitment.ts'
import { listToNumbered } from '../structured.ts'
import type { Tabm } from '../tabm.ts'
import type { HttpMessage } from './types.ts'
import { InvalidSignatureHeader } from '../../core/errors.ts'

const FIXED = ['alg', 'keyid', 'tag', 'created', 'expires', 'nonce']
const NOT_PARAMS = new Set([...FIXED, 'committed', 'signature', 'type', 'commitment-device', 'committer'])

const text = (v: unknown): string => (typeof v === 'string' ? v : v instanceof Uint8Array ? utf8Lenient(v) : String(v))

function alg(c: Message): string {
  const dev = text(c['commitment-device'])
  const type = c['type'] === undefined ? undefined : text(c['type'])
  if (dev === HTTPSIG && type !== undefined) return type
  return dev + (type === undefined ? '' : '/' + type)
}

/** The `signature` and `signature-input` fields for a TABM's commitments. */
export function commitmentsToSiginfo(t: Tabm, comms: Record<string, Message>): HttpMessage {
  const ids = Object.keys(comms)
  if (ids.length === 0) return Object.create(null)
  const entries: [string, string, string][] = []
  for (const id of ids) {
    const c = comms[id]!
    const sig = fromB64(text(c['signature']))
    const name = 'sig-' + toB64Url(sha256(sig)).toLowerCase()
    const components = normalizeForEncoding(t, committedKeys(c), text(c['bundle']) === 'true').components
    let input = '(' + components.map((k) => sfStringLoose(k)).join(' ') + ')'
    input += ';alg=' + sfString(alg(c))
    input += ';keyid=' + sfString(c['keyid'] === undefined ? '' : text(c['keyid']))
    if (c['tag'] !== undefined) input += ';tag=' + sfString(text(c['tag']))
    for (const k of ['created', 'expires']) if (c[k] !== undefined) input += `;${k}=` + (typeof c[k] === 'bigint' ? String(c[k]) : text(c[k]))
    if (c['nonce'] !== undefined) input += ';nonce=' + sfString(text(c['nonce']))
    for (const k of Object.keys(c).filter((k) => !NOT_PARAMS.has(k)).sort()) input += `;${k}=` + sfString(text(c[k]))
    entries.push([name, sfBinary(sig), input])
  }
  entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
  const out: HttpMessage = Object.create(null)
  out['signature'] = entries.map(([n, s]) => `${n}=${s}`).join(', ')
  out['signature-input'] = entries.map(([n, , i]) => `${n}=${i}`).join(', ')
  return out
}

/** Parse `signature` and `signature-input` into commitments keyed by ID. */
export function siginfoToCommitments(http: HttpMessage | Tabm, bodyKeys: string[]): Record<string, Message> {
  const sigH = http['signature']
  const inH = http['signature-input']
  const out = emptyMessage() as Record<string, Message>
  if (sigH === undefined || inH === undefined) return out
  const sigText = text(sigH)
  const inText = text(inH)
  if (!sigText.startsWith('sig-') || !inText.startsWith('sig-')) return out
  let sigs: Dictionary
  let inputs: Dictionary
  try {
    sigs = parseDictionary(sigText)
    inputs = parseDictionary(inText)
  } catch (e) {
    throw new InvalidSignatureHeader(`bad signature headers: ${(e as Error).message}`)
  }
  for (const [name, sigItem] of sigs) {
    const input = inputs.get(name)
    if (input === undefined) throw new InvalidSignatureHeader(`signature ${name} has no signature-input`)
    const sigVal = (sigItem as Item)[0]
    if (!(sigVal instanceof ArrayBuffer)) throw new InvalidSignatureHeader(`signature ${name} is not a byte sequence`)
    const sig = new Uint8Array(sigVal)
    const [list, params] = input as InnerList
    if (!Array.isArray(list)) throw new InvalidSignatureHeader(`signature-input ${name} is not an inner list`)
    const c = emptyMessage()
    let algText: string | undefined
    for (const [k, v] of params) {
      if (k === 'alg') { algText = text(v); continue }
      c[k] = v instanceof ArrayBuffer ? toB64Url(new Uint8Array(v)) : typeof v === 'number' ? BigInt(v) : typeof v === 'boolean' ? v : text(v)
    }
    if (algText === undefined) throw new InvalidSignatureHeader(`signature-input ${name} has no alg`)
    const at = algText.indexOf('@')
    if (at < 0) { c['commitment-device'] = HTTPSIG; c['type'] = algText }
    else {
      const slash = algText.indexOf('/', at)
      if (slash < 0) c['commitment-device'] = algText
      else { c['commitment-device'] = algText.slice(0, slash); c['type'] = algText.slice(slash + 1) }
    }
    const components = list.map(([k]) => text(k))
    c['signature'] = toB64Url(sig)
    c['committed'] = listToNumbered(fromSiginfoKeys(http, bodyKeys, components))
    const keyid = c['keyid']
    if (typeof keyid === 'string' && keyid.length > 43) c['committer'] = toB64Url(sha256(fromB64(keyid)))
    const id = sig.length === 32 ? toB64Url(sig) : toB64Url(sha256(sig))
    out[id] = sortedMessage(c)
  }
  return out
}

function sortedMessage(m: Message): Message {
  const out = emptyMessage()
  for (const k of Object.keys(m).sort()) out[k] = m[k]!
  return out
}

