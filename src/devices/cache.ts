/**
 * cache@1.0 (HyperBEAM dev_cache, spec §4.10): read the node's store, and
 * let trusted writers write to it. Also the store helpers lookup@1.0 and
 * local-name@1.0 share (hb_cache's layout, the aos-2 JSON form, and the
 * check that a request is committed by someone in particular).
 *
 *   read   `target` (an ID or a store path) → the stored message or binary;
 *          `accept: application/aos-2` → `{body: <aos-2 JSON>, content-type}`;
 *          absent → not_found (404)
 *   write  `type: single` (default): the request's `body` — a binary is stored at
 *          `data/<sha256>`, a message at its unsigned ID with its committed IDs
 *          linked to it → `{status: 200, path}`; `type: batch`: every value of
 *          `body` so, → `{<key>: {status, path}}`
 *   link   `source` (existing path) → `destination` (new path) → `{status: 200}`
 *
 * write and link need a request committed by an address in the node message's
 * `cache_writers`, and the keys they use must be covered by that commitment:
 * unsigned, not verifying, or not covering them → Unauthorized (401); signed
 * by someone else → Forbidden (403). HyperBEAM reads signers without checking
 * signatures and answers 403 (write) or `{error, not_authorized}` (link).
 */
import { emptyMessage, isBinary, isMessage, message, type Message, type Value } from '../core/value.ts'
import { error, notFound, ok, type Device, type ResolveContext } from '../core/device.ts'
import { normalizeKey, isPrivateKey } from '../core/keys.ts'
import { directGet } from '../core/resolver.ts'
import { messageId } from '../core/id.ts'
import { toB64Url, tryUtf8 } from '../core/bytes.ts'
import { listToNumbered, numberedToList, toTabm } from '../codecs/structured.ts'
import { commitmentsOf, committedKeys } from '../codecs/httpsig/commitment.ts'
import { verifyMessage } from '../codecs/commitments.ts'
import { ANS104_DEVICE } from '../codecs/ans104/convert.ts'
import type { Store, Stored } from '../store/store.ts'
import type { Tabm } from '../codecs/tabm.ts'
import { BadInput, Forbidden, Unauthorized, UnencodableValue } from '../core/errors.ts'
import { text } from './httpsig.ts'
import { requestInfo } from './meta.ts'

const NAME = 'cache@1.0'
export const AOS2 = 'application/aos-2'

// ---------------------------------------------------------------- hb_cache layout

function needStore(ctx: ResolveContext): Store {
  if (!ctx.store) throw new BadInput('this node has no store')
  return ctx.store
}

/**
 * hb_cache:write: a binary at `data/<base64url(sha256)>`; a message (or list)
 * at its unsigned ID, with every other ID it has (commitment IDs, the ID over
 * all committers) linked to it. Returns the path written.
 */
export async function cacheWrite(store: Store, value: Value): Promise<string> {
  if (isBinary(value)) {
    const path = `data/${messageId(value)}`
    await store.write(path, value)
    return path
  }
  if (Array.isArray(value) || isMessage(value)) {
    // Private keys are never stored (hb_cache writes the message without `priv`).
    if (isMessage(value)) value = dropPrivate(value)
    const id = messageId(value, 'unsigned')
    await store.write(id, value)
    const alt = new Set<string>()
    if (isMessage(value)) {
      for (const cid of Object.keys(commitmentsOf(value))) alt.add(cid)
      alt.add(messageId(value, 'signed'))
    }
    alt.delete(id)
    for (const a of alt) await store.link(a, id)
    return id
  }
  throw new BadInput('only binaries, messages and lists can be written to the cache')
}

/** hb_cache:read: whatever the store holds at an ID or path (links followed). */
export async function cacheRead(store: Store, path: string): Promise<Stored | undefined> {
  return store.read(path)
}

// ---------------------------------------------------------------- aos-2 JSON

