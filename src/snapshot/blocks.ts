/**
 * Content-addressed blocks for snapshots. Browser-pure.
 *
 * `Blocks` adapts any Helia/interface-blockstore Blockstore (blockstore-idb in
 * the browser, blockstore-fs in Node, blockstore-core's MemoryBlockstore in
 * tests): put bytes → CIDv1 (sha2-256), get by CID with an integrity check
 * (the bytes must hash to the CID, else BlockCorrupt), typed errors for a
 * missing block, a full quota or an I/O failure.
 *
 * Snapshots up to CHUNK_SIZE bytes are one `raw` block, so the CID is the
 * hash of the snapshot bytes themselves. Larger ones are split into raw
 * blocks of CHUNK_SIZE (what bitswap moves comfortably) under a dag-cbor
 * root `{ v: 1, size, chunks: [CID, …] }`, so a peer's Helia can fetch the
 * whole graph by the root CID.
 */
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import * as Digest from 'multiformats/hashes/digest'
import * as dagCbor from '@ipld/dag-cbor'
import { sha256 } from '../crypto/hash.ts'
import { StoreFailed } from '../core/errors.ts'
import { StoreQuotaExceeded } from '../store/encoding.ts'
import { BlockCorrupt, BlockNotFound, InvalidSnapshotRef, SnapshotCorrupt } from './errors.ts'

export const CHUNK_SIZE = 1 << 20
const SHA2_256 = 0x12

/** What Blocks needs of a blockstore (interface-blockstore's Blockstore fits). */
export interface BlockstoreLike {
  put(cid: CID, bytes: Uint8Array): unknown
  get(cid: CID): AsyncIterable<Uint8Array> | Iterable<Uint8Array> | Promise<Uint8Array> | Uint8Array
  has(cid: CID): Promise<boolean> | boolean
}

/** The CIDv1 (sha2-256) of `bytes` under `codec` (raw by default). */
export function cidOf(bytes: Uint8Array, codec: number = raw.code): CID {
  return CID.createV1(codec, Digest.create(SHA2_256, sha256(bytes)))
}

/** A CID from its string form, checked to be one Blocks can verify. */
export function parseCid(ref: string | CID): CID {
  let cid: CID
  try {
    cid = typeof ref === 'string' ? CID.parse(ref) : ref
  } catch (e) {
    throw new InvalidSnapshotRef(`not a CID: ${String(ref)} (${(e as Error).message})`)
  }
  if (cid.multihash.code !== SHA2_256) throw new InvalidSnapshotRef(`${cid}: only sha2-256 CIDs are used for snapshots`)
  if (cid.code !== raw.code && cid.code !== dagCbor.code) throw new InvalidSnapshotRef(`${cid}: codec 0x${cid.code.toString(16)} is neither raw nor dag-cbor`)
  return cid
}

const errorText = (e: unknown): string => (e instanceof Error ? `${e.name}: ${e.message}` : String(e))

function blockError(e: unknown, what: string): StoreFailed {
  if (e instanceof StoreFailed) return e
  const text = errorText(e)
  for (let x = e as { name?: string; inner?: unknown; cause?: unknown } | null, i = 0; x && i < 8; x = (x.inner ?? x.cause) as typeof x, i++) {
    if (x.name === 'QuotaExceededError') return new StoreQuotaExceeded(`${what}: the storage quota is exhausted (${text})`)
  }
  // blockstore-idb and blockstore-fs wrap the cause into the message (PutFailedError(String(err))).
  if (/QuotaExceededError|ENOSPC|EDQUOT/.test(text)) return new StoreQuotaExceeded(`${what}: out of space (${text})`)
  return new StoreFailed(`${what}: ${text}`)
}

