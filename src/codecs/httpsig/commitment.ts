/**
 * httpsig@1.0 commitments (spec §3.5): keys to commit, normalize_for_encoding,
 * the signature base, HMAC (unsigned) and RSA-PSS-SHA512 (signed) commits,
 * and verification.
 */
import { emptyTabm, isTabm, type Tabm } from '../tabm.ts'
import { emptyMessage, isMessage, type Binary, type Message, type Value } from '../../core/value.ts'
import { isIdShaped, normalizeKey, sortKeys } from '../../core/keys.ts'
import { concatBytes, fromB64, toB64, toB64Url, utf8, utf8Length, utf8Lenient } from '../../core/bytes.ts'
import { hmacAo, sha256 } from '../../crypto/hash.ts'
import { sfString, sfStringLoose } from './sf.ts'
import { bodyDigest } from './digest.ts'
import { tabmToHttp } from './wire.ts'
import { MAX_HEADER_LENGTH, type HttpMessage } from './types.ts'
import { InvalidCommitment, UnsupportedCommitment } from '../../core/errors.ts'
import { listToNumbered, numberedToList } from '../structured.ts'

export const HTTPSIG = 'httpsig@1.0'
export const DERIVED_COMPONENTS = new Set(['method', 'target-uri', 'authority', 'scheme', 'request-target', 'path', 'query', 'query-param'])
const PARAM_KEYS = ['created', 'expires', 'nonce', 'alg', 'keyid', 'tag', 'bundle']

/** A commitment's `committed` keys as a list (it is stored as a numbered map). */
export function committedKeys(c: Message): string[] {
  const v = c['committed']
  if (v === undefined) return []
  const list = Array.isArray(v) ? v : isMessage(v) ? numberedToList(v) : null
  if (list === null) throw new InvalidCommitment('commitment `committed` is neither a list nor a numbered map')
  return list.map((k) => {
    if (typeof k === 'string') return k
    if (k instanceof Uint8Array) return utf8Lenient(k)
    throw new InvalidCommitment('committed key is not a binary')
  })
}

export const commitmentsOf = (m: Message | Tabm): Record<string, Message> => {
  const c = (m as Message)['commitments']
  return c !== undefined && isMessage(c) ? (c as Record<string, Message>) : {}
}

const text = (v: Value | undefined): string | undefined =>
  typeof v === 'string' ? v : v instanceof Uint8Array ? utf8Lenient(v) : v === undefined ? undefined : String(v)

/** hb_link:remove_link_specifier */
const unlink = (k: string): string => (k.endsWith('+link') ? k.slice(0, -5) : k)

/**
 * hb_message:committed over the signed commitments (or, if there are none,
 * the unsigned httpsig ones): the keys every selected commitment covers.
 */
export function committedByAll(t: Tabm): string[] {
  const comms = Object.values(commitmentsOf(t))
  if (comms.length === 0) return []
  let selected = comms.filter((c) => c['committer'] !== undefined)
  if (selected.length === 0) selected = comms.filter((c) => text(c['commitment-device']) === HTTPSIG && c['committer'] === undefined)
  if (selected.length === 0) return []
  const lists = selected.map((c) => committedKeys(c).map(unlink))
  return lists[0]!.filter((k) => lists.every((l) => l.includes(k)))
}

/** keys_to_commit: explicit list, else keys already committed, else every TABM key. */
export function keysToCommit(t: Tabm, explicit?: string[]): string[] {
  if (explicit) return explicit
  const existing = committedByAll(t)
  if (existing.length > 0) return existing
  return sortKeys(Object.keys(t).filter((k) => k !== 'commitments' && k !== 'priv')).map(unlink)
}

export interface Normalized {
  /** The encoded fields, body replaced by content-digest. */
  encoded: HttpMessage
  /** The component names of the signature base, in order. */
  components: string[]
  /** The committed keys to store in the commitment. */
  committed: string[]
}

/**
 * normalize_for_encoding (spec §3.5). `carriedOrder` keeps a verified message's own order (> 32 keys).
 * A `bundle` commitment covers nested messages inline: the caller passes the TABM converted with
 * linkify off (HyperBEAM reloads linked children from its cache here; we hold them in memory).
 */
