/**
 * ans104@1.0 ⇄ TABM, as HyperBEAM edge 3635c5e's dev_codec_ans104 maps them
 * (spec §3.7). Flat messages only: a nested map, or a value of 4096 bytes or
 * more, would need an ar_bundles bundle and throws UnsupportedBundle.
 *
 * TABM → item (`to`):
 *  - `body` becomes the data when there is no `data` (tag `ao-data-key: body`);
 *  - keys are normalized; `id`, `unsigned_id`, `owner`, `owner_address`,
 *    `tags`, `data_size`, `data_tree`, `signature`, `signature_type` are refused;
 *  - `target` / `last_tx` (the anchor) become fields when they are IDs (43-char
 *    base64url, or 32 raw bytes) or any other non-empty value; empty ones stay tags;
 *  - HyperBEAM copies: the #tx record fields ANS-104 does not serialize are
 *    *dropped* when their value differs from the record default (`format` other
 *    than `ans104`; non-zero integer `quantity`, `reward`, `denomination`;
 *    non-empty `data_root`) — unless a signed item carried the key as a tag
 *    (its commitment's `original-tags`): then it stays a tag (HyperBEAM drops
 *    it and refuses the item);
 *  - everything else is a tag, in bytewise key order, or in the order of the
 *    commitment's `original-tags` when present (mixed-case or duplicate tags);
 *  - signature and owner come from the message's ans104 commitment, if any.
 * Item → TABM (`from`): tags (duplicates folded into an SF list of strings),
 * `last_tx`/`target` as raw bytes, `data` (or the key `ao-data-key` names),
 * and the commitment.
 */
import { bytesEqual, compareUtf8, fromB64, toB64Url, tryUtf8, utf8, utf8Length } from '../../core/bytes.ts'
import {
  InvalidCommitment, InvalidDataItem, ReservedItemField, UnencodableValue, UnsupportedBundle, UnsupportedCommitment,
} from '../../core/errors.ts'
import { isPrivateKey, normalizeKey } from '../../core/keys.ts'
import type { Binary } from '../../core/value.ts'
import { sha256 } from '../../crypto/hash.ts'
import type { Wallet } from '../../crypto/wallet.ts'
import { emptyTabm, isTabm, type Tabm } from '../tabm.ts'
import { tag, type Tag } from './avro.ts'
import {
  createItem, isSigned, itemId, signItem, unsignedId, verifyItem, MAX_TAG_VALUE_BYTES, type DataItem,
} from './data-item.ts'

export const ANS104_DEVICE = 'ans104@1.0'
/** Values of this many bytes or more go into a bundle in HyperBEAM. */
export const MAX_TAG_VALUE = 4096

const RSA_BYTES = 512
/** Keys HyperBEAM refuses in a TABM it converts to a data item. */
const INVALID_FIELDS = ['id', 'unsigned_id', 'owner', 'owner_address', 'tags', 'data_size', 'data_tree', 'signature', 'signature_type']
const BASE_COMMITTED = ['last_tx', 'owner', 'target', 'signature', 'data']
const FILTERED_TAGS = ['bundle-format', 'bundle-map', 'bundle-version']

const bytesOf = (v: Binary): Uint8Array => (typeof v === 'string' ? utf8(v) : v)
const byteLength = (v: Binary): number => (typeof v === 'string' ? utf8Length(v) : v.length)
const textOrBytes = (b: Uint8Array): Binary => tryUtf8(b) ?? b
const binaryEqual = (a: Binary, b: Binary): boolean =>
  typeof a === 'string' && typeof b === 'string' ? a === b : bytesEqual(bytesOf(a), bytesOf(b))

function numbered(values: readonly (Binary | Tabm)[]): Tabm {
  const m = emptyTabm()
  values.forEach((v, i) => { m[String(i + 1)] = v })
  return m
}

/** A numbered map {"1": ..., "2": ...} back to a list; any other key throws. */
function fromNumbered(m: Tabm, what: string): (Binary | Tabm)[] {
  const keys = Object.keys(m).filter((k) => !isPrivateKey(k))
  const out: (Binary | Tabm)[] = []
  for (let i = 1; i <= keys.length; i++) {
    const v = m[String(i)]
    if (v === undefined) throw new InvalidCommitment(`${what} is not a numbered map from 1 to ${keys.length}`)
    out.push(v)
  }
  return out
}

