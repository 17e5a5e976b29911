/**
 * An in-memory Store (tests, and the default of a node without persistence).
 * Bounded: past `maxEntries` the oldest entries are evicted, so a long-running
 * node caching every result does not grow without limit.
 */
import type { Store, Stored } from './store.ts'
import { InvalidPath } from '../core/errors.ts'

const MAX_LINK_HOPS = 32

export interface MemoryStoreOptions { maxEntries?: number }

export class MemoryStore implements Store {
  readonly name = 'memory'
  private readonly data = new Map<string, Stored>()
  private readonly links = new Map<string, string>()
  private readonly maxEntries: number

  constructor(opts: MemoryStoreOptions = {}) {
    this.maxEntries = opts.maxEntries ?? 100_000
  }

  private evict(): void {
    while (this.data.size + this.links.size > this.maxEntries) {
      const oldest = this.data.keys().next()
      if (!oldest.done) { this.data.delete(oldest.value); continue }
      const link = this.links.keys().next()
      if (link.done) return
      this.links.delete(link.value)
    }
  }

  private resolvePath(path: string): string {
    let p = normalize(path)
    for (let i = 0; i < MAX_LINK_HOPS; i++) {
      const next = this.links.get(p)
      if (next === undefined) return p
      p = next
    }
    throw new InvalidPath(`link chain too long at ${path}`)
  }

  async read(path: string): Promise<Stored | undefined> {
    return this.data.get(this.resolvePath(path))
  }

  async write(path: string, value: Stored): Promise<void> {
    const p = normalize(path)
    this.links.delete(p)
    this.data.delete(p)
    this.data.set(p, value)
    this.evict()
  }

  async link(path: string, target: string): Promise<void> {
    const p = normalize(path)
    this.data.delete(p)
    this.links.delete(p)
    this.links.set(p, normalize(target))
    this.evict()
  }

  async list(prefix: string): Promise<string[]> {
    const pre = normalize(prefix) + '/'
    const out = new Set<string>()
    for (const k of [...this.data.keys(), ...this.links.keys()]) {
      if (k.startsWith(pre)) out.add(k.slice(pre.length).split('/')[0]!)
    }
    return [...out].sort()
  }
}

const normalize = (p: string): string => p.split('/').filter((s) => s !== '').join('/')
