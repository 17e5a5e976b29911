/**
 * Long lists in the persistent stores, kept as content-defined chunks.
 *
 * A process's state holds lists that only ever grow by a few items a slot
 * (dedup@1.0's history of message IDs grows by one every slot, at its
 * start), and every slot's state is stored. Written whole, each slot
 * rewrites the entire history: the bytes a long-running process writes grow
 * with the square of its slots. Instead, a list of CHUNK_MIN items or more is
 * cut into chunks where its items say so (after an item whose hash ends in
 * six 1-bits, or at MAX_CHUNK items), each chunk is stored once under
 * `chunks/<sha-256 of its encoding>`, and the entry keeps a marker naming its
 * chunks. A list that grew at either end keeps all its chunks but the one at
 * that end, so a slot writes a few hundred bytes of history, not all of it.
 * A new first chunk stays inline in the entry (kind `h`: the list becomes
 * [Link(HEAD_MARK + names), …its items]), so a history growing at its start
 * costs no chunk entry a slot, only one when its first chunk closes.
 *
 * Transparent: `read` gives back the value as written. The marker is a Link
 * whose id starts with MARK, inside an entry of kind `chunked` only (a value
 * that holds such a Link itself is written unchunked). Chunks are written
 * before the entry that names them (or in the same transaction), so a crash
 * never leaves an entry whose chunks are missing; if one is missing anyway
 * (a disk, another writer), reading the entry is StoreCorrupt.
 */
import { Link, isMessage, type Message, type Value } from '../core/value.ts'
import { toB64Url } from '../core/bytes.ts'
import { StoreCorrupt, encodeEntry, valueEntryWithDigest, withEncoding, type Entry } from './encoding.ts'
import type { Stored } from './store.ts'

/** Lists at least this long are stored in chunks. */
export const CHUNK_MIN = 256
/** A chunk ends here when its items have not ended it sooner. */
const MAX_CHUNK = 512
/** A boundary follows an item whose hash has these low bits set (one item in 64). */
const BOUNDARY_MASK = 63
const MARK = 'ao-tab-chunks '
/** Marks a list kept as its first chunk's items after this Link, then the named chunks (entries of kind `h`). */
const HEAD_MARK = 'ao-tab-chunks+head '
/** What a marker-like Link starts with: either marker. */
const MARK_PREFIX = 'ao-tab-chunks'
export const CHUNKS_GROUP = 'chunks'
const MAX_DEPTH = 100

/** One entry to store, chunks before the entry that names them; `encoded`: its bytes, when already made. */
export interface EntryWrite { path: string; entry: Entry; encoded?: Uint8Array }

/** The bytes to store for a write. */
export const entryBytesOf = (w: EntryWrite): Uint8Array => w.encoded ?? encodeEntry(w.entry)

/** A chunk among the entries `entriesFor` gives. */
export const isChunkWrite = (w: EntryWrite): boolean => w.entry.kind === 'value' && w.path.startsWith(CHUNKS_GROUP + '/')

/** FNV-1a over a string's UTF-16 units, else over the item's encoding: where chunk boundaries fall. */
function itemHash(v: Value): number {
  let h = 0x811c9dc5
  if (typeof v === 'string') {
    for (let i = 0; i < v.length; i++) h = Math.imul(h ^ v.charCodeAt(i), 0x01000193)
    return h >>> 0
  }
  return withEncoding(v, (b) => {
    for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i]!, 0x01000193)
    return h >>> 0
  })
}

/** Whether a chunk ends after this string item, for strings seen lately (a history's items recur every slot). */
const boundaries = new Map<string, boolean>()

function endsChunk(v: Value): boolean {
  if (typeof v !== 'string') return (itemHash(v) & BOUNDARY_MASK) === BOUNDARY_MASK
  let b = boundaries.get(v)
  if (b === undefined) {
    b = (itemHash(v) & BOUNDARY_MASK) === BOUNDARY_MASK
    if (boundaries.size >= MAX_RECENT * 8) boundaries.clear()
    boundaries.set(v, b)
  }
  return b
}

/**
 * Names of chunks seen lately, by their first item, so that the chunks a
 * growing list still shares with its last version are not encoded and
 * hashed again: a hit needs the very same items (===) in the same order, all
 * of them primitive (a message could change under the same identity).
 */
const recentNames = new Map<Value, { items: Value[]; name: string }>()
const MAX_RECENT = 20_000

function chunkName(list: Value[], start: number, end: number): { name: string; chunk: Value[]; encoded?: Uint8Array } {
  // A hit's items are all primitive (below), so the very same items (===) make the same chunk.
  const hit = recentChunk(list, start, end)
  if (hit) return { name: hit.name, chunk: hit.items }
  // Only chunks of strings, integers, booleans and null are remembered: values that cannot change under the same identity.
  let plain = true
  for (let i = start; i < end; i++) {
    const x = list[i]
    if (x !== null && typeof x === 'object') { plain = false; break }
  }
  const first = list[start]!
  const chunk = list.slice(start, end)
  // Encoded once: its name is the hash of its encoding, and the same bytes are its entry.
  const { bytes, digest } = valueEntryWithDigest(chunk)
  const name = `${CHUNKS_GROUP}/${toB64Url(digest)}`
  if (plain) {
    if (recentNames.size >= MAX_RECENT) recentNames.clear()
    recentNames.set(first, { items: chunk, name })
  }
  return { name, chunk, encoded: bytes }
}