// ---- tags ⇄ keys ----

/** The SF list of strings HyperBEAM folds duplicate tags into (escapes only `\` and `"`). */
function sfStringList(values: Uint8Array[]): Uint8Array {
  const parts: number[] = []
  values.forEach((v, i) => {
    if (i > 0) parts.push(44, 32)
    parts.push(34)
    for (const c of v) {
      if (c === 92 || c === 34) parts.push(92)
      parts.push(c)
    }
    parts.push(34)
  })
  return Uint8Array.from(parts)
}

function tagName(t: Tag): string {
  const s = tryUtf8(t.name)
  if (s === null) throw new UnencodableValue('an ANS-104 tag name is not UTF-8 and cannot be a message key')
  return s
}

/** deduplicating_from_list: tags keyed by normalized name; repeated names become an SF list. */
function dedupTags(tags: readonly Tag[], names: readonly string[] = tags.map(tagName)): Map<string, Uint8Array> {
  const groups = new Map<string, Uint8Array[]>()
  tags.forEach((t, i) => {
    const k = normalizeKey(names[i]!)
    const g = groups.get(k)
    if (g) g.push(t.value)
    else groups.set(k, [t.value])
  })
  const out = new Map<string, Uint8Array>()
  for (const [k, vs] of groups) out.set(k, vs.length === 1 ? vs[0]! : sfStringList(vs))
  return out
}

// ---- TABM → data item ----

/** normalize_data: `body` is the data when `data` is absent or empty (and no `ao-data-key` is set). */
function normalizeData(m: Tabm): Tabm {
  if ('ao-data-key' in m) return m
  const data = m.data
  const dataEmpty = data === undefined || (!isTabm(data) && byteLength(data) === 0)
  if (!dataEmpty || !('body' in m)) return m
  const out = emptyTabm()
  for (const k of Object.keys(m)) if (k !== 'body') out[k] = m[k]!
  out['ao-data-key'] = 'body'
  out.data = m.body!
  return out
}

function normalizeKeys(m: Tabm): Tabm {
  const out = emptyTabm()
  for (const k of Object.keys(m)) {
    const nk = normalizeKey(k)
    if (isPrivateKey(nk)) continue
    if (nk in out) throw new InvalidDataItem(`keys ${JSON.stringify(k)} and another both normalize to ${JSON.stringify(nk)}`)
    out[nk] = m[k]!
  }
  return out
}

type Coerced = { kind: 'keep' } | { kind: 'drop' } | { kind: 'set'; bytes: Uint8Array }
const KEEP: Coerced = { kind: 'keep' }
const DROP: Coerced = { kind: 'drop' }

/** coerce_value for a binary field (default <<>>): IDs become native, empty stays a tag. */
function coerceBinaryField(v: Binary): Coerced {
  const n = byteLength(v)
  let bytes: Uint8Array
  if (n === 43) {
    try { bytes = fromB64(typeof v === 'string' ? v : (tryUtf8(v) ?? '')) } catch { return KEEP }
    if (bytes.length !== 32) return KEEP
  } else bytes = bytesOf(v)
  return bytes.length === 0 ? KEEP : { kind: 'set', bytes }
}

/** coerce_value for an integer field (default 0): list_to_integer, then compare with 0. */
function coerceIntegerField(v: Binary): Coerced {
  const s = typeof v === 'string' ? v : tryUtf8(v)
  if (s === null || !/^[+-]?[0-9]+$/.test(s)) return KEEP
  return /^[+-]?0+$/.test(s) ? KEEP : DROP
}

function coerceField(field: string, v: Binary): Coerced {
  switch (field) {
    case 'format': return (typeof v === 'string' ? v : tryUtf8(v)) === 'ans104' ? KEEP : DROP
    case 'last_tx': case 'target': case 'data_root': return coerceBinaryField(v)
    case 'quantity': case 'reward': case 'denomination': return coerceIntegerField(v)
    // `manifest` coerces through list_to_existing_atom, which depends on the VM's atom
    // table; only `undefined` (the default) is certain. We keep every value as a tag.
    default: return KEEP
  }
}

