/**
 * vitest setup: Node 20 has no Promise.withResolvers, which libp2p 3 calls at
 * runtime; and the core hashes with node:crypto, as `ao` does in Node (the
 * browser suites run the @noble backend; test/unit/hash-backends.test.ts
 * checks both agree).
 */
import '../src/p2p/polyfill.ts'
import { useNodeHashes } from '../src/crypto/node-hashes.ts'
useNodeHashes()
