/**
 * ANS-104 data items: binary layout, IDs, signing payload, RSA signing and
 * verification (signature type 1).
 *
 * Layout (integers little-endian): sigType u16 ‖ signature ‖ owner ‖
 * target presence byte [‖ 32 B] ‖ anchor presence byte [‖ 32 B] ‖ numTags u64 ‖
 * numTagBytes u64 ‖ Avro tags ‖ data.
 */
import { toB64Url, utf8 } from '../../core/bytes.ts'
import { InvalidDataItem } from '../../core/errors.ts'
import { sha256 } from '../../crypto/hash.ts'
import { rsaPssVerify } from '../../crypto/rsa.ts'
import type { Wallet } from '../../crypto/wallet.ts'
import { decodeTags, encodeTags, type Tag } from './avro.ts'
import { deepHash } from './deep-hash.ts'

export interface DataItem {
  /** 1 Arweave RSA-4096, 2 ed25519, 3 Ethereum secp256k1, 4 Solana. */
  sigType: number
  /** All zero bytes when unsigned. */
  signature: Uint8Array
  owner: Uint8Array
  /** 0 or 32 bytes. */
  target: Uint8Array
  /** 0 or 32 bytes. */
  anchor: Uint8Array
  tags: Tag[]
  /**
   * The exact Avro bytes of `tags` as received (they may be non-canonical).
   * Set by `parseItem`; when absent the canonical encoding of `tags` is used.
   * Whoever changes `tags` must drop it.
   */
  rawTags?: Uint8Array
  data: Uint8Array
}

export interface SignatureType { name: string; sigLength: number; ownerLength: number }

export const SIGNATURE_TYPES: Readonly<Record<number, SignatureType>> = {
  1: { name: 'arweave', sigLength: 512, ownerLength: 512 },
  2: { name: 'ed25519', sigLength: 64, ownerLength: 32 },
  3: { name: 'ethereum', sigLength: 65, ownerLength: 65 },
  4: { name: 'solana', sigLength: 64, ownerLength: 32 },
}

/** ANS-104 limits, which ar_bundles:verify_item checks too. */
export const MAX_TAGS = 128
export const MAX_TAG_NAME_BYTES = 1024
export const MAX_TAG_VALUE_BYTES = 3072

const RSA_BYTES = 512
const EMPTY = new Uint8Array(0)

function sigTypeOf(t: number): SignatureType {
  const s = SIGNATURE_TYPES[t]
  if (!s) throw new InvalidDataItem(`unsupported ANS-104 signature type ${t}`)
  return s
}

/** An unsigned type-1 item (zero signature and owner) from its parts. */
export function createItem(parts: { data?: Uint8Array; tags?: Tag[]; target?: Uint8Array; anchor?: Uint8Array } = {}): DataItem {
  return {
    sigType: 1,
    signature: new Uint8Array(RSA_BYTES),
    owner: new Uint8Array(RSA_BYTES),
    target: parts.target ?? EMPTY,
    anchor: parts.anchor ?? EMPTY,
    tags: parts.tags ?? [],
    data: parts.data ?? EMPTY,
  }
}

// ---- binary layout ----

function readU64(view: DataView, pos: number, what: string): number {
  const lo = view.getUint32(pos, true)
  const hi = view.getUint32(pos + 4, true)
  if (hi >= 0x200000) throw new InvalidDataItem(`${what} is too large`)
  return hi * 2 ** 32 + lo
}

function need(bytes: Uint8Array, pos: number, n: number, what: string): void {
  if (bytes.length - pos < n) throw new InvalidDataItem(`data item truncated in ${what}: needs ${n} bytes at ${pos}, has ${bytes.length - pos}`)
}

function readOptional(bytes: Uint8Array, pos: number, what: string): [Uint8Array, number] {
  need(bytes, pos, 1, what)
  const flag = bytes[pos]
  if (flag === 0) return [EMPTY, pos + 1]
  if (flag !== 1) throw new InvalidDataItem(`${what} presence byte is ${flag}, not 0 or 1`)
  need(bytes, pos + 1, 32, what)
  return [bytes.subarray(pos + 1, pos + 33), pos + 33]
}

/**
 * Parse a binary data item. Fields are views into `bytes` (no copies); do not
 * mutate the buffer while the item is in use.
 */
export function parseItem(bytes: Uint8Array): DataItem {
  if (!(bytes instanceof Uint8Array)) throw new InvalidDataItem('a data item must be bytes')
  need(bytes, 0, 2, 'signature type')
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const sigType = view.getUint16(0, true)
  const st = sigTypeOf(sigType)
  let pos = 2
  need(bytes, pos, st.sigLength, 'signature')
  const signature = bytes.subarray(pos, pos + st.sigLength)
  pos += st.sigLength
  need(bytes, pos, st.ownerLength, 'owner')
  const owner = bytes.subarray(pos, pos + st.ownerLength)
  pos += st.ownerLength
  let target: Uint8Array, anchor: Uint8Array
  ;[target, pos] = readOptional(bytes, pos, 'target')
  ;[anchor, pos] = readOptional(bytes, pos, 'anchor')
  need(bytes, pos, 16, 'tag header')
  const numTags = readU64(view, pos, 'numTags')
  const numTagBytes = readU64(view, pos + 8, 'numTagBytes')
  pos += 16
  if (numTagBytes > bytes.length - pos) {
    throw new InvalidDataItem(`numTagBytes ${numTagBytes} exceeds the ${bytes.length - pos} bytes left`)
  }
  const rawTags = bytes.subarray(pos, pos + numTagBytes)
  const tags = decodeTags(rawTags)
  if (tags.length !== numTags) throw new InvalidDataItem(`numTags is ${numTags} but the tag bytes hold ${tags.length} tags`)
  pos += numTagBytes
  return { sigType, signature, owner, target, anchor, tags, rawTags, data: bytes.subarray(pos) }
}

