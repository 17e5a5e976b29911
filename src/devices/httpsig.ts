/**
 * httpsig@1.0 as a device (HyperBEAM dev_codec_httpsig, spec §3.5–3.6), and
 * the helpers the other codec devices share.
 *
 * A codec key works on its *subject*: the base message without private keys,
 * and without a `device` key that names the codec itself (the routing of
 * `/~httpsig@1.0&a=b/to`, not content) unless a commitment covers it.
 * HyperBEAM's modules receive the raw base, device key included; we drop it
 * so that `/~json@1.0&a=b/to` encodes `{a: b}`.
 *
 *   to          subject (structured or TABM) → TABM → HTTP fields and body
 *               (`bundle: true` keeps nested messages inline as multipart,
 *               otherwise they become `key+link` IDs and are offloaded to the store)
 *   from        HTTP fields and body (the subject) → TABM, commitments parsed
 *   serialize   the HTTP/1.1-style text of `to` (`format: components` gives
 *               `{headers, body}` instead)
 *   commit      `type`: signed / rsa-pss-sha512 (default, node wallet) or
 *               unsigned / hmac-sha256; `committed` and `bundle` as HyperBEAM
 *   verify      the commitment given as the request (HyperBEAM's verify/3), or
 *               else every httpsig commitment of the subject; a boolean
 */
import { withCommitments } from '../codecs/commitments.ts'
import { binaryText } from '../core/value.ts'
import { emptyMessage, isBinary, isMessage, type Message, type Value } from '../core/value.ts'
import { ok, type Device, type ResolveContext } from '../core/device.ts'
import { isPrivateKey, normalizeKey } from '../core/keys.ts'
import { directGet } from '../core/resolver.ts'
import { tryUtf8 } from '../core/bytes.ts'
import { toTabm, numberedToList, type LinkifyMode } from '../codecs/structured.ts'
import type { Tabm } from '../codecs/tabm.ts'
import {
  toHttp, fromHttp, encodeHttpMessage, commitHmac, commitSigned, commitmentsOf, committedKeys, verifyCommitment, HTTPSIG,
  type HttpMessage,
} from '../codecs/httpsig/index.ts'
import { rsaPssVerify } from '../crypto/rsa.ts'
import { BadInput, UnsupportedCommitment, Unauthorized } from '../core/errors.ts'
import '../core/id.ts'

export const text = binaryText

/** A request flag: the atom true or the text `true` (hb_util:atom). */
export const flag = (v: Value | undefined): boolean => v === true || text(v) === 'true'

/** A binary as HyperBEAM hands it around: text when it is UTF-8, bytes otherwise. */
export const binaryValue = (b: Uint8Array): Value => tryUtf8(b) ?? b

/** Keys the commitments of a message cover (normalized, `+link` removed). */
export function coveredKeys(m: Message): Set<string> {
  const out = new Set<string>()
  const comms = commitmentsOf(m)
  for (const id of Object.keys(comms)) {
    const c = comms[id]
    if (!isMessage(c)) continue
    for (const k of committedKeys(c)) out.add(normalizeKey(k.endsWith('+link') ? k.slice(0, -5) : k))
  }
  return out
}

/** The message a codec key works on (see the file comment). */
export function codecSubject(base: Message, codec: string): Message {
  const out = emptyMessage()
  let covered: Set<string> | undefined
  for (const k of Object.keys(base)) {
    const nk = normalizeKey(k)
    if (isPrivateKey(nk)) continue
    if (nk === 'device' && text(base[k])?.toLowerCase() === codec) {
      covered ??= coveredKeys(base)
      if (!covered.has('device')) continue
    }
    out[k] = base[k]!
  }
  return out
}

/** hb_codec_structured:linkify_mode: `bundle: true` keeps nested messages inline. */
export const linkifyOf = (req: Message): LinkifyMode => (flag(directGet(req, 'bundle')) ? false : 'offload')

/** The TABM of a subject; in offload mode, linked children are written to the store at their IDs. */
export async function tabmOf(subject: Message, req: Message, ctx: ResolveContext): Promise<Tabm> {
  const mode = linkifyOf(req)
  const writes: Promise<void>[] = []
  const store = ctx.store
  const t = toTabm(subject, {
    linkify: mode,
    offload: mode === 'offload' && store ? (id, child) => { writes.push(store.write(id, child)) } : undefined,
  })
  await Promise.all(writes)
  return t
}

/** A TABM is a message whose values are binaries and nested TABMs. */
export const tabmAsMessage = (t: Tabm): Message => t as unknown as Message

/** A message whose values must all be binaries or nested maps of binaries (HTTP fields, flat maps). */
export function asBinaryMap(m: Message, what: string): Tabm {
  const out = Object.create(null) as Tabm
  for (const k of Object.keys(m)) {
    const v = m[k]!
    if (isBinary(v)) out[k] = v
    else if (isMessage(v)) out[k] = asBinaryMap(v, what)
    else throw new BadInput(`${what}: key ${JSON.stringify(k)} is not a binary`)
  }
  return out
}

