/**
 * A Store is a path-addressed key/value store with links (HyperBEAM's
 * hb_store model): messages by ID, computed results by hashpath. Paths are
 * `/`-separated strings. Back ends: memory here; IndexedDB and filesystem
 * come with processes.
 */
import type { Message, Value } from '../core/value.ts'
import type { StoreOp } from './encoding.ts'

export type Stored = Message | Value[] | Uint8Array | string

export interface Store {
  readonly name: string
  /** Read a path, following links. */
  read(path: string): Promise<Stored | undefined>
  write(path: string, value: Stored): Promise<void>
  /** Make `path` resolve to whatever `target` resolves to. */
  link(path: string, target: string): Promise<void>
  /** The names directly below a path prefix. */
  list(prefix: string): Promise<string[]>
  /** Several writes and links, applied in order (the persistent stores). */
  batch?(ops: readonly StoreOp[]): Promise<void>
  /** True when `batch` is one atomic commit, cheaper than its ops one by one (IndexedDB). */
  readonly transactional?: boolean
}