/** dev_json_iface:header_case_string: `content-type` → `Content-Type`. */
export function headerCase(key: string): string {
  return normalizeKey(key).split('-').filter((w) => w !== '').map((w) => {
    const first = String.fromCodePoint(w.codePointAt(0)!)
    return first.toUpperCase() + w.slice(first.length)
  }).join('-')
}

function jsonString(v: Value | undefined, what: string): string {
  if (v === undefined) return '""'
  if (typeof v === 'string') return JSON.stringify(v)
  if (v instanceof Uint8Array) {
    const s = tryUtf8(v)
    if (s === null) throw new UnencodableValue(`aos-2 JSON cannot carry the non-UTF-8 bytes of ${what}`)
    return JSON.stringify(s)
  }
  throw new UnencodableValue(`aos-2 JSON: ${what} is not a binary`)
}

/** dev_codec_ans104:normalize_data: a `body` without `data` becomes `data` plus `ao-data-key: body`. */
function normalizeData(t: Tabm): Tabm {
  if ('ao-data-key' in t) return t
  const data = t['data']
  const emptyData = data === undefined || (isBinary(data) && data.length === 0)
  const body = t['body']
  if (!emptyData || body === undefined) return t
  const out = Object.create(null) as Tabm
  for (const k of Object.keys(t)) if (k !== 'body') out[k] = t[k]!
  out['ao-data-key'] = 'body'
  out['data'] = body
  return out
}

const TAG_SKIP = new Set(['id', 'anchor', 'owner', 'data', 'target', 'signature', 'commitments'])

/** dev_json_iface:prepare_tags: an ans104 commitment's original tags, else the TABM's keys in header case. */
function tagsJson(t: Tabm): string {
  const comms = commitmentsOf(t)
  for (const id of Object.keys(comms)) {
    const c = comms[id]!
    if (text(c['commitment-device']) !== ANS104_DEVICE) continue
    const orig = c['original-tags']
    if (!isMessage(orig)) break
    return '[' + numberedToList(orig).map((tag) => {
      const m = isMessage(tag) ? tag : message({})
      return `{"name":${jsonString(m['name'], 'a tag name')},"value":${jsonString(m['value'], 'a tag value')}}`
    }).join(',') + ']'
  }
  const keys = Object.keys(t).filter((k) => !TAG_SKIP.has(k)).sort()
  return '[' + keys.map((k) => `{"name":${JSON.stringify(headerCase(k))},"value":${jsonString(t[k] as Value, `tag ${k}`)}}`).join(',') + ']'
}

/** The first committer of a message (hb_message:signers order). */
function firstSigner(m: Message): string {
  const comms = commitmentsOf(m)
  for (const id of Object.keys(comms)) {
    const who = text(comms[id]!['committer'])
    if (who !== undefined) return who
  }
  return ''
}

/** safe_to_id: empty stays empty; 32 raw bytes become base64url; an ID stays as it is. */
function safeId(v: Value | undefined): string {
  if (v === undefined) return ''
  if (v instanceof Uint8Array) return v.length === 32 ? toB64Url(v) : (tryUtf8(v) ?? toB64Url(v))
  return typeof v === 'string' ? v : ''
}

function dropPrivate(m: Message): Message {
  const out = emptyMessage()
  for (const k of Object.keys(m)) if (!isPrivateKey(normalizeKey(k))) out[k] = m[k]!
  return out
}

/**
 * dev_json_iface:message_to_json_struct, encoded: the aos-2 JSON form of a
 * stored message (`{Anchor, Data, From, Id, Owner, Signature, Tags, Target}`).
 * A bare binary is read as the message `{data: <binary>}`.
 */