/** The chunk of these items when it was named lately (the very same items), without encoding or hashing it. */
function recentChunk(list: Value[], start: number, end: number): { items: Value[]; name: string } | undefined {
  const hit = recentNames.get(list[start]!)
  if (hit === undefined || hit.items.length !== end - start) return undefined
  for (let i = 0; i < hit.items.length; i++) if (hit.items[i] !== list[start + i]) return undefined
  return hit
}

/**
 * The entries that store `value` at `path`: its chunks not in `known` nor in
 * `pending` (chunks already among the entries of the same batch, which it
 * adds to), then the entry itself — `chunked` when a list was cut. The caller
 * adds the chunks to `known` once they are written (`remember`).
 */
export function entriesFor(path: string, value: Stored, known?: ReadonlySet<string>, pending = new Set<string>()): EntryWrite[] {
  if (typeof value === 'string' || value instanceof Uint8Array) return [{ path, entry: { kind: 'value', value } }]
  const chunks: EntryWrite[] = []
  const seen = new Set<string>()
  // A Link named like a marker where a read would join one: the value is stored as it is.
  let marked = false
  let heads = false
  const cut = (v: Value, depth: number): Value => {
    if (v instanceof Link) { if (v.id.startsWith(MARK_PREFIX)) marked = true; return v }
    if (depth > MAX_DEPTH) return v
    if (Array.isArray(v)) {
      if (v.length < CHUNK_MIN) {
        // A short list a read would take for a head-marked one.
        if (v[0] instanceof Link && v[0].id.startsWith(MARK_PREFIX)) marked = true
        return v
      }
      const names: string[] = []
      let head: Value[] | undefined
      let start = 0
      for (let i = 0; i < v.length; i++) {
        if (i + 1 < v.length && i + 1 - start < MAX_CHUNK && !endsChunk(v[i]!)) continue
        const end = i + 1
        // The first chunk of a list of several, when it is new (a history that grows at its start
        // changes only that one every slot), stays in the entry: one row less, nothing hashed.
        const first = start === 0 && end < v.length
        const recent = first ? recentChunk(v, 0, end) : undefined
        if (first && (recent === undefined || !(known?.has(recent.name) || pending.has(recent.name) || seen.has(recent.name)))) {
          head = v.slice(0, end)
          start = end
          continue
        }
        const { name, chunk, encoded } = recent !== undefined ? { name: recent.name, chunk: recent.items, encoded: undefined } : chunkName(v, start, end)
        names.push(name)
        if (!seen.has(name) && !known?.has(name)) chunks.push({ path: name, entry: { kind: 'value', value: chunk }, ...(encoded ? { encoded } : {}) })
        seen.add(name)
        start = end
      }
      if (head === undefined) return new Link(MARK + names.join(' '))
      heads = true
      return [new Link(HEAD_MARK + names.join(' ')), ...head]
    }
    if (isMessage(v)) {
      let out: Message | undefined
      for (const k of Object.keys(v)) {
        const x = v[k]!
        const y = cut(x, depth + 1)
        if (y !== x) { out ??= Object.assign(Object.create(null), v) as Message; out[k] = y }
      }
      return out ?? v
    }
    return v
  }
  const stored = cut(value, 0) as Stored
  if (stored === value || marked) return [{ path, entry: { kind: 'value', value } }]
  const fresh = chunks.filter((c) => !pending.has(c.path))
  for (const c of fresh) pending.add(c.path)
  return [...fresh, { path, entry: { kind: 'chunked', value: stored, ...(heads ? { heads: true as const } : {}) } }]
}

/**
 * A `chunked` entry's value with its lists put back together from their
 * chunks. Head-marked lists (a first chunk kept inline) are read only in
 * entries written with them (`heads`); an older entry's lists are as written.
 */
export async function joinChunks(entry: { value: Stored; heads?: boolean }, readChunk: (path: string) => Promise<Entry | undefined>, where: string): Promise<Stored> {
  const chunksOf = async (spec: string, out: Value[]): Promise<Value[]> => {
    // The chunks are read side by side (a long history is many of them), then joined in order.
    const names = spec === '' ? [] : spec.split(' ')
    const parts = await Promise.all(names.map(readChunk))
    parts.forEach((e, i) => {
      if (e === undefined || e.kind !== 'value' || !Array.isArray(e.value)) throw new StoreCorrupt(`${where}: chunk ${names[i]} is missing`)
      for (const x of e.value) out.push(x)
    })
    return out
  }
  const join = async (v: Value, depth: number): Promise<Value> => {
    if (v instanceof Link && v.id.startsWith(MARK)) return chunksOf(v.id.slice(MARK.length), [])
    if (entry.heads === true && Array.isArray(v) && v[0] instanceof Link && v[0].id.startsWith(HEAD_MARK)) {
      return chunksOf(v[0].id.slice(HEAD_MARK.length), v.slice(1))
    }
    if (depth > MAX_DEPTH) return v
    if (isMessage(v)) {
      let out: Message | undefined
      for (const k of Object.keys(v)) {
        const x = v[k]!
        const y = await join(x, depth + 1)
        if (y !== x) { out ??= Object.assign(Object.create(null), v) as Message; out[k] = y }
      }
      return out ?? v
    }
    return v
  }
  return await join(entry.value as Value, 0) as Stored
}

/** Chunk paths a store has written, remembered so that a growing list's unchanged chunks are not written again. */
export class KnownChunks extends Set<string> {
  override add(name: string): this {
    if (this.size >= 50_000) this.clear()
    return super.add(name)
  }

  /** Remember the chunks among entries that were written. */
  remember(written: readonly EntryWrite[]): void {
    for (const w of written) if (isChunkWrite(w)) this.add(w.path)
  }
}
