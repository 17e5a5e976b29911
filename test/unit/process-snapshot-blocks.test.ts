/**
 * process@1.0 snapshots as content-addressed blocks: a node with a blockstore
 * (createNode({ blocks })) writes each slot's snapshot with putSnapshot and the
 * stored result keeps only the snapshot message (its CID); a restore reads the
 * blocks back with getSnapshot. Two nodes computing the same process from the
 * same assignments agree on result IDs, hashpaths and snapshot CIDs; a third
 * node restores from a CID whose blocks were copied from the first node.
 */
import { describe, it, expect, afterAll } from 'vitest'
import { readFileSync, mkdtempSync, rmSync, cpSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createNode, type AoNode } from '../../src/node/node.ts'
import { FsStore } from '../../src/store/fs.ts'
import { openFsBlocks } from '../../src/snapshot/fs-blockstore.ts'
import { isSnapshotMessage, getSnapshot } from '../../src/snapshot/snapshot.ts'
import { isMessage, message, type Message, type Value } from '../../src/core/value.ts'
import { commitMessage } from '../../src/codecs/commitments.ts'
import { messageId } from '../../src/core/id.ts'
import { flushResults } from '../../src/devices/process.ts'
import { wallets, show } from './devices/helpers.ts'

const SHARED = process.env['AO_SHARED'] ?? join(import.meta.dirname, '../../../shared')
const AOS_LUA = readFileSync(join(SHARED, 'hyperbeam-data/test/hyper-aos.lua'), 'utf8')

