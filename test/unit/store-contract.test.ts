/** The Store contract against every back end: memory, filesystem (temp dir), IndexedDB (fake-indexeddb). */
import 'fake-indexeddb/auto'
import { afterAll } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MemoryStore } from '../../src/store/memory.ts'
import { FsStore } from '../../src/store/fs.ts'
import { IdbStore } from '../../src/store/idb.ts'
import { batchContract, storeContract } from './store-contract.ts'

const dirs: string[] = []
afterAll(async () => { for (const d of dirs) await rm(d, { recursive: true, force: true }) })
let dbs = 0

storeContract({ name: 'memory', make: async () => new MemoryStore() })

storeContract({
  name: 'fs',
  async make() {
    const d = await mkdtemp(join(tmpdir(), 'ao-store-fs-'))
    dirs.push(d)
    return new FsStore(d)
  },
  reopen: async (s) => new FsStore((s as FsStore).root),
})

storeContract({
  name: 'idb',
  make: () => IdbStore.open(`contract-${dbs++}`),
  async reopen(s) {
    const name = (s as IdbStore).dbName
    ;(s as IdbStore).close()
    return IdbStore.open(name)
  },
})

batchContract('fs', async () => {
  const d = await mkdtemp(join(tmpdir(), 'ao-store-fs-'))
  dirs.push(d)
  return new FsStore(d)
})
batchContract('idb', () => IdbStore.open(`batch-${dbs++}`))
