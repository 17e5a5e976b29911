/**
 * A filesystem Store (Node only; HyperBEAM's hb_store_fs in spirit): each
 * path is one file under the root, one directory level per path segment.
 *
 *   <root>/<seg>/…/<seg>.e   the entry at a path: a value or a link
 *   <root>/<seg>/…/<seg>/    the group below a path
 *
 * An entry is one file (src/store/encoding.ts): header, exact value encoding
 * (or link target), checksum. A value and a link at the same path can never
 * both exist, and a write replaces whichever was there in one rename.
 *
 * Crash safety: a write goes to a fresh temporary file in the same directory,
 * then is renamed over the entry (with options.durable, the default, the
 * file is fsynced before the rename and the directory after it). A crash leaves the old entry
 * or the new one; a torn or altered file (an OS crash with `durable: false`, a
 * disk that lied, a copy cut short) fails its checksum and reads as
 * StoreCorrupt, never as a value. Leftover temporary files are invisible to
 * read and list (`sweep` removes them).
 *
 * Segments are escaped so that every path maps to one file name: bytes
 * outside [A-Za-z0-9_-@~+=] are %XX, so no segment can be `.`/`..`, hold a
 * separator, or end in `.e`/`.tmp`. IDs are base64url, where case matters: a
 * case-insensitive filesystem (macOS's default) would merge two IDs, so the
 * first write checks the root and refuses one (StoreFailed) rather than mixing
 * entries up.
 *
 * Errors: ENOSPC/EDQUOT are StoreQuotaExceeded, other I/O failures StoreFailed.
 */
