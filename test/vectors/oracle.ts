/** Loading HyperBEAM's oracle vectors (shared/hyperbeam-data/vectors/oracle-vectors.json). */
import type { Fixtures } from './harness.ts'
import { fromJson } from '../../src/core/typed-json.ts'
import type { Message, Value } from '../../src/core/value.ts'
import { fromB64, utf8 } from '../../src/core/bytes.ts'

export const ORACLE = 'hyperbeam-data/vectors/oracle-vectors.json'

let cache: Promise<any> | undefined
export function oracle(fx: Fixtures): Promise<any> {
  cache ??= fx.json(ORACLE)
  return cache
}

export async function category(fx: Fixtures, name: string): Promise<any[]> {
  return (await oracle(fx)).categories[name].cases
}

export const typed = (j: unknown): Message => fromJson(j) as Message
export const typedValue = (j: unknown): Value => fromJson(j) as Value

/** A vector string, or {"@b64": …}, as bytes. */
export function vectorBytes(j: unknown): Uint8Array {
  if (typeof j === 'string') return utf8(j)
  if (j && typeof j === 'object' && '@b64' in (j as object)) return fromB64((j as { '@b64': string })['@b64'])
  throw new Error('not a vector binary')
}

/** A plain string from a vector field (LosslessNumber-safe). */
export const str = (j: unknown): string => String(j)
