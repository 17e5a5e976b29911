/**
 * Snapshot blocks through a host's Helia: what the node's blockstore lacks is
 * fetched from connected peers by bitswap (giving up after `timeoutMs` with
 * BlockFetchTimeout), and Blocks verifies every block against its CID. Shared
 * by the Node host and the page's host.
 */
import type { Helia } from 'helia'
import type { Blockstore } from 'interface-blockstore'
import { Blocks } from '../snapshot/blocks.ts'
import { BlockFetchTimeout } from './errors.ts'

export function networkedBlocks(helia: Pick<Helia, 'blockstore'>, timeoutMs: number): Blocks {
  return new Blocks({
    put: (cid: Parameters<Blockstore['put']>[0], bytes: Uint8Array) => helia.blockstore.put(cid, bytes),
    has: (cid: Parameters<Blockstore['has']>[0]) => helia.blockstore.has(cid),
    async get(cid: Parameters<Blockstore['get']>[0]): Promise<Uint8Array> {
      const parts: Uint8Array[] = []
      try {
        for await (const p of helia.blockstore.get(cid, { signal: AbortSignal.timeout(timeoutMs) })) parts.push(p)
      } catch (e) {
        const n = (e as Error)?.name
        if (n === 'AbortError' || n === 'TimeoutError') throw new BlockFetchTimeout(`block ${cid} was not found on any connected peer within ${timeoutMs} ms`)
        throw e
      }
      const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
      let at = 0
      for (const p of parts) { out.set(p, at); at += p.length }
      return out
    },
  })
}