export function normalizeForEncoding(t: Tabm, committed: string[], _bundle = false, carriedOrder = false): Normalized {
  const inputs = committed.map((k) => {
    const nk = normalizeKey(k)
    if (nk in t) return nk
    if (nk + '+link' in t) return nk + '+link'
    return nk
  })
  const only = emptyTabm()
  for (const k of inputs) if (k in t && k !== 'commitments') only[k] = t[k]!
  const withSigInfo = tabmToHttp(only)
  const encoded: HttpMessage = Object.create(null)
  for (const k of Object.keys(withSigInfo)) if (k !== 'body') encoded[k] = withSigInfo[k]!
  const body = withSigInfo['body']
  if (body !== undefined) encoded['content-digest'] = bodyDigest(body)
  let keys = Object.keys(encoded)
  if (!carriedOrder || keys.length <= 32) keys = sortKeys(keys)
  else keys = carriedComponentOrder(keys, committed)
  const aoBodyKey = withSigInfo['ao-body-key']
  if (aoBodyKey !== undefined) keys = listReplace(keys, text(aoBodyKey)!, ['body', 'ao-body-key'])
  const components = listReplace(keys, 'body', ['content-digest'])
  const present = (k: string) => { const nk = normalizeKey(k); return nk in encoded || nk + '+link' in encoded }
  const bodyKeys = committed.filter((k) => !present(k))
  return { encoded, components, committed: fromSiginfoKeys(withSigInfo, bodyKeys, components) }
}

/**
 * For a message of more than 32 encoded keys HyperBEAM's component order is
 * Erlang's HAMT order, which we cannot compute; a received commitment carries
 * it in its `committed` list, so follow that list.
 */
function carriedComponentOrder(keys: string[], committed: string[]): string[] {
  const out: string[] = []
  const set = new Set(keys)
  for (const k of committed) {
    const nk = normalizeKey(k)
    const name = set.has(nk) ? nk : set.has(nk + '+link') ? nk + '+link' : 'content-digest'
    if (set.has(name) && !out.includes(name)) out.push(name)
  }
  for (const k of sortKeys(keys.filter((k) => !out.includes(k)))) out.push(k)
  return out
}

function listReplace(list: string[], key: string, value: string[]): string[] {
  const out: string[] = []
  for (const e of list) if (e === key) out.push(...value); else out.push(e)
  return out
}

/** from_siginfo_keys: map component names back to the message's own keys. */
export function fromSiginfoKeys(http: HttpMessage | Tabm, bodyKeys: string[], components: string[]): string[] {
  let keys = components.map((k) => (k.startsWith('@') ? k.slice(1) : k))
  keys = listReplace(keys, 'content-digest', bodyKeys)
  if (keys.includes('ao-body-key')) {
    const abk = (http as Tabm)['ao-body-key']
    keys = listReplace(keys, 'body', [abk !== undefined && !isTabm(abk) ? text(abk)! : 'body']).filter((k) => k !== 'ao-body-key')
  }
  const ct = (http as Tabm)['content-type']
  if (ct !== undefined && !isTabm(ct) && text(ct)!.startsWith('multipart/')) keys = keys.filter((k) => k !== 'content-type')
  return keys.map((k) => normalizeKey(unlink(k)))
}

/** The params line: component names (with `@` for derived ones) and sorted parameters. */
export function signatureParamsLine(components: string[], params: Record<string, string | bigint>): string {
  const names = components.map((c) => {
    const bare = c.startsWith('@') ? c.slice(1) : c
    return sfStringLoose(DERIVED_COMPONENTS.has(bare) ? '@' + bare : bare)
  })
  let line = '(' + names.join(' ') + ')'
  for (const k of Object.keys(params).sort()) {
    const v = params[k]!
    line += ';' + k + '=' + (typeof v === 'bigint' ? v.toString() : sfString(v))
  }
  return line
}