const dirs: string[] = []
const tmp = (name: string) => { const d = mkdtempSync(join(tmpdir(), `ao-tab-snapblocks-${name}-`)); dirs.push(d); return d }
const closers: Array<() => Promise<void>> = []
afterAll(async () => {
  for (const c of closers) await c()
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

async function nodeAt(dir: string, wallet: Awaited<ReturnType<typeof wallets>>[0]): Promise<AoNode> {
  const blocks = await openFsBlocks(join(dir, 'blockstore'))
  closers.push(() => blocks.close())
  // A snapshot every slot (the default is every 100).
  return createNode({ wallet, store: new FsStore(join(dir, 'store')), blocks, config: message({ process_cache_frequency: 1n }) })
}

const hashpath = (m: Message) => (m['priv'] as Message | undefined)?.['hashpath'] as Value | undefined

describe('process@1.0 snapshots as content-addressed blocks', () => {
  it('two nodes give identical result IDs, hashpaths and snapshot CIDs; a third restores from the first one\'s blocks', async () => {
    const [w1] = await wallets()
    const dirA = tmp('a'), dirB = tmp('b'), dirC = tmp('c')
    const A = await nodeAt(dirA, w1)
    const proc = await commitMessage(message({
      device: 'process@1.0', type: 'Process', 'scheduler-device': 'scheduler@1.0', 'execution-device': 'lua@5.3a',
      scheduler: w1.address, authority: [w1.address], module: message({ 'content-type': 'application/lua', body: AOS_LUA }),
    }), { wallet: w1 })
    const pid = messageId(proc, 'signed')
    const spawned = await A.resolve(message({ device: 'scheduler@1.0' }), message({ path: 'schedule', method: 'POST', body: proc }))
    expect(spawned.status, show(spawned.value)).toBe('ok')
    const evals = ['Count = 41', 'T = {} for i = 1, 20 do T["k" .. i] = math.random(1000) end', 'Count = Count + 1', 'return Count']
    for (const data of evals) {
      const m = await commitMessage(message({ type: 'Message', target: pid, action: 'Eval', data }), { wallet: w1 })
      const o = await A.resolve(proc, message({ path: 'schedule', method: 'POST', body: m }))
      expect(o.status, show(o.value)).toBe('ok')
    }
    // A computes up to slot 3 (slot 4 stays scheduled, not computed).
    const a3 = await A.resolvePath(`/${pid}~process@1.0/compute&slot+integer=3`)
    expect(a3.status, show(a3.value)).toBe('ok')
    await flushResults(A.store)

    // Every stored slot refers to its snapshot by CID, and the blocks hold it.
    const blocksA = A.context().capabilities.blocks!
    const cidsA: string[] = []
    for (let n = 0; n <= 3; n++) {
      const stored = await A.store.read(`computed/${pid}/slot/${n}`) as Message
      const snap = stored['snapshot']
      expect(isSnapshotMessage(snap), `slot ${n}: ${show(snap)}`).toBe(true)
      const s = snap as Message
      expect(s['process']).toBe(pid)
      expect(s['slot']).toBe(BigInt(n))
      cidsA.push(s['snapshot-cid'] as string)
      const state = await getSnapshot(blocksA, s)
      expect(isMessage(state) && state['body'] instanceof Uint8Array).toBe(true)
    }
    expect(new Set(cidsA).size).toBe(4)
    // Copies of A as it is now (results up to slot 3): with its blocks for C, without for D.
    const dirD = tmp('d')
    cpSync(join(dirA, 'store'), join(dirC, 'store'), { recursive: true })
    cpSync(join(dirA, 'blockstore'), join(dirC, 'blockstore'), { recursive: true })
    cpSync(join(dirA, 'store'), join(dirD, 'store'), { recursive: true })

    // Node B: the same assignments (A's store without results), its own empty blockstore.
    cpSync(join(dirA, 'store'), join(dirB, 'store'), { recursive: true })
    for (const e of readdirSync(join(dirB, 'store'))) if (e.startsWith('computed')) rmSync(join(dirB, 'store', e), { recursive: true, force: true })
    const B = await nodeAt(dirB, w1)
    for (let n = 0n; n <= 4n; n++) {
      const ra = await A.resolvePath(`/${pid}~process@1.0/compute&slot+integer=${n}`)
      const rb = await B.resolvePath(`/${pid}~process@1.0/compute&slot+integer=${n}`)
      expect(ra.status, show(ra.value)).toBe('ok')
      expect(rb.status, show(rb.value)).toBe('ok')
      expect(messageId(rb.value as Message)).toBe(messageId(ra.value as Message))
      await Promise.all([flushResults(A.store), flushResults(B.store)])
      const [sa, sb] = [await A.store.read(`computed/${pid}/slot/${n}`) as Message, await B.store.read(`computed/${pid}/slot/${n}`) as Message]
      expect(typeof hashpath(sa)).toBe('string')
      expect(hashpath(sb)).toBe(hashpath(sa))
      expect((sb['snapshot'] as Message)['snapshot-cid']).toBe((sa['snapshot'] as Message)['snapshot-cid'])
      if (n <= 3n) expect((sa['snapshot'] as Message)['snapshot-cid']).toBe(cidsA[Number(n)])
    }

    // Node C: A's results up to slot 3 and A's blockstore, copied over; nothing live.
    // Slot 4 is computed from slot 3's snapshot, read by CID from the copied blocks.
    const C = await nodeAt(dirC, w1)
    expect(await C.store.read(`computed/${pid}/slot/4`)).toBeUndefined()
    const c4 = await C.resolvePath(`/${pid}~process@1.0/compute&slot+integer=4`)
    expect(c4.status, show(c4.value)).toBe('ok')
    const a4 = await A.resolvePath(`/${pid}~process@1.0/compute&slot+integer=4`)
    expect(messageId(c4.value as Message)).toBe(messageId(a4.value as Message))
    const output = ((c4.value as Message)['results'] as Message)['output'] as Message
    expect(output['data']).toBe('42')
    await Promise.all([flushResults(A.store), flushResults(C.store)])
    const sc4 = await C.store.read(`computed/${pid}/slot/4`) as Message
    const sa4 = await A.store.read(`computed/${pid}/slot/4`) as Message
    expect(hashpath(sc4)).toBe(hashpath(sa4))
    expect((sc4['snapshot'] as Message)['snapshot-cid']).toBe((sa4['snapshot'] as Message)['snapshot-cid'])

    // Without the blocks, the same restore fails (BlockNotFound) instead of replaying silently.
    const D = await nodeAt(dirD, w1)
    await expect(D.resolvePath(`/${pid}~process@1.0/compute&slot+integer=4`)).rejects.toThrow(/is not in the blockstore/)
  }, 120_000)
})
