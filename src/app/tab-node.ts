/**
 * The node as the tab runs it, composed once for the app's worker
 * (src/app/worker.ts) and the browser benchmarks: its store in IndexedDB
 * (IdbStore), process snapshots as content-addressed blocks in IndexedDB
 * (blockstore-idb), and execution devices counted (src/app/exec-stats.ts).
 * When IndexedDB cannot be opened the node still starts, in memory, and says
 * why: nothing it computes then survives a reload.
 */
import type { Message } from '../core/value.ts'
import type { Wallet } from '../crypto/wallet.ts'
import { createNode, type AoNode } from '../node/node.ts'
import { preloadedDevices } from '../devices/index.ts'
import { flushResults } from '../devices/process.ts'
import { DEFAULT_IDB_NAME, IdbStore } from '../store/idb.ts'
import { MemoryStore } from '../store/memory.ts'
import type { Store } from '../store/store.ts'
import { DEFAULT_BLOCKS_DB, openIdbBlocks } from '../snapshot/idb-blockstore.ts'
import type { Blocks } from '../snapshot/blocks.ts'
import { countingDevice, emptyStats, type ExecutionStats } from './exec-stats.ts'
import { useWasmHashes } from '../crypto/wasm-hashes.ts'

/** The execution devices whose calls are counted. */
const COUNTED = ['lua@5.3a']

export interface TabNodeOptions {
  wallet: Wallet
  /** IndexedDB database of the store (default `ao-tab-store`). */
  storeDb?: string
  /** IndexedDB database of the snapshot blocks (default `ao-tab-blocks`). */
  blocksDb?: string
  /** Extra node-message keys. */
  config?: Message
}

export interface TabNode {
  node: AoNode
  /** `idb:<db>`, or `memory` when IndexedDB could not be opened. */
  store: string
  storeError?: string
  /** `idb:<db>` when snapshots are blocks; absent when the blockstore could not be opened (snapshots then stay inline). */
  blocks?: string
  blocksError?: string
  stats: ExecutionStats
  /** The hash backend the core uses: `hash-wasm`, or `noble` where WebAssembly cannot be compiled. */
  hashes: string
  /** Resolves once every computed result the node queued is written to its store (a clean shutdown; reading the store itself). */
  flush(): Promise<void>
}

/** Resolves once the results process@1.0 queued for `store` are written (it writes behind the computation). */
export const flushStore = (store: Store): Promise<void> => flushResults(store)

const describe = (e: unknown): string => (e instanceof Error ? `${e.name}: ${e.message}` : String(e))

export async function startTabNode(opts: TabNodeOptions): Promise<TabNode> {
  const hashes = await useWasmHashes()
  const storeDb = opts.storeDb ?? DEFAULT_IDB_NAME
  const blocksDb = opts.blocksDb ?? DEFAULT_BLOCKS_DB
  let store: Store
  let storeError: string | undefined
  try {
    store = await IdbStore.open(storeDb)
  } catch (e) {
    storeError = describe(e)
    store = new MemoryStore()
  }
  let blocks: Blocks | undefined
  let blocksError: string | undefined
  try {
    blocks = await openIdbBlocks(blocksDb)
  } catch (e) {
    blocksError = describe(e)
  }
  const stats = emptyStats()
  const devices = preloadedDevices()
  for (const name of COUNTED) {
    const d = devices.get(name)
    if (d) devices.add(countingDevice(d, stats))
  }
  const node = await createNode({ wallet: opts.wallet, store, blocks, devices, ...(opts.config && { config: opts.config }) })
  return {
    node,
    store: store.name,
    ...(storeError !== undefined && { storeError }),
    ...(blocks && { blocks: `idb:${blocksDb}` }),
    ...(blocksError !== undefined && { blocksError }),
    stats,
    hashes,
    flush: () => flushStore(store),
  }
}