/** The signature base of an encoded message under a commitment's parameters. */
export function signatureBase(encoded: HttpMessage, components: string[], params: Record<string, string | bigint>): Uint8Array {
  // Fast path: every value is text, so build one string and encode it once
  // (TextEncoder calls per component dominated the ID hot path).
  let text = ''
  let binary = false
  for (let i = 0; i < components.length; i++) {
    const name = components[i]!
    const v = encoded[name]
    if (v === undefined) throw new InvalidCommitment(`signature component ${JSON.stringify(name)} is missing`)
    if (typeof v !== 'string') { binary = true; break }
    text += (i > 0 ? '\n"' : '"') + name + '": ' + v
  }
  const tail = '\n"@signature-params": ' + signatureParamsLine(components, params)
  if (!binary) return utf8(text + tail)
  const parts: Uint8Array[] = []
  components.forEach((name, i) => {
    const v = encoded[name]!
    if (i > 0) parts.push(NL)
    parts.push(utf8(`"${name}": `), typeof v === 'string' ? utf8(v) : v)
  })
  parts.push(utf8(tail))
  return concatBytes(...parts)
}
const NL = utf8('\n')

/** Parameters of a commitment that enter the params line (alg = type). */
export function commitmentParams(c: Message): Record<string, string | bigint> {
  const out: Record<string, string | bigint> = {}
  for (const k of PARAM_KEYS) {
    const v = k === 'alg' ? c['type'] : c[k]
    if (v === undefined) continue
    out[k] = typeof v === 'bigint' ? v : text(v)!
  }
  return out
}

export interface CommitOptions { committed?: string[]; bundle?: boolean }

/** The fresh HMAC commitment of a TABM: its ID and the commitment map. */
export function hmacCommitment(t: Tabm, opts: CommitOptions = {}): [string, Message] {
  const keys = keysToCommit(t, opts.committed).map((k) => normalizeKey(k))
  const n = normalizeForEncoding(t, keys, opts.bundle)
  const c = emptyMessage()
  if (opts.bundle) c['bundle'] = 'true'
  c['commitment-device'] = HTTPSIG
  c['type'] = 'hmac-sha256'
  c['keyid'] = 'ao'
  const base = signatureBase(n.encoded, n.components, commitmentParams(c))
  const id = toB64Url(hmacAo(base))
  c['committed'] = listToNumbered(n.committed)
  c['signature'] = id
  return [id, c]
}

const HMAC_PARAMS = { alg: 'hmac-sha256', keyid: 'ao' }

/** Just the HMAC ID of a TABM that has no commitments: the unsigned ID hot path. */
export function hmacId(t: Tabm): string {
  const fast = simpleHmacBase(t)
  if (fast !== null) return toB64Url(hmacAo(fast))
  const n = normalizeForEncoding(t, keysToCommit(t))
  return toB64Url(hmacAo(signatureBase(n.encoded, n.components, HMAC_PARAMS)))
}

/**
 * The fresh HMAC signature base of a "flat" TABM in one pass, when the
 * general normalize_for_encoding would leave it unchanged but for group_ids:
 * every value is text of at most 4096 bytes, and no key names a body
 * (`body`, `data`, `ao-body-key`). ID-shaped keys (a ledger's balances by
 * address) travel in one `ao-ids` header, as tabmToHttp's groupIds puts
 * them, while that header fits in one. Returns null otherwise. The vector
 * suites and the property tests check both paths against each other and
 * HyperBEAM's bases.
 */
function simpleHmacBase(t: Tabm): Uint8Array | null {
  const keys: string[] = []
  let ids: string[] | undefined
  for (const k in t) {
    if (k === 'commitments' || k === 'priv') continue
    const v = t[k]
    if (typeof v !== 'string' || v.length > 1365 && utf8Length(v) > MAX_HEADER_LENGTH) return null
    if (k === 'body' || k === 'data' || k === 'ao-body-key' || k === 'ao-ids') return null
    if (k.length >= 32 && k.length <= 43 ? isIdShaped(k) : k.length < 32 && k.length > 10 && !isAscii(k) && isIdShaped(k)) (ids ??= []).push(k)
    else keys.push(k)
  }
  let aoIds: string | undefined
  if (ids !== undefined) {
    sortKeys(ids)
    aoIds = ''
    try {
      for (let i = 0; i < ids.length; i++) aoIds += (i > 0 ? ', ' : '') + ids[i] + '=' + sfString(t[ids[i]!] as string)
    } catch {
      // What sfString refuses, the general path refuses too, with its own error.
      return null
    }
    if (utf8Length(aoIds) > MAX_HEADER_LENGTH) return null
    keys.push('ao-ids')
  }
  sortKeys(keys)
  let base = ''
  let params = '('
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!
    base += (i > 0 ? '\n"' : '"') + k + '": ' + (k === 'ao-ids' && aoIds !== undefined ? aoIds : t[k] as string)
    params += (i > 0 ? ' ' : '') + sfStringLoose(DERIVED_COMPONENTS.has(k) ? '@' + k : k)
  }
  return utf8(base + '\n"@signature-params": ' + params + ');alg="hmac-sha256";keyid="ao"')
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 127) return false
  return true
}