async function collect(r: AsyncIterable<Uint8Array> | Iterable<Uint8Array> | Promise<Uint8Array> | Uint8Array): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  if (r instanceof Uint8Array) parts.push(r)
  else if (r instanceof Promise) parts.push(await r)
  else for await (const p of r as AsyncIterable<Uint8Array>) parts.push(p)
  // Always a fresh plain Uint8Array (blockstore-fs yields Node Buffers, possibly pooled).
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) { out.set(p, at); at += p.length }
  return out
}

interface Manifest { v: 1; size: number; chunks: CID[] }

export class Blocks {
  constructor(readonly store: BlockstoreLike) {}

  /** Store one block; returns its CID. */
  async putBlock(bytes: Uint8Array, codec: number = raw.code): Promise<CID> {
    const cid = cidOf(bytes, codec)
    try {
      // Content-addressed: a block already held is the same bytes (a process
      // whose VM did not change snapshots to the same CID slot after slot).
      if (await this.store.has(cid)) return cid
      await this.store.put(cid, bytes)
    } catch (e) {
      throw blockError(e, `cannot store block ${cid}`)
    }
    return cid
  }

  /** One block's bytes, verified against its CID. */
  async getBlock(ref: CID | string): Promise<Uint8Array> {
    const cid = parseCid(ref)
    let bytes: Uint8Array
    try {
      bytes = await collect(this.store.get(cid))
    } catch (e) {
      if ((e as Error | null)?.name === 'NotFoundError') throw new BlockNotFound(`block ${cid} is not in the blockstore`)
      throw blockError(e, `cannot read block ${cid}`)
    }
    const want = cid.multihash.digest
    const got = sha256(bytes)
    if (got.length !== want.length || got.some((b, i) => b !== want[i])) {
      throw new BlockCorrupt(`block ${cid}: its ${bytes.length} bytes do not hash to the CID`)
    }
    return bytes
  }

  async has(ref: CID | string): Promise<boolean> {
    const cid = parseCid(ref)
    try {
      return await this.store.has(cid)
    } catch (e) {
      throw blockError(e, `cannot look up block ${cid}`)
    }
  }

  /** Store bytes of any size: one raw block, or raw chunks under a dag-cbor root. Returns the root CID. */
  async putBytes(bytes: Uint8Array): Promise<CID> {
    if (bytes.length <= CHUNK_SIZE) return this.putBlock(bytes)
    const chunks: CID[] = []
    for (let at = 0; at < bytes.length; at += CHUNK_SIZE) chunks.push(await this.putBlock(bytes.subarray(at, at + CHUNK_SIZE)))
    const manifest: Manifest = { v: 1, size: bytes.length, chunks }
    return this.putBlock(dagCbor.encode(manifest), dagCbor.code)
  }

  /** The bytes under a root CID written by putBytes, every block verified. */
  async getBytes(ref: CID | string): Promise<Uint8Array> {
    const cid = parseCid(ref)
    const root = await this.getBlock(cid)
    if (cid.code === raw.code) return root
    let m: Manifest
    try {
      m = dagCbor.decode<Manifest>(root)
    } catch (e) {
      throw new SnapshotCorrupt(`root block ${cid} is not dag-cbor: ${(e as Error).message}`)
    }
    if (m === null || typeof m !== 'object' || m.v !== 1 || !Number.isSafeInteger(m.size) || !Array.isArray(m.chunks) ||
        m.chunks.some((c) => CID.asCID(c) === null) || m.chunks.length !== Math.ceil(m.size / CHUNK_SIZE)) {
      throw new SnapshotCorrupt(`root block ${cid} is not a chunk manifest`)
    }
    const out = new Uint8Array(m.size)
    let at = 0
    for (const c of m.chunks) {
      const part = await this.getBlock(CID.asCID(c)!)
      const want = Math.min(CHUNK_SIZE, m.size - at)
      if (part.length !== want) throw new SnapshotCorrupt(`chunk ${c} of ${cid} has ${part.length} bytes, not ${want}`)
      out.set(part, at)
      at += part.length
    }
    return out
  }
}