interface Flattened { signature: Uint8Array; owner: Uint8Array; originalTags: Tag[] }

/** flatten_commitments, restricted to ans104@1.0 commitments (others are ignored). */
function flattenCommitments(comms: Binary | Tabm | undefined): Flattened {
  const out: Flattened = { signature: new Uint8Array(RSA_BYTES), owner: new Uint8Array(RSA_BYTES), originalTags: [] }
  if (comms === undefined) return out
  if (!isTabm(comms)) throw new InvalidCommitment('commitments must be a map')
  const ours = Object.values(comms).filter((c): c is Tabm => isTabm(c) && c['commitment-device'] === ANS104_DEVICE)
  if (ours.length === 0) return out
  if (ours.length > 1) throw new UnsupportedCommitment('a data item carries one signature: the message has several ans104@1.0 commitments')
  const c = ours[0]!
  const decode = (key: string): Uint8Array | null => {
    const v = c[key]
    if (v === undefined) return null
    if (isTabm(v)) throw new InvalidCommitment(`commitment ${key} must be a binary`)
    const b = fromB64(typeof v === 'string' ? v : (tryUtf8(v) ?? ''))
    if (b.length !== RSA_BYTES) throw new InvalidCommitment(`commitment ${key} must decode to ${RSA_BYTES} bytes, not ${b.length}`)
    return b
  }
  out.signature = decode('signature') ?? out.signature
  out.owner = decode('keyid') ?? out.owner
  const orig = c['original-tags']
  if (orig !== undefined) {
    if (!isTabm(orig)) throw new InvalidCommitment('original-tags must be a map')
    out.originalTags = fromNumbered(orig, 'original-tags').map((t) => {
      if (!isTabm(t)) throw new InvalidCommitment('an original tag must be a map')
      const name = t.name
      const value = t.value
      if (name === undefined || value === undefined || isTabm(name) || isTabm(value)) {
        throw new InvalidCommitment('an original tag needs a binary name and value')
      }
      return tag(name, value)
    })
  }
  return out
}

/**
 * The data item for a flat TABM (HyperBEAM's `to`). An ans104@1.0 commitment
 * on the message supplies the signature, owner and original tag order; other
 * commitments are ignored.
 */
