/** hb_path:term_to_path_parts for the values a `path` key can hold. */
import type { Value } from './value.ts'
import { normalizeKey } from './keys.ts'
import { utf8Lenient } from './bytes.ts'

export function pathPartsOf(path: Value): string[] | undefined {
  if (typeof path === 'string' || path instanceof Uint8Array) {
    const s = typeof path === 'string' ? path : utf8Lenient(path)
    if (s === '') return undefined
    if (!s.includes('/')) return [s]
    return s.split('/').filter((p) => p !== '')
  }
  if (typeof path === 'bigint') return [path.toString()]
  if (Array.isArray(path)) {
    const out: string[] = []
    for (const p of path) {
      const sub = pathPartsOf(p)
      if (sub) out.push(...sub)
    }
    return out
  }
  if (path === true || path === false || path === null) return [String(path)]
  return [normalizeKey(String(path))]
}
