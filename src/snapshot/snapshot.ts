/**
 * Snapshots as content-addressed blocks. Browser-pure.
 *
 *   const { cid, message } = await putSnapshot(blocks, state, { process, slot })
 *   const state = await getSnapshot(otherBlocks, message)   // any machine holding the blocks
 *
 * The snapshot message refers to the bytes by CID, so it is small, can be
 * cached in a Store like any message, and anyone holding (or able to fetch
 * through Helia) the blocks can restore without replaying.
 */
import { CID } from 'multiformats/cid'
import { isMessage, message, type Message, type Value } from '../core/value.ts'
import { decodeSnapshot, encodeSnapshot, SNAPSHOT_VERSION } from './format.ts'
import { parseCid, type Blocks } from './blocks.ts'
import { InvalidSnapshotRef, SnapshotCorrupt } from './errors.ts'

export const SNAPSHOT_FORMAT = `ao-tab-snapshot/${SNAPSHOT_VERSION}`

export interface SnapshotRef {
  cid: CID
  /** The snapshot bytes (what the CID, or its chunk graph, covers). */
  bytes: Uint8Array
  /** `{ snapshot-format, snapshot-cid, snapshot-size, …extra }` */
  message: Message
}

/** The message that refers to a stored snapshot; `extra` keys (process, slot, …) are added as given. */
export function snapshotMessage(cid: CID, size: number, extra: Message = message()): Message {
  const m = message(extra)
  m['snapshot-format'] = SNAPSHOT_FORMAT
  m['snapshot-cid'] = cid.toString()
  m['snapshot-size'] = BigInt(size)
  return m
}

/** True for a message made by snapshotMessage (a snapshot held as blocks, not inline). */
export function isSnapshotMessage(v: unknown): v is Message {
  return isMessage(v) && CID.asCID(v) === null && typeof v['snapshot-format'] === 'string' &&
    v['snapshot-format'].startsWith('ao-tab-snapshot/') && typeof v['snapshot-cid'] === 'string'
}

/** The CID a snapshot message (or CID string) refers to. */
export function snapshotCid(ref: Message | CID | string): CID {
  const asCid = typeof ref === 'object' && ref !== null ? CID.asCID(ref) : null
  if (asCid) return parseCid(asCid)
  if (typeof ref === 'string' || !isMessage(ref)) return parseCid(ref as string)
  const c = ref['snapshot-cid']
  if (typeof c !== 'string') throw new InvalidSnapshotRef('a snapshot message needs a snapshot-cid')
  return parseCid(c)
}

/** Encode `state`, store it as blocks, and return its CID, bytes and message. */
export async function putSnapshot(blocks: Blocks, state: Value, extra?: Message): Promise<SnapshotRef> {
  const bytes = encodeSnapshot(state)
  const cid = await blocks.putBytes(bytes)
  return { cid, bytes, message: snapshotMessage(cid, bytes.length, extra) }
}

/** Fetch, verify and decode the snapshot a message (or CID) refers to. */
export async function getSnapshot(blocks: Blocks, ref: Message | CID | string): Promise<Value> {
  const cid = snapshotCid(ref)
  const bytes = await blocks.getBytes(cid)
  if (typeof ref !== 'string' && CID.asCID(ref) === null && isMessage(ref) && typeof ref['snapshot-size'] === 'bigint' && ref['snapshot-size'] !== BigInt(bytes.length)) {
    throw new SnapshotCorrupt(`snapshot ${cid} has ${bytes.length} bytes, its message says ${ref['snapshot-size']}`)
  }
  return decodeSnapshot(bytes)
}
