/**
 * The browser's snapshot blockstore: blockstore-idb (IndexedDB), the same
 * database the page's Helia can open to serve the blocks to peers. Browser-pure.
 */
import { IDBBlockstore } from 'blockstore-idb'
import { StoreFailed } from '../core/errors.ts'
import { Blocks } from './blocks.ts'

export const DEFAULT_BLOCKS_DB = 'ao-tab-blocks'

export async function openIdbBlocks(name: string = DEFAULT_BLOCKS_DB): Promise<Blocks & { close(): Promise<void> }> {
  const store = new IDBBlockstore(name)
  try {
    await store.open()
  } catch (e) {
    throw new StoreFailed(`cannot open the IndexedDB blockstore ${name}: ${(e as Error).message}`)
  }
  const blocks = new Blocks(store) as Blocks & { close(): Promise<void> }
  blocks.close = () => store.close()
  return blocks
}