export function tabmToItem(tabm: Tabm): DataItem {
  if (!isTabm(tabm)) throw new InvalidDataItem('a TABM must be a map')
  const m = normalizeKeys(normalizeData(tabm))
  const invalid = INVALID_FIELDS.filter((f) => f in m)
  if (invalid.length) throw new ReservedItemField(`a data item cannot carry the key(s) ${invalid.join(', ')}`)

  const item = createItem()
  const used = new Set<string>(['commitments'])
  const flat = flattenCommitments(m.commitments)
  // A key the signer sent as a tag stays a tag (HyperBEAM drops e.g. a non-zero
  // `Quantity` as a #tx field and then fails the original-tags check, which
  // refuses every signed token transfer; a deliberate difference).
  const signedTags = new Set(flat.originalTags.map((t) => normalizeKey(tryUtf8(t.name) ?? '')))
  for (const field of ['format', 'last_tx', 'target', 'quantity', 'manifest', 'data_root', 'reward', 'denomination']) {
    const v = m[field]
    if (v === undefined || isTabm(v)) continue
    if (signedTags.has(field) && field !== 'last_tx' && field !== 'target') continue
    const c = coerceField(field, v)
    if (c.kind === 'keep') continue
    used.add(field)
    if (c.kind === 'set' && field === 'last_tx') item.anchor = c.bytes
    else if (c.kind === 'set' && field === 'target') item.target = c.bytes
  }
  if (item.target.length !== 32 && item.target.length !== 0) throw new InvalidDataItem(`target must be an ID (32 bytes), got ${item.target.length} bytes`)
  if (item.anchor.length !== 32 && item.anchor.length !== 0) throw new InvalidDataItem(`last_tx (anchor) must be an ID (32 bytes), got ${item.anchor.length} bytes`)

  item.signature = flat.signature
  item.owner = flat.owner

  const data = m.data
  if (data !== undefined) {
    if (isTabm(data)) throw new UnsupportedBundle('a nested map as data needs an ans104 bundle')
    if (byteLength(data) > 0) {
      item.data = bytesOf(data)
      used.add('data')
    }
  }

  const rest = new Map<string, Binary>()
  for (const k of Object.keys(m)) {
    if (used.has(k)) continue
    const v = m[k]!
    if (isTabm(v)) throw new UnsupportedBundle(`key ${JSON.stringify(k)} holds a nested map, which needs an ans104 bundle`)
    if (byteLength(v) >= MAX_TAG_VALUE) throw new UnsupportedBundle(`key ${JSON.stringify(k)} holds ${byteLength(v)} bytes, which needs an ans104 bundle`)
    rest.set(k, v)
  }

  if (flat.originalTags.length > 0) {
    const expected = dedupTags(flat.originalTags)
    let same = expected.size === rest.size
    if (same) for (const [k, v] of expected) { const r = rest.get(k); if (r === undefined || !binaryEqual(r, v)) { same = false; break } }
    if (!same) throw new InvalidCommitment('the message keys do not match the commitment\'s original-tags')
    item.tags = flat.originalTags
  } else {
    // Erlang map order: bytewise for up to 32 keys. Beyond that HyperBEAM uses its
    // HAMT order, which sorting cannot reproduce (spec §3.5): unsigned IDs of such
    // messages differ from HyperBEAM's; signed items still verify.
    item.tags = [...rest.keys()].sort(compareUtf8).map((k) => tag(k, rest.get(k)!))
  }
  for (const t of item.tags) {
    if (t.name.length > MAX_TAG_VALUE_BYTES || t.value.length > MAX_TAG_VALUE_BYTES) {
      throw new InvalidDataItem(`tag ${JSON.stringify(tryUtf8(t.name)?.slice(0, 64))} is over ${MAX_TAG_VALUE_BYTES} bytes`)
    }
  }
  return item
}

// ---- data item → TABM ----

function setOrThrow(m: Tabm, key: string, value: Binary | Tabm): void {
  const old = m[key]
  if (old === undefined) { m[key] = value; return }
  const same = isTabm(old) || isTabm(value) ? false : binaryEqual(old, value)
  if (!same) throw new InvalidDataItem(`the item's ${key} clashes with its tag of the same name`)
}

/** keep-last unique, as hb_util:unique. */
function uniqueKeepLast(list: string[]): string[] {
  const seen = new Set<string>()
  const out: string[] = []
  for (let i = list.length - 1; i >= 0; i--) if (!seen.has(list[i]!)) { seen.add(list[i]!); out.push(list[i]!) }
  return out.reverse()
}

const originalTagsMap = (tags: readonly Tag[]): Tabm =>
  numbered(tags.map((t) => { const m = emptyTabm(); m.name = textOrBytes(t.name); m.value = textOrBytes(t.value); return m }))

