/**
 * flat@1.0 (spec §3.8): a TABM as a one-level map of `a/b/c` paths to
 * binaries, and back; `serialize` writes `key: value` lines.
 */
import { emptyTabm, isTabm, type Tabm } from './tabm.ts'
import type { Binary } from '../core/value.ts'
import { sortKeys } from '../core/keys.ts'
import { FlatCollision, InvalidPath, BadInput } from '../core/errors.ts'
import { fromUtf8, concatBytes, utf8 } from '../core/bytes.ts'

export type Flat = Record<string, Binary>

export function tabmToFlat(t: Tabm): Flat {
  const out = Object.create(null) as Flat
  const walk = (m: Tabm, prefix: string): void => {
    for (const k of Object.keys(m)) {
      const v = m[k]!
      const path = prefix === '' ? k : `${prefix}/${k}`
      if (isTabm(v)) walk(v, path)
      else out[path] = v
    }
  }
  walk(t, '')
  return out
}

export function flatToTabm(flat: Record<string, Binary | Tabm>): Tabm {
  const out = emptyTabm()
  for (const path of Object.keys(flat)) {
    const parts = path.split('/').filter((p) => p !== '')
    if (parts.length === 0) throw new InvalidPath(`empty flat path ${JSON.stringify(path)}`)
    inject(out, parts, flat[path]!, path)
  }
  return out
}

function inject(m: Tabm, parts: string[], value: Binary | Tabm, path: string): void {
  let cur = m
  for (let i = 0; i < parts.length - 1; i++) {
    const k = parts[i]!
    const next = cur[k]
    if (next === undefined) { const n = emptyTabm(); cur[k] = n; cur = n }
    else if (isTabm(next)) cur = next
    else throw new FlatCollision(`flat path ${JSON.stringify(path)} collides with a value at ${JSON.stringify(k)}`)
  }
  const last = parts[parts.length - 1]!
  const existing = cur[last]
  if (existing === undefined) cur[last] = value
  else if (isTabm(existing) && isTabm(value)) Object.assign(existing, value)
  else throw new FlatCollision(`flat path ${JSON.stringify(path)} is given twice`)
}

/** `key: value\n` lines in sorted key order (the format of config.flat). */
export function serializeFlat(flat: Flat): Uint8Array {
  const chunks: Uint8Array[] = []
  for (const k of sortKeys(Object.keys(flat))) {
    const v = flat[k]!
    chunks.push(utf8(`${k}: `), typeof v === 'string' ? utf8(v) : v, utf8('\n'))
  }
  return concatBytes(...chunks)
}

/** Parse `key: value` lines back into a flat map. */
export function deserializeFlat(bytes: Uint8Array | string): Flat {
  const text = typeof bytes === 'string' ? bytes : fromUtf8(bytes)
  const out = Object.create(null) as Flat
  for (const line of text.split('\n')) {
    if (line === '') continue
    const i = line.indexOf(': ')
    if (i <= 0) throw new BadInput(`flat line has no "key: value" form: ${JSON.stringify(line.slice(0, 64))}`)
    const k = line.slice(0, i)
    if (k in out) throw new FlatCollision(`flat key ${JSON.stringify(k)} is given twice`)
    out[k] = line.slice(i + 2)
  }
  return out
}
