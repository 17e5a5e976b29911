/**
 * The node options this node reads as integers, checked where the node
 * message is set (createNode, a meta@1.0 `info` update): a value that is not
 * one is refused with InvalidNodeOption (400) instead of being replaced by the
 * default, unnoticed, where it is read.
 */
import { BadInput } from '../core/errors.ts'
import type { Message } from '../core/value.ts'
import { directGet } from '../core/resolver.ts'
import { toInt } from '../core/value.ts'

/** A node option that is not what this node reads it as. */
export class InvalidNodeOption extends BadInput {}

/** Integer options and their smallest value. */
const INTEGER_OPTIONS: Record<string, bigint> = {
  // 0: never snapshot.
  process_cache_frequency: 0n,
  scheduler_signatures: 1n,
  lua_max_instructions: 1n,
  lua_max_memory: 1n,
}

/** Throws InvalidNodeOption for the first known option in `m` whose value does not fit. */
export function checkNodeOptions(m: Message): void {
  for (const [key, min] of Object.entries(INTEGER_OPTIONS)) {
    const v = directGet(m, key)
    if (v === undefined) continue
    const n = toInt(v)
    if (n === undefined || n < min) {
      const shown = typeof v === 'string' ? JSON.stringify(v) : typeof v === 'bigint' ? String(v) : 'a non-integer value'
      throw new InvalidNodeOption(`node option ${key} must be an integer of at least ${min}, not ${shown}`)
    }
  }
}
