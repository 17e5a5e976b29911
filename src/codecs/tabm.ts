/**
 * TABM: a Type-Annotated Binary Message. Every value is a binary or a nested
 * TABM; types live in the `ao-types` key (spec §3.3).
 */
import type { Binary } from '../core/value.ts'

export interface Tabm { [key: string]: Binary | Tabm }

export const isTabm = (v: unknown): v is Tabm =>
  typeof v === 'object' && v !== null && !(v instanceof Uint8Array) && !Array.isArray(v)

export function emptyTabm(): Tabm {
  return Object.create(null) as Tabm
}
