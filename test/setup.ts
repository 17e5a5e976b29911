/** vitest setup: Node 20 has no Promise.withResolvers, which libp2p 3 calls at runtime. */
import '../src/p2p/polyfill.ts'
