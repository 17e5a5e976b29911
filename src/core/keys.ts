/** Key rules of hb_ao (spec §1.1). */
import { utf8Length, compareUtf8 } from './bytes.ts'

/** HyperBEAM's ID test is purely a byte-length test: 32, 42 or 43 bytes. */
export function isIdShaped(s: string): boolean {
  const n = s.length <= 43 ? utf8Length(s) : 44
  return n === 32 || n === 42 || n === 43
}

/** A human-readable ID: 43 base64url characters (a process ID, a message ID). */
export const isHumanId = (s: string): boolean => /^[A-Za-z0-9_-]{43}$/.test(s)

/** normalize_key: ID-shaped keys unchanged, everything else lower-cased. */
export function normalizeKey(key: string | number | bigint): string {
  if (typeof key !== 'string') return String(key)
  if (isIdShaped(key)) return key
  // Fast path: most keys are already lower-case ASCII.
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i)
    if ((c >= 65 && c <= 90) || c > 127) return key.toLowerCase()
  }
  return key
}

/** Private keys: any normalized key starting with the 4 bytes `priv`. */
export const isPrivateKey = (normalizedKey: string): boolean => normalizedKey.startsWith('priv')

/** Sort keys in Erlang binary order (bytewise over UTF-8). */
export const sortKeys = (keys: string[]): string[] => keys.sort(compareUtf8)