/** An explicit `committed` key list in a request (a list or a numbered map). */
function explicitCommitted(req: Message): string[] | undefined {
  const v = directGet(req, 'committed')
  if (v === undefined) return undefined
  const list = Array.isArray(v) ? v : isMessage(v) ? numberedToList(v) : [v]
  return list.map((k) => {
    const s = text(k as Value)
    if (s === undefined) throw new BadInput('`committed` must list key names')
    return normalizeKey(s)
  })
}

/** dev_codec_httpsig:commit on a subject. The result is the structured subject with its commitments. */
export async function httpsigCommit(subject: Message, base: Message, req: Message, ctx: ResolveContext): Promise<Message> {
  const type = text(directGet(req, 'type')) ?? 'signed'
  const bundle = flag(directGet(req, 'bundle'))
  const committed = explicitCommitted(req)
  const t = toTabm(subject, { linkify: bundle ? false : 'discard' })
  if (type === 'unsigned' || type === 'hmac-sha256') return withCommitments(subject, commitHmac(t, { committed, bundle }))
  if (type !== 'signed' && type !== 'rsa-pss-sha512') throw new UnsupportedCommitment(`httpsig@1.0 cannot commit with type ${JSON.stringify(type)}`)
  if (!ctx.wallet) throw new Unauthorized('this node has no wallet to sign with')
  // HyperBEAM tags a signature with the hashpath of the message being signed.
  const priv = base['priv']
  const tag = isMessage(priv) ? text(priv['hashpath']) : undefined
  return withCommitments(subject, await commitSigned(t, ctx.wallet, { committed, bundle, tag }))
}

const rsaSha512 = (n: Uint8Array, data: Uint8Array, sig: Uint8Array) => rsaPssVerify(n, 'SHA-512', data, sig)

/** The commitment a verify request carries itself (HyperBEAM's verify/3 gets the commitment as Req). */
function requestCommitment(req: Message): Message | undefined {
  if (directGet(req, 'signature') === undefined || directGet(req, 'type') === undefined) return undefined
  const c = emptyMessage()
  for (const k of Object.keys(req)) if (normalizeKey(k) !== 'path') c[normalizeKey(k)] = req[k]!
  return c
}

async function verifyOne(subject: Message, c: Message, inline: boolean): Promise<boolean> {
  const bundle = inline || text(c['bundle']) === 'true'
  const t = toTabm(subject, { linkify: bundle ? false : 'discard' })
  return verifyCommitment(t, c, rsaSha512)
}

/**
 * dev_codec_httpsig:verify: the request's commitment, or else all httpsig
 * commitments (none → false). Nested messages are linked, as the commitment
 * was made, unless the commitment or the request says `bundle`.
 */
export async function httpsigVerify(subject: Message, req: Message): Promise<boolean> {
  const inline = flag(directGet(req, 'bundle'))
  const given = requestCommitment(req)
  if (given) return verifyOne(subject, given, inline)
  const comms = commitmentsOf(subject)
  const ids = Object.keys(comms).filter((id) => isMessage(comms[id]) && (text(comms[id]!['commitment-device']) ?? HTTPSIG) === HTTPSIG)
  if (ids.length === 0) return false
  for (const id of ids) if (!(await verifyOne(subject, comms[id]!, inline))) return false
  return true
}

/** The HTTP fields and body of a subject, as a message. */
function httpAsMessage(http: HttpMessage): Message {
  const out = emptyMessage()
  for (const k of Object.keys(http)) out[k] = http[k]!
  return out
}

const NAME = HTTPSIG

export const httpsigDevice: Device = {
  name: NAME,
  keys: {
    to: async (base, req, ctx) => ok(httpAsMessage(toHttp(await tabmOf(codecSubject(base, NAME), req, ctx)))),
    from: (base) => {
      const subject = codecSubject(base, NAME)
      const http = Object.create(null) as HttpMessage
      for (const k of Object.keys(subject)) {
        const v = subject[k]!
        if (!isBinary(v)) throw new BadInput(`httpsig@1.0 from: field ${JSON.stringify(k)} is not a binary`)
        http[k] = v
      }
      return ok(tabmAsMessage(fromHttp(http)))
    },
    serialize: async (base, req, ctx) => {
      const http = toHttp(await tabmOf(codecSubject(base, NAME), req, ctx))
      if (text(directGet(req, 'format')) === 'components') {
        const headers = emptyMessage()
        for (const k of Object.keys(http)) if (k !== 'body') headers[k] = http[k]!
        const out = emptyMessage()
        out['body'] = http['body'] ?? ''
        out['headers'] = headers
        return ok(out)
      }
      return ok(binaryValue(encodeHttpMessage(http)))
    },
    commit: async (base, req, ctx) => ok(await httpsigCommit(codecSubject(base, NAME), base, req, ctx)),
    verify: async (base, req) => ok(await httpsigVerify(codecSubject(base, NAME), req)),
  },
}