/** Add an HMAC commitment (replacing any earlier one) to a TABM. */
export function commitHmac(t: Tabm, opts: CommitOptions = {}): Tabm {
  const [id, c] = hmacCommitment(t, opts)
  const comms = emptyMessage()
  for (const [cid, old] of Object.entries(commitmentsOf(t))) {
    if (text(old['commitment-device']) === HTTPSIG && text(old['type']) === 'hmac-sha256') continue
    comms[cid] = old
  }
  comms[id] = c
  const out = emptyTabm()
  Object.assign(out, t)
  out['commitments'] = comms as unknown as Tabm
  return out
}

/** The signer an RSA commit needs: public modulus, address and a PSS-SHA512 signer. */
export interface HttpsigSigner {
  n: Uint8Array
  address: string
  signSha512(data: Uint8Array): Promise<Uint8Array>
}

/** Sign a TABM with RSA-PSS-SHA512, then add the HMAC commitment (as HyperBEAM does). */
export async function commitSigned(t: Tabm, signer: HttpsigSigner, opts: CommitOptions & { tag?: string } = {}): Promise<Tabm> {
  const keys = keysToCommit(t, opts.committed).map((k) => normalizeKey(k))
  const c = emptyMessage()
  if (opts.bundle) c['bundle'] = 'true'
  if (opts.tag !== undefined) c['tag'] = opts.tag
  c['commitment-device'] = HTTPSIG
  c['type'] = 'rsa-pss-sha512'
  c['keyid'] = toB64(signer.n)
  c['committer'] = signer.address
  const n = normalizeForEncoding(t, keys, opts.bundle)
  const base = signatureBase(n.encoded, n.components, commitmentParams(c))
  const sig = await signer.signSha512(base)
  const id = toB64Url(sha256(sig))
  c['signature'] = toB64Url(sig)
  c['committed'] = listToNumbered(n.committed)
  const comms = emptyMessage()
  Object.assign(comms, commitmentsOf(t))
  comms[id] = c
  const out = emptyTabm()
  Object.assign(out, t)
  out['commitments'] = comms as unknown as Tabm
  return commitHmac(out, { bundle: opts.bundle })
}

export type RsaVerifier = (n: Uint8Array, data: Uint8Array, sig: Uint8Array) => Promise<boolean>

/** Verify one httpsig commitment against its TABM. */
export async function verifyCommitment(t: Tabm, c: Message, rsaVerify?: RsaVerifier): Promise<boolean> {
  const type = text(c['type'])
  const keys = committedKeys(c)
  const n = normalizeForEncoding(t, keys, text(c['bundle']) === 'true', true)
  const base = signatureBase(n.encoded, n.components, commitmentParams(c))
  const signature = text(c['signature'])
  if (signature === undefined) throw new InvalidCommitment('commitment has no signature')
  if (type === 'hmac-sha256') {
    const keyid = text(c['keyid']) ?? 'ao'
    if (keyid !== 'ao') return false
    return toB64Url(hmacAo(base)) === signature
  }
  if (type === 'rsa-pss-sha512') {
    if (!rsaVerify) throw new UnsupportedCommitment('no RSA verifier available')
    const keyid = text(c['keyid'])
    if (keyid === undefined) throw new InvalidCommitment('RSA commitment has no keyid')
    return rsaVerify(fromB64(keyid), base, fromB64(signature))
  }
  throw new UnsupportedCommitment(`unsupported commitment type ${JSON.stringify(type)}`)
}

/** The signature base a commitment signs (for `ao sigbase` and debugging). */
export function commitmentSignatureBase(t: Tabm, c: Message): Uint8Array {
  const n = normalizeForEncoding(t, committedKeys(c), text(c['bundle']) === 'true', true)
  return signatureBase(n.encoded, n.components, commitmentParams(c))
}

