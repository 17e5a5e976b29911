/**
 * A filesystem Store (Node only; HyperBEAM's hb_store_fs in spirit): each
 * path is a file under the root, one directory level per path segment.
 *
 *   <root>/<seg>/…/<seg>.v   a value, as typed JSON (exact types kept)
 *   <root>/<seg>/…/<seg>.l   a link: the target path, as text
 *   <root>/<seg>/…/<seg>/    the group below a path
 *
 * Segments are percent-encoded (anything but [A-Za-z0-9_-@~+=]), so no
 * segment can be `.`/`..`, hold a separator, or end in `.v`/`.l`. Writes go
 * to a temporary file that is renamed into place: a crash leaves the old
 * value or the new one, never half of one.
 */
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import type { Store, Stored } from './store.ts'
import { parseTypedJson, stringifyTyped } from '../core/typed-json.ts'
import type { Value } from '../core/value.ts'
import { InvalidPath, StoreFailed } from '../core/errors.ts'

const MAX_LINK_HOPS = 32

const SAFE = /^[A-Za-z0-9_\-@~+=]$/

function encodeSegment(s: string): string {
  let out = ''
  for (const ch of s) {
    if (SAFE.test(ch)) { out += ch; continue }
    for (const b of new TextEncoder().encode(ch)) out += '%' + b.toString(16).toUpperCase().padStart(2, '0')
  }
  return out
}

const decodeSegment = (s: string): string => decodeURIComponent(s)

const segments = (path: string): string[] => path.split('/').filter((s) => s !== '')

export class FsStore implements Store {
  readonly name: string
  constructor(readonly root: string) {
    this.name = `fs:${root}`
  }

  private file(path: string, kind: 'v' | 'l'): string {
    const segs = segments(path)
    if (segs.length === 0) throw new InvalidPath('a store path needs at least one segment')
    const enc = segs.map(encodeSegment)
    enc[enc.length - 1] += '.' + kind
    return join(this.root, ...enc)
  }

  private dir(path: string): string {
    return join(this.root, ...segments(path).map(encodeSegment))
  }

  private async readText(file: string): Promise<string | undefined> {
    try {
      return await readFile(file, 'utf8')
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined
      throw new StoreFailed(`cannot read ${file}: ${code ?? (e as Error).message}`)
    }
  }

  private async atomicWrite(file: string, data: string): Promise<void> {
    const dir = file.slice(0, file.lastIndexOf('/'))
    const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`
    try {
      await mkdir(dir, { recursive: true })
      await writeFile(tmp, data)
      await rename(tmp, file)
    } catch (e) {
      await rm(tmp, { force: true }).catch(() => {})
      const code = (e as NodeJS.ErrnoException).code
      throw new StoreFailed(`cannot write ${file}: ${code ?? (e as Error).message}`)
    }
  }

  /** Follow links from `path` to the path that holds a value. */
  private async resolvePath(path: string): Promise<string> {
    let p = segments(path).join('/')
    for (let i = 0; i < MAX_LINK_HOPS; i++) {
      const target = await this.readText(this.file(p, 'l'))
      if (target === undefined) return p
      p = segments(target).join('/')
    }
    throw new InvalidPath(`link chain too long at ${path}`)
  }

  async read(path: string): Promise<Stored | undefined> {
    const p = await this.resolvePath(path)
    const data = await this.readText(this.file(p, 'v'))
    if (data === undefined) return undefined
    const v = parseTypedJson(data)
    return v as Stored
  }

  async write(path: string, value: Stored): Promise<void> {
    await this.atomicWrite(this.file(path, 'v'), stringifyTyped(value as Value))
    await rm(this.file(path, 'l'), { force: true })
  }

  async link(path: string, target: string): Promise<void> {
    await this.atomicWrite(this.file(path, 'l'), segments(target).join('/'))
    await rm(this.file(path, 'v'), { force: true })
  }

  async list(prefix: string): Promise<string[]> {
    let names: string[]
    try {
      names = await readdir(this.dir(prefix))
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      if (code === 'ENOENT' || code === 'ENOTDIR') return []
      throw new StoreFailed(`cannot list ${prefix}: ${code ?? (e as Error).message}`)
    }
    const out = new Set<string>()
    for (const n of names) {
      if (n.endsWith('.tmp')) continue
      const base = n.endsWith('.v') || n.endsWith('.l') ? n.slice(0, -2) : n
      out.add(decodeSegment(base))
    }
    return [...out].sort()
  }
}
