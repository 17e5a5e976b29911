/**
 * node:crypto's hashes as a HashBackend (OpenSSL; SHA extensions where the
 * CPU has them). Only Node entry points import this file; the core stays on
 * src/crypto/hash.ts, which falls back to @noble anywhere else.
 */
import { createHash, createHmac } from 'node:crypto'
import { useHashBackend, type HashBackend } from './hash.ts'

const copy = (b: Uint8Array): Uint8Array => new Uint8Array(b)

export const nodeHashes: HashBackend = {
  name: 'node:crypto',
  sha256: (b) => copy(createHash('sha256').update(b).digest()),
  sha384: (b) => copy(createHash('sha384').update(b).digest()),
  sha512: (b) => copy(createHash('sha512').update(b).digest()),
  hmacSha256: (key, b) => copy(createHmac('sha256', key).update(b).digest()),
  hmacAo: (b) => copy(createHmac('sha256', 'ao').update(b).digest()),
}

/** Make the core hash with node:crypto from now on. */
export function useNodeHashes(): void {
  useHashBackend(nodeHashes)
}