export function aos2Json(stored: Stored): string {
  const raw: Message = isMessage(stored) ? stored
    : Array.isArray(stored) ? listToNumbered(stored)
      : message({ data: stored as Value })
  const msg = dropPrivate(raw)
  const t = normalizeData(toTabm(msg, { linkify: 'discard' }))
  const id = messageId(msg, 'signed')
  const owner = firstSigner(msg)
  const from = t['from-process'] !== undefined ? t['from-process'] as Value : owner
  const sig = t['signature']
  const sigText: Value = sig === undefined ? '' : sig instanceof Uint8Array && sig.length === 512 ? toB64Url(sig) : sig as Value
  const fields: [string, string][] = [
    ['Anchor', jsonString(t['anchor'] as Value | undefined, 'anchor')],
    ['Data', jsonString(t['data'] as Value | undefined, 'data')],
    ['From', jsonString(from, 'from-process')],
    ['Id', JSON.stringify(id)],
    ['Owner', JSON.stringify(owner)],
    ['Signature', jsonString(sigText, 'signature')],
    ['Tags', tagsJson(t)],
    ['Target', JSON.stringify(safeId(t['target'] as Value | undefined))],
  ]
  return '{' + fields.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',') + '}'
}

/** A read result, honouring `accept: application/aos-2`. */
export function readResult(stored: Stored, req: Message): Value {
  if (text(directGet(req, 'accept')) === AOS2) return message({ body: aos2Json(stored), 'content-type': AOS2 })
  return stored as Value
}

// ---------------------------------------------------------------- who committed a request

/**
 * Check that `req` is committed by one of `allowed` ('anyone' lets every
 * request through, as an `unclaimed` operator does in HyperBEAM), and that
 * the commitment covers each key of `uses` the request carries. Returns the
 * request's verified signers.
 *
 * Signers come from the HTTP layer when the request arrived over HTTP (it
 * verified the request before the HyperPATH was split into steps, which
 * rewrites `path`), else from verifying `req` itself. No verified signer,
 * commitments that do not verify, or a commitment that leaves a used key
 * uncovered → Unauthorized (401); signers not allowed → Forbidden (403).
 */
export async function committedBy(
  req: Message, ctx: ResolveContext, allowed: readonly string[] | 'anyone', uses: readonly string[], what: string,
): Promise<string[]> {
  const present = uses.filter((k) => directGet(req, k) !== undefined).map((k) => normalizeKey(k))
  const unlink = (k: string): string => normalizeKey(k.endsWith('+link') ? k.slice(0, -5) : k)
  const info = requestInfo(ctx)
  let signers: string[]
  let covers: (who: string) => Set<string>
  if (info) {
    signers = info.signers
    const covered = new Set(info.committed.map(unlink))
    covers = () => covered
  } else {
    const comms = commitmentsOf(req)
    const signed = Object.keys(comms).filter((id) => isMessage(comms[id]) && text(comms[id]!['committer']) !== undefined)
    if (signed.length > 0) {
      const v = await verifyMessage(req)
      if (!v.verified) throw new Unauthorized(`${what}: the request's commitments do not verify`)
    }
    signers = [...new Set(signed.map((id) => text(comms[id]!['committer'])!))]
    covers = (who) => new Set(signed.filter((id) => text(comms[id]!['committer']) === who)
      .flatMap((id) => committedKeys(comms[id]!)).map(unlink))
  }
  if (allowed === 'anyone') return signers
  if (signers.length === 0) throw new Unauthorized(`${what} needs a request signed by ${allowed.join(' or ') || 'a trusted address'}; it is not signed`)
  const trusted = signers.filter((s) => allowed.includes(s))
  if (trusted.length === 0) throw new Forbidden(`${what}: ${signers.join(', ')} may not do this on this node`)
  for (const who of trusted) {
    const covered = covers(who)
    if (present.every((k) => covered.has(k))) return signers
  }
  throw new Unauthorized(`${what}: the signature does not cover ${present.filter((k) => !trusted.some((w) => covers(w).has(k))).join(', ')}`)
}

