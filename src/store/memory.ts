/** An in-memory Store (tests, and the default of a node without persistence). */
import type { Store, Stored } from './store.ts'
import { InvalidPath } from '../core/errors.ts'

const MAX_LINK_HOPS = 32

export class MemoryStore implements Store {
  readonly name = 'memory'
  private readonly data = new Map<string, Stored>()
  private readonly links = new Map<string, string>()

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
    this.data.set(p, value)
  }

  async link(path: string, target: string): Promise<void> {
    const p = normalize(path)
    this.data.delete(p)
    this.links.set(p, normalize(target))
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