import { access, mkdir, open, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { randomBytes } from 'node:crypto'
import type { Store, Stored } from './store.ts'
import { InvalidPath, StoreFailed } from '../core/errors.ts'
import { StoreQuotaExceeded, decodeEntry, encodeEntry, type Entry, type StoreOp } from './encoding.ts'
import { KnownChunks, entriesFor, entryBytesOf, isChunkWrite, joinChunks, type EntryWrite } from './chunks.ts'

const MAX_LINK_HOPS = 32
const SAFE = /^[A-Za-z0-9_\-@~+=]$/
const ENTRY = '.e'
const TMP = '.tmp'
const MAX_KNOWN_DIRS = 10_000

export function encodeSegment(s: string): string {
  let out = ''
  for (const ch of s) {
    if (SAFE.test(ch)) { out += ch; continue }
    for (const b of new TextEncoder().encode(ch)) out += '%' + b.toString(16).toUpperCase().padStart(2, '0')
  }
  return out
}

export const decodeSegment = (s: string): string => decodeURIComponent(s)

const segments = (path: string): string[] => path.split('/').filter((s) => s !== '')

/** The typed error for a failed filesystem call. */
export function fsError(e: unknown, what: string): StoreFailed {
  if (e instanceof StoreFailed) return e
  const code = (e as NodeJS.ErrnoException | null)?.code
  const detail = code ?? (e as Error | null)?.message ?? String(e)
  if (code === 'ENOSPC' || code === 'EDQUOT') return new StoreQuotaExceeded(`${what}: out of space (${code})`)
  return new StoreFailed(`${what}: ${detail}`)
}

export interface FsStoreOptions {
  /**
   * fsync each entry and its directory before a write resolves, so that a
   * resolved write survives power loss and OS crashes (default true). On the
   * development VM both modes wrote 1,000–4,000 small entries/s (noisy); on a
   * disk whose flush is slow, `false` trades that guarantee for speed: a
   * write still survives the death of the process (the rename is atomic and
   * the data is in the OS's cache), and what an OS crash tears is detected by
   * the checksum (StoreCorrupt).
   */
  durable?: boolean
}

export class FsStore implements Store {
  readonly name: string
  private readonly durable: boolean
  private rootChecked: Promise<void> | undefined
  /** Directories known to exist (skips a mkdir per write). */
  private readonly dirs = new Set<string>()
  private readonly chunks = new KnownChunks()

  constructor(readonly root: string, opts: FsStoreOptions = {}) {
    this.name = `fs:${root}`
    this.durable = opts.durable ?? true
  }

  private file(path: string): string {
    const segs = segments(path)
    if (segs.length === 0) throw new InvalidPath('a store path needs at least one segment')
    const enc = segs.map(encodeSegment)
    enc[enc.length - 1] += ENTRY
    return join(this.root, ...enc)
  }

  private dir(path: string): string {
    return join(this.root, ...segments(path).map(encodeSegment))
  }

  private async readEntry(path: string): Promise<Entry | undefined> {
    const file = this.file(path)
    let bytes: Uint8Array
    try {
      bytes = await readFile(file)
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined
      throw fsError(e, `cannot read ${path}`)
    }
    return decodeEntry(bytes, `${this.name} ${segments(path).join('/')}`)
  }

  /** Create the root and refuse a case-insensitive filesystem (once per instance). */
  private checkRoot(): Promise<void> {
    this.rootChecked ??= (async () => {
      const probe = join(this.root, `.ao-case-probe-${randomBytes(4).toString('hex')}-X`)
      try {
        await mkdir(this.root, { recursive: true })
        await writeFile(probe, '')
        const folded = await access(probe.slice(0, -1) + 'x').then(() => true, () => false)
        if (folded) throw new StoreFailed(`${this.root} is on a case-insensitive filesystem, where IDs that differ in case would share a file`)
      } catch (e) {
        this.rootChecked = undefined
        throw fsError(e, `cannot use ${this.root}`)
      } finally {
        await rm(probe, { force: true }).catch(() => {})
      }
    })()
    return this.rootChecked
  }

  private writeEntry(path: string, entry: Entry): Promise<void> {
    return this.writeBytes(path, encodeEntry(entry))
  }

  private async writeBytes(path: string, bytes: Uint8Array): Promise<void> {
    await this.checkRoot()
    const file = this.file(path)
    const dir = dirname(file)
    for (let attempt = 0; ; attempt++) {
      const tmp = `${file}.${randomBytes(6).toString('hex')}${TMP}`
      try {
        if (!this.dirs.has(dir)) {
          await mkdir(dir, { recursive: true })
          if (this.dirs.size >= MAX_KNOWN_DIRS) this.dirs.clear()
          this.dirs.add(dir)
        }
        await this.writeTemp(tmp, bytes)
        await rename(tmp, file)
        break
      } catch (e) {
        await rm(tmp, { force: true }).catch(() => {})
        // A directory removed behind our back: forget it and try once more, recreating it.
        const known = this.dirs.delete(dir)
        if (known && attempt === 0 && (e as NodeJS.ErrnoException).code === 'ENOENT') continue
        throw fsError(e, `cannot write ${path}`)
      }
    }
    if (this.durable) await syncDir(dir)
  }

  private async writeTemp(tmp: string, bytes: Uint8Array): Promise<void> {
    if (!this.durable) return writeFile(tmp, bytes, { flag: 'wx' })
    const fh = await open(tmp, 'wx')
    try {
      await fh.writeFile(bytes)
      await fh.sync()
    } finally {
      await fh.close()
    }
  }

  async read(path: string): Promise<Stored | undefined> {
    let p = segments(path).join('/')
    for (let i = 0; i < MAX_LINK_HOPS; i++) {
      const e = await this.readEntry(p)
      if (e === undefined) return undefined
      if (e.kind === 'value') return e.value
      if (e.kind === 'chunked') return joinChunks(e, (c) => this.readEntry(c), `${this.name} ${p}`)
      p = segments(e.target).join('/')
    }
    throw new InvalidPath(`link chain too long at ${path}`)
  }

  async write(path: string, value: Stored): Promise<void> {
    this.file(path)
    await this.writeAll(entriesFor(path, value, this.chunks))
  }

  /** Chunks first (in parallel), then the entries that name them, in order. */
  private async writeAll(writes: readonly EntryWrite[]): Promise<void> {
    const encoded = writes.map((w) => ({ path: w.path, chunk: isChunkWrite(w), bytes: entryBytesOf(w) }))
    await Promise.all(encoded.filter((w) => w.chunk).map((w) => this.writeBytes(w.path, w.bytes)))
    this.chunks.remember(writes)
    for (const w of encoded) if (!w.chunk) await this.writeBytes(w.path, w.bytes)
  }

  async link(path: string, target: string): Promise<void> {
    const t = segments(target).join('/')
    if (t === '') throw new InvalidPath('a link needs a target path')
    await this.writeEntry(path, { kind: 'link', target: t })
  }

  /**
   * Several writes and links, applied in order. Each is atomic on its own; a
   * crash part-way leaves a prefix of them applied (a filesystem has no
   * transaction across files): write values before the links that name them.
   */
  async batch(ops: readonly StoreOp[]): Promise<void> {
    // Everything is checked and encoded first: a bad op fails the batch before any file changes.
    const pending = new Set<string>()
    const writes = ops.flatMap((o): EntryWrite[] => {
      this.file(o.path)
      if (o.op === 'write') return entriesFor(o.path, o.value, this.chunks, pending)
      const t = segments(o.target).join('/')
      if (t === '') throw new InvalidPath('a link needs a target path')
      return [{ path: o.path, entry: { kind: 'link', target: t } }]
    })
    await this.writeAll(writes)
  }

  async list(prefix: string): Promise<string[]> {
    let names: string[]
    try {
      names = await readdir(this.dir(prefix))
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      if (code === 'ENOENT' || code === 'ENOTDIR') return []
      throw fsError(e, `cannot list ${prefix}`)
    }
    const out = new Set<string>()
    for (const n of names) {
      if (n.endsWith(TMP)) continue
      out.add(decodeSegment(n.endsWith(ENTRY) ? n.slice(0, -ENTRY.length) : n))
    }
    return [...out].sort()
  }

  /** Remove temporary files that a crash left behind (they are never read; this only frees space). */
  async sweep(): Promise<number> {
    let removed = 0
    const walk = async (dir: string): Promise<void> => {
      let items
      try {
        items = await readdir(dir, { withFileTypes: true })
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return
        throw fsError(e, `cannot sweep ${dir}`)
      }
      for (const it of items) {
        const p = join(dir, it.name)
        if (it.isDirectory()) await walk(p)
        else if (it.name.endsWith(TMP)) { await rm(p, { force: true }); removed++ }
      }
    }
    await walk(this.root)
    return removed
  }
}

/** fsync a directory so a rename in it is durable (not possible on every platform: best effort there). */
async function syncDir(dir: string): Promise<void> {
  let fh
  try {
    fh = await open(dir, 'r')
    await fh.sync()
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'EISDIR' || code === 'EPERM' || code === 'EINVAL' || code === 'EBADF') return
    throw fsError(e, `cannot sync ${dir}`)
  } finally {
    await fh?.close()
  }
}
