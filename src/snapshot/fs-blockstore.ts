/**
 * Node's snapshot blockstore: blockstore-fs (one file per block under a
 * directory, written to a temporary file and renamed into place). Node only.
 * Blocks verifies every block against its CID on read, so a damaged file is
 * BlockCorrupt, never a snapshot.
 */
import { FsBlockstore } from 'blockstore-fs'
import { StoreFailed } from '../core/errors.ts'
import { Blocks } from './blocks.ts'

export async function openFsBlocks(dir: string): Promise<Blocks & { close(): Promise<void> }> {
  const store = new FsBlockstore(dir)
  try {
    await store.open()
  } catch (e) {
    throw new StoreFailed(`cannot open the blockstore in ${dir}: ${(e as Error).message}`)
  }
  const blocks = new Blocks(store) as Blocks & { close(): Promise<void> }
  blocks.close = () => store.close()
  return blocks
}