/** The Avro tag bytes the item is signed and serialized with. */
export const tagBytes = (item: DataItem): Uint8Array => item.rawTags ?? encodeTags(item.tags)

function checkShape(item: DataItem): SignatureType {
  const st = sigTypeOf(item.sigType)
  if (item.signature.length !== st.sigLength) throw new InvalidDataItem(`signature must be ${st.sigLength} bytes, is ${item.signature.length}`)
  if (item.owner.length !== st.ownerLength) throw new InvalidDataItem(`owner must be ${st.ownerLength} bytes, is ${item.owner.length}`)
  if (item.target.length !== 0 && item.target.length !== 32) throw new InvalidDataItem(`target must be 0 or 32 bytes, is ${item.target.length}`)
  if (item.anchor.length !== 0 && item.anchor.length !== 32) throw new InvalidDataItem(`anchor must be 0 or 32 bytes, is ${item.anchor.length}`)
  return st
}

/** Byte offset of the data in the serialized item. */
export function dataOffset(item: DataItem): number {
  const st = checkShape(item)
  return 2 + st.sigLength + st.ownerLength + 1 + item.target.length + 1 + item.anchor.length + 16 + tagBytes(item).length
}

export function serializeItem(item: DataItem): Uint8Array {
  checkShape(item)
  const raw = tagBytes(item)
  const start = dataOffset(item)
  const out = new Uint8Array(start + item.data.length)
  const view = new DataView(out.buffer)
  view.setUint16(0, item.sigType, true)
  let pos = 2
  out.set(item.signature, pos); pos += item.signature.length
  out.set(item.owner, pos); pos += item.owner.length
  for (const f of [item.target, item.anchor]) {
    out[pos++] = f.length ? 1 : 0
    out.set(f, pos); pos += f.length
  }
  view.setUint32(pos, item.tags.length, true)
  view.setUint32(pos + 8, raw.length, true)
  view.setUint32(pos + 12, Math.floor(raw.length / 2 ** 32), true)
  pos += 16
  out.set(raw, pos); pos += raw.length
  out.set(item.data, pos)
  return out
}

// ---- IDs and signatures ----

const DATAITEM = utf8('dataitem')
const ONE = utf8('1')
const ZERO_OWNER = new Uint8Array(RSA_BYTES)

/** deepHash(["dataitem", "1", sigType, owner, target, anchor, tag bytes, data]): what the owner signs. */
export function signingPayload(item: DataItem): Uint8Array {
  return deepHash([DATAITEM, ONE, utf8(String(item.sigType)), item.owner, item.target, item.anchor, tagBytes(item), item.data])
}

export const isSigned = (item: DataItem): boolean => item.signature.some((b) => b !== 0)

/** sha256(signature): the signed ID as 32 bytes. */
export const itemIdBytes = (item: DataItem): Uint8Array => sha256(item.signature)
/** The signed ID: base64url(sha256(signature)). */
export const itemId = (item: DataItem): string => toB64Url(itemIdBytes(item))

/**
 * HyperBEAM's unsigned ID (ar_bundles, `unsigned_id`): sha256 of the deep hash
 * with the owner replaced by 512 zero bytes. ar_bundles always writes "1" as
 * the signature type and re-encodes the tags canonically; we do the same, so
 * for other signature types this is HyperBEAM's definition, not an ANS-104 one.
 */
export function unsignedIdBytes(item: DataItem): Uint8Array {
  return sha256(deepHash([DATAITEM, ONE, ONE, ZERO_OWNER, item.target, item.anchor, encodeTags(item.tags), item.data]))
}
export const unsignedId = (item: DataItem): string => toB64Url(unsignedIdBytes(item))

/** Sign as type 1 with RSA-PSS SHA-256, salt 32 (HyperBEAM's ar_wallet convention). Returns a new item. */
export async function signItem(item: DataItem, wallet: Wallet): Promise<DataItem> {
  const unsigned: DataItem = { ...item, sigType: 1, owner: wallet.n, signature: new Uint8Array(RSA_BYTES) }
  checkShape(unsigned)
  const signature = await wallet.signSha256(signingPayload(unsigned))
  return { ...unsigned, signature }
}

/** The tag limits of ANS-104 (also checked by ar_bundles:verify_item). */
export function tagsWithinLimits(tags: readonly Tag[]): boolean {
  if (tags.length > MAX_TAGS) return false
  for (const t of tags) if (t.name.length > MAX_TAG_NAME_BYTES || t.value.length > MAX_TAG_VALUE_BYTES) return false
  return true
}

/**
 * Verify a type-1 item's RSA-PSS signature (salt length auto-detected: 32,
 * 478, 0) and its tag limits. Other signature types cannot be checked here
 * (no secp256k1/ed25519 library): they return false.
 */
export async function verifyItem(item: DataItem): Promise<boolean> {
  if (item.sigType !== 1) return false
  if (item.owner.length !== RSA_BYTES || item.signature.length !== RSA_BYTES) return false
  if (item.target.length !== 0 && item.target.length !== 32) return false
  if (item.anchor.length !== 0 && item.anchor.length !== 32) return false
  if (!tagsWithinLimits(item.tags) || !isSigned(item)) return false
  return rsaPssVerify(item.owner, 'SHA-256', signingPayload(item), item.signature)
}
