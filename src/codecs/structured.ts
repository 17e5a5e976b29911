/**
 * structured@1.0 ⇄ TABM (spec §3.3) with linkification (spec §3.4).
 *
 * toTabm: keys normalized and processed in sorted order; scalars become
 * binaries with an `ao-types` entry; nested maps and lists either become
 * `key+link: ID` (linkify 'discard' / 'offload') or nested TABMs (linkify
 * false, i.e. bundle). `commitments` is copied through untouched.
 */
import { Atom, Float, Link, emptyMessage, isMessage, type Binary, type Message, type Value } from '../core/value.ts'
import { normalizeKey, isPrivateKey, sortKeys } from '../core/keys.ts'
import { emptyTabm, isTabm, type Tabm } from './tabm.ts'
import { decodeScalar, encodeScalar, parseAoTypes, serializeAoTypes } from './ao-types.ts'
import { UnencodableValue } from '../core/errors.ts'
import { utf8Lenient } from '../core/bytes.ts'

export type LinkifyMode = 'discard' | 'offload' | false

export interface ToTabmOptions {
  linkify?: LinkifyMode
  /** Called for every nested message that is replaced by a link in 'offload' mode. */
  offload?: (id: string, child: Message | Value[]) => void
  /** Computes the ID (committers=all) of a linkified child. Injected to avoid a module cycle. */
  childId?: (child: Message | Value[]) => string
}

/** Keys regenerated on conversion rather than carried (HyperBEAM ?REGEN_KEYS). */
const REGEN_KEYS = new Set(['unsigned_id', 'content-digest'])

let defaultChildId: ((child: Message | Value[]) => string) | undefined
/** Registered by core/id.ts: the ID function used for links. */
export function setChildIdFunction(f: (child: Message | Value[]) => string): void { defaultChildId = f }

/** A list as HyperBEAM's numbered message: {"1": a, "2": b, …}. */
export function listToNumbered(list: Value[]): Message {
  const m = emptyMessage()
  for (let i = 0; i < list.length; i++) m[String(i + 1)] = list[i]!
  return m
}

/** Convert a structured message (or list) to a TABM. */
export function toTabm(input: Message | Value[], opts: ToTabmOptions = {}): Tabm {
  if (Array.isArray(input)) {
    const t = toTabm(listToNumbered(input), opts)
    const types = typeof t['ao-types'] === 'string' ? parseAoTypes(t['ao-types']) : new Map<string, string>()
    types.set('.', 'list')
    t['ao-types'] = serializeAoTypes(types)
    return t
  }
  const mode = opts.linkify === undefined ? 'offload' : opts.linkify
  const normalized = input
  const out = emptyTabm()
  const types = new Map<string, string>()
  // Normalize keys (later duplicates overwrite earlier ones, as maps:from_list).
  // Most messages already have normalized keys: then skip the copy.
  let keys = Object.keys(normalized)
  let source: Message = normalized
  let ascii = true
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!
    if (normalizeKey(k) !== k) { ascii = false; source = normalizedCopy(normalized); keys = Object.keys(source); break }
    for (let j = 0; j < k.length; j++) if (k.charCodeAt(j) > 127) { ascii = false; break }
  }
  // Native sort is UTF-16 order, which equals UTF-8 byte order for ASCII.
  if (ascii) keys.sort()
  else sortKeys(keys)
  for (const k of keys) {
    if (REGEN_KEYS.has(k) || k === 'commitments' || isPrivateKey(k)) continue
    const v = source[k]!
    if (typeof v === 'string' || v instanceof Uint8Array) out[k] = v
    else if (typeof v === 'bigint') { out[k] = v.toString(); types.set(k, 'integer') }
    else if (Array.isArray(v) || isMessage(v)) {
      if (mode === false) out[k] = toTabm(v, opts)
      else out[k + '+link'] = linkChild(v, mode, opts)
    } else if (v instanceof Link) out[k + '+link'] = v.id
    else if (v instanceof Float || v instanceof Atom || v === true || v === false || v === null) {
      const [bin, type] = encodeScalar(v)
      out[k] = bin
      if (type) types.set(k, type)
    } else {
      throw new UnencodableValue(`key ${JSON.stringify(k)} has a value that cannot be encoded`)
    }
  }
  if (types.size > 0) out['ao-types'] = serializeAoTypes(types)
  // `priv` itself survives conversion untouched (hb_message:convert keeps it); other private keys do not.
  const priv = (input as Message)['priv']
  if (priv !== undefined && isMessage(priv)) out['priv'] = priv as unknown as Tabm
  const comms = (input as Message)['commitments']
  if (comms !== undefined && isMessage(comms)) out['commitments'] = comms as unknown as Tabm
  return out
}

/**
 * hb_link:normalize for one value: a nested map or list becomes a link to its
 * ID over all committers (its own children are linkified in turn when that
 * ID is computed); in 'offload' mode the child is handed to `opts.offload`.
 */
function linkChild(v: Message | Value[], mode: 'discard' | 'offload', opts: ToTabmOptions): string {
  const idOf = opts.childId ?? defaultChildId
  if (!idOf) throw new Error('no ID function registered for links (import core/id.ts)')
  const id = idOf(v)
  if (mode === 'offload' && opts.offload) opts.offload(id, v)
  return id
}

function normalizedCopy(m: Message): Message {
  const out = emptyMessage()
  for (const k of Object.keys(m)) out[normalizeKey(k)] = m[k]!
  return out
}

/** Convert a TABM to a structured message (lists come back as arrays). */
export function fromTabm(tabm: Tabm): Message | Value[] {
  const rawTypes = tabm['ao-types']
  const types = typeof rawTypes === 'string' ? parseAoTypes(rawTypes)
    : rawTypes instanceof Uint8Array ? parseAoTypes(utf8Lenient(rawTypes)) : new Map<string, string>()
  const out = emptyMessage()
  for (const rawKey of Object.keys(tabm)) {
    if (rawKey === 'ao-types') continue
    const v = tabm[rawKey]!
    if (rawKey === 'commitments') { out[rawKey] = v as unknown as Value; continue }
    if (rawKey.endsWith('+link') && (typeof v === 'string' || v instanceof Uint8Array)) {
      const id = typeof v === 'string' ? v : utf8Lenient(v)
      out[rawKey.slice(0, -5)] = new Link(id)
      continue
    }
    if (isTabm(v)) { out[rawKey] = fromTabm(v) as Value; continue }
    // ao-types keys are escaped, not lower-cased: an ID-shaped key keeps its case.
    const type = types.get(rawKey) ?? types.get(normalizeKey(rawKey))
    out[rawKey] = type === undefined ? (v as Binary) : decodeScalar(type, v as Binary)
  }
  if (types.get('.') === 'list') return numberedToList(out)
  return out
}

/** hb_util:message_to_ordered_list: values of keys "1".."n" in order. */
export function numberedToList(m: Message): Value[] {
  const keys = Object.keys(m).filter((k) => /^[1-9]\d*$/.test(k)).map(Number).sort((a, b) => a - b)
  return keys.map((k) => m[String(k)]!)
}