/** The TABM of a type-1 data item, with its ans104@1.0 commitment (HyperBEAM's `from`). */
export function itemToTabm(item: DataItem): Tabm {
  if (item.sigType !== 1) throw new UnsupportedCommitment(`ans104@1.0 messages are RSA (type 1); this item has signature type ${item.sigType}`)
  const names = item.tags.map(tagName)
  const valueOf = (n: string): string | null | undefined => {
    const i = names.indexOf(n)
    return i < 0 ? undefined : tryUtf8(item.tags[i]!.value)
  }
  if (names.includes('ao-type') && item.tags.some((t, i) => names[i] === 'ao-type' && tryUtf8(t.value) === 'binary')) {
    throw new UnsupportedBundle('the item encodes a bare binary (ao-type: binary), not a message')
  }
  if (valueOf('bundle-format') === 'binary' && valueOf('bundle-version') === '2.0.0') throw new UnsupportedBundle('ans104 bundles are not supported')

  const m = emptyTabm()
  for (const [k, v] of dedupTags(item.tags, names)) m[k] = textOrBytes(v)
  if (item.anchor.length) setOrThrow(m, 'last_tx', item.anchor)
  if (item.target.length) setOrThrow(m, 'target', item.target)
  for (const f of INVALID_FIELDS) delete m[f]
  if (item.data.length) setOrThrow(m, 'data', item.data.length <= MAX_TAG_VALUE ? textOrBytes(item.data) : item.data)
  const dataKey = m['ao-data-key']
  if (dataKey !== undefined) {
    if (isTabm(dataKey)) throw new InvalidDataItem('ao-data-key must be a binary')
    const key = typeof dataKey === 'string' ? dataKey : tryUtf8(dataKey)
    if (key === null) throw new UnencodableValue('ao-data-key is not UTF-8')
    const d = m.data ?? ''
    delete m.data
    delete m['ao-data-key']
    m[key] = d
  }

  const committed = uniqueKeepLast([
    ...BASE_COMMITTED,
    ...names.map((n) => normalizeKey(n)),
    ...Object.keys(m).sort(compareUtf8),
  ])
  const normal = names.every((n) => normalizeKey(n) === n)
  if (isSigned(item)) {
    for (const k of ['id', 'keyid', 'signature', 'commitment-device', 'original-tags']) delete m[k]
    const c = emptyTabm()
    c['commitment-device'] = ANS104_DEVICE
    c.committer = toB64Url(sha256(item.owner))
    c.committed = numbered(committed)
    c.keyid = toB64Url(item.owner)
    c.signature = toB64Url(item.signature)
    c.type = 'rsa-pss-sha256'
    if (committed.includes('bundle-format')) c.bundle = 'true'
    if (!normal) c['original-tags'] = originalTagsMap(item.tags)
    const comms = emptyTabm()
    comms[itemId(item)] = c
    setOrThrow(m, 'commitments', comms)
  } else if (!normal) {
    const c = emptyTabm()
    c['commitment-device'] = ANS104_DEVICE
    c.type = 'unsigned-sha256'
    c['original-tags'] = originalTagsMap(item.tags)
    const comms = emptyTabm()
    comms[unsignedId(item)] = c
    setOrThrow(m, 'commitments', comms)
  }
  for (const k of FILTERED_TAGS) delete m[k]
  return m
}

// ---- commit and verify ----

/** Sign a flat TABM as an ANS-104 item (RSA-PSS SHA-256, salt 32); returns the committed TABM. */
export async function commitAns104(tabm: Tabm, wallet: Wallet): Promise<Tabm> {
  return itemToTabm(await signItem(tabmToItem(tabm), wallet))
}

/**
 * Verify one ans104@1.0 commitment of a TABM: rebuild the item with only that
 * commitment and check its signature (`rsa-pss-sha256`), or its unsigned ID
 * (`unsigned-sha256`). Beyond HyperBEAM, the commitment's ID and `committer`
 * must match the signature and owner.
 */
export async function verifyAns104Commitment(tabm: Tabm, commitmentId: string): Promise<boolean> {
  const comms = tabm.commitments
  const c = isTabm(comms) ? comms[commitmentId] : undefined
  if (!isTabm(c)) throw new InvalidCommitment(`no commitment ${JSON.stringify(commitmentId)} on the message`)
  if (c['commitment-device'] !== ANS104_DEVICE) throw new UnsupportedCommitment(`commitment ${commitmentId} is not ${ANS104_DEVICE}`)
  const only = emptyTabm()
  for (const k of Object.keys(tabm)) if (k !== 'commitments') only[k] = tabm[k]!
  const one = emptyTabm()
  one[commitmentId] = c
  only.commitments = one
  const item = tabmToItem(only)
  switch (c.type) {
    case 'rsa-pss-sha256': {
      if (itemId(item) !== commitmentId) return false
      const committer = c.committer
      if (committer !== undefined && (isTabm(committer) || !binaryEqual(committer, toB64Url(sha256(item.owner))))) return false
      return verifyItem(item)
    }
    case 'unsigned-sha256':
      return unsignedId(item) === commitmentId
    default:
      throw new UnsupportedCommitment(`ans104@1.0 commitment type ${JSON.stringify(c.type)} is not supported`)
  }
}