/** A list of addresses from the node message (a list, a numbered message or one address). */
export function addressList(v: Value | undefined): string[] {
  if (v === undefined) return []
  const list = Array.isArray(v) ? v : isMessage(v) ? numberedToList(v) : [v]
  return list.map((x) => text(x as Value)).filter((x): x is string => x !== undefined)
}

// ---------------------------------------------------------------- the device

function writeError(status: bigint, body: string) {
  return error(message({ status, body }))
}

/** write_single's answer for a request that cannot be written, or undefined when it can. */
function writeProblem(m: Message) {
  const body = directGet(m, 'body')
  const operation = text(directGet(m, 'operation')) ?? 'write'
  if (operation === 'link') {
    if (text(directGet(m, 'source')) === undefined || text(directGet(m, 'destination')) === undefined) {
      return writeError(400n, 'A link needs a source and a destination.')
    }
    return undefined
  }
  if (operation !== 'write') return writeError(400n, 'Invalid write type.')
  if (body === undefined) return writeError(400n, 'No body to write.')
  // As HyperBEAM: a `location` is not supported; beyond HyperBEAM, messages and lists are.
  if (directGet(m, 'location') !== undefined) return writeError(400n, 'Invalid write type.')
  if (!isBinary(body) && !isMessage(body) && !Array.isArray(body)) return writeError(400n, 'Invalid write type.')
  return undefined
}

async function writeSingle(store: Store, m: Message) {
  const problem = writeProblem(m)
  if (problem) return problem
  if ((text(directGet(m, 'operation')) ?? 'write') === 'link') return link(store, m)
  return ok(message({ status: 200n, path: await cacheWrite(store, directGet(m, 'body')!) }))
}

async function link(store: Store, m: Message) {
  const source = text(directGet(m, 'source'))
  const destination = text(directGet(m, 'destination'))
  if (source === undefined || destination === undefined) return writeError(400n, 'A link needs a source and a destination.')
  await store.link(destination, source)
  return ok(message({ status: 200n }))
}

const target = (req: Message): string => {
  const t = text(directGet(req, 'target'))
  if (t === undefined) throw new BadInput('read needs a `target` (an ID or a store path)')
  return t
}

export const cacheDevice: Device = {
  name: NAME,
  keys: {
    read: async (_base, req, ctx) => {
      const path = target(req)
      const stored = await cacheRead(needStore(ctx), path)
      if (stored === undefined) return notFound(`nothing is stored at ${path}`)
      return ok(readResult(stored, req))
    },
    write: async (_base, req, ctx) => {
      await committedBy(req, ctx, addressList(directGet(ctx.node, 'cache_writers')),
        ['body', 'type', 'location', 'operation', 'source', 'destination'], 'cache@1.0 write')
      const store = needStore(ctx)
      const type = text(directGet(req, 'type')) ?? 'single'
      if (type === 'single') return writeSingle(store, req)
      if (type !== 'batch') return writeError(400n, 'Invalid write type.')
      const body = directGet(req, 'body')
      if (!isMessage(body) && !Array.isArray(body)) return writeError(400n, 'A batch write needs a message of items as its body.')
      const items = isMessage(body) ? body : listToNumbered(body)
      const specs = Object.keys(items).map((k) => [k, isMessage(items[k]) ? items[k] as Message : message({ body: items[k]! })] as const)
      // Check every item before writing any.
      for (const [k, spec] of specs) {
        const problem = writeProblem(spec)
        if (problem) return error(message({ status: 400n, body: `Item ${k}: ${text((problem.value as Message)['body'])}` }))
      }
      const out = emptyMessage()
      for (const [k, spec] of specs) out[k] = (await writeSingle(store, spec)).value as Value
      return ok(out)
    },
    link: async (_base, req, ctx) => {
      await committedBy(req, ctx, addressList(directGet(ctx.node, 'cache_writers')), ['source', 'destination'], 'cache@1.0 link')
      return link(needStore(ctx), req)
    },
  },
}

