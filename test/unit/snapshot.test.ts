/** Snapshots: deterministic bytes and CIDs, version check, verified blocks, restore elsewhere. */
import 'fake-indexeddb/auto'
import { describe, it, expect, afterAll } from 'vitest'
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MemoryBlockstore } from 'blockstore-core/memory'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import * as dagCbor from '@ipld/dag-cbor'
import { sha256 } from 'multiformats/hashes/sha2'
import {
  Blocks, CHUNK_SIZE, SNAPSHOT_VERSION, cidOf, isSnapshotMessage, decodeSnapshot, encodeSnapshot, getSnapshot, putSnapshot, snapshotCid,
} from '../../src/snapshot/index.ts'
import { openFsBlocks } from '../../src/snapshot/fs-blockstore.ts'
import { openIdbBlocks } from '../../src/snapshot/idb-blockstore.ts'
import { FsStore } from '../../src/store/fs.ts'
import { Atom, Float, Link, message, type Message, type Value } from '../../src/core/value.ts'
import { expectSame } from './store-contract.ts'

const dirs: string[] = []
afterAll(async () => { for (const d of dirs) await rm(d, { recursive: true, force: true }) })
async function fresh(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'ao-snap-'))
  dirs.push(d)
  return d
}

/** A process state as a device might snapshot it, built in a given key order. */
function state(order: 'forward' | 'reverse'): Value {
  const balances: [string, Value][] = []
  for (let i = 0; i < 50; i++) balances.push([`addr-${i}`, BigInt(i) * 10n ** 18n])
  if (order === 'reverse') balances.reverse()
  const top: [string, Value][] = [
    ['process', 'OAbBb5bvbUYh3BqcHCEBwWZOsVjcC8kbnIoydUcE_fI'], ['slot', 999n], ['balances', message(balances)],
    ['ratio', new Float(0.1)], ['status', new Atom('running')], ['module', new Link('m'.repeat(43))],
    ['heap', Uint8Array.from({ length: 4096 }, (_, i) => (i * 13) & 0xff)], ['log', ['a', 'b', message({ k: null })]],
  ]
  if (order === 'reverse') top.reverse()
  return message(top)
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

describe('snapshot format', () => {
  it('is deterministic: the same state gives the same bytes and the same CID, whatever the key order', async () => {
    const a = encodeSnapshot(state('forward'))
    const b = encodeSnapshot(state('reverse'))
    expect(hex(a)).toBe(hex(b))
    const x = await putSnapshot(new Blocks(new MemoryBlockstore()), state('forward'))
    const y = await putSnapshot(new Blocks(new MemoryBlockstore()), state('reverse'))
    expect(x.cid.toString()).toBe(y.cid.toString())
    // A raw CIDv1 over the bytes, which any multiformats implementation computes the same way.
    const independent = CID.createV1(raw.code, await sha256.digest(a))
    expect(x.cid.toString()).toBe(independent.toString())
    expect(x.cid.toString()).toBe('bafkreiejmahwdd33xrwfp576mj3gw7d5zljlf3hbepkni5du26l3tc46sm')
  })

  it('starts with a version header; another version is refused, typed', () => {
    const bytes = encodeSnapshot(message({ a: 1n }))
    expect(hex(bytes.subarray(0, 8))).toBe('414f534e41500001')
    expect(SNAPSHOT_VERSION).toBe(1)
    const v2 = bytes.slice()
    v2[7] = 2
    expect(() => decodeSnapshot(v2)).toThrow(expect.objectContaining({ name: 'SnapshotVersionUnsupported', status: 501 }))
    expect(() => decodeSnapshot(bytes.subarray(3))).toThrow(expect.objectContaining({ name: 'SnapshotCorrupt' }))
    expect(() => decodeSnapshot(bytes.subarray(0, bytes.length - 1))).toThrow(expect.objectContaining({ name: 'SnapshotCorrupt' }))
    expect(() => decodeSnapshot(new Uint8Array(0))).toThrow(expect.objectContaining({ name: 'SnapshotCorrupt' }))
  })
})

describe('snapshot blocks', () => {
  it('put then get by message, by CID and by CID string restores the exact state', async () => {
    const blocks = new Blocks(new MemoryBlockstore())
    const ref = await putSnapshot(blocks, state('forward'), message({ process: 'pid', slot: 999n }))
    expect(ref.message['snapshot-cid']).toBe(ref.cid.toString())
    expect(ref.message['snapshot-size']).toBe(BigInt(ref.bytes.length))
    expect(ref.message.slot).toBe(999n)
    expect(isSnapshotMessage(ref.message)).toBe(true)
    expect(isSnapshotMessage(state('forward'))).toBe(false)
    expect(isSnapshotMessage(ref.cid)).toBe(false)
    for (const r of [ref.message, ref.cid, ref.cid.toString()]) expectSame(await getSnapshot(blocks, r), state('forward'))
  })

  it('a corrupted block is BlockCorrupt, a missing one BlockNotFound, a bad reference InvalidSnapshotRef', async () => {
    const bs = new MemoryBlockstore()
    const blocks = new Blocks(bs)
    const { cid, bytes, message: msg } = await putSnapshot(blocks, state('forward'))
    const bad = bytes.slice()
    bad[bad.length >> 1] ^= 1
    await bs.put(cid, bad)
    await expect(getSnapshot(blocks, msg)).rejects.toMatchObject({ name: 'BlockCorrupt' })
    await bs.put(cid, bytes.subarray(0, 100))
    await expect(getSnapshot(blocks, cid)).rejects.toMatchObject({ name: 'BlockCorrupt' })
    await expect(getSnapshot(new Blocks(new MemoryBlockstore()), cid)).rejects.toMatchObject({ name: 'BlockNotFound', status: 404 })
    await expect(getSnapshot(blocks, 'not-a-cid')).rejects.toMatchObject({ name: 'InvalidSnapshotRef', status: 400 })
    await expect(getSnapshot(blocks, message({ 'snapshot-size': 1n }))).rejects.toMatchObject({ name: 'InvalidSnapshotRef' })
    const json = CID.createV1(0x0200, cid.multihash)
    expect(() => snapshotCid(json)).toThrow(expect.objectContaining({ name: 'InvalidSnapshotRef' }))
  })

  it('a large snapshot is chunked under a dag-cbor root; each chunk is verified', async () => {
    const bs = new MemoryBlockstore()
    const blocks = new Blocks(bs)
    const heap = Uint8Array.from({ length: 3 * CHUNK_SIZE + 12345 }, (_, i) => (i * 7 + (i >> 11)) & 0xff)
    const big = message({ heap, slot: 10_000n })
    const ref = await putSnapshot(blocks, big)
    expect(ref.cid.code).toBe(dagCbor.code)
    const manifest = dagCbor.decode<{ v: number; size: number; chunks: CID[] }>(await blocks.getBlock(ref.cid))
    expect(manifest.size).toBe(ref.bytes.length)
    expect(manifest.chunks).toHaveLength(4)
    expectSame(await getSnapshot(blocks, ref.message), big)
    // The same state elsewhere: the same root CID.
    expect((await putSnapshot(new Blocks(new MemoryBlockstore()), big)).cid.toString()).toBe(ref.cid.toString())
    const chunk = manifest.chunks[2]!
    const altered = (await blocks.getBlock(chunk)).slice()
    altered[0] ^= 0xff
    await bs.put(chunk, altered)
    await expect(getSnapshot(blocks, ref.message)).rejects.toMatchObject({ name: 'BlockCorrupt' })
    await bs.delete(chunk)
    await expect(getSnapshot(blocks, ref.message)).rejects.toMatchObject({ name: 'BlockNotFound' })
  })

  it('a manifest that lies about its size is SnapshotCorrupt', async () => {
    const blocks = new Blocks(new MemoryBlockstore())
    const c = await blocks.putBlock(new Uint8Array(10))
    const root = await blocks.putBlock(dagCbor.encode({ v: 1, size: CHUNK_SIZE * 5, chunks: [c] }), dagCbor.code)
    await expect(blocks.getBytes(root)).rejects.toMatchObject({ name: 'SnapshotCorrupt' })
    const root2 = await blocks.putBlock(dagCbor.encode({ v: 1, size: 11, chunks: [c] }), dagCbor.code)
    await expect(blocks.getBytes(root2)).rejects.toMatchObject({ name: 'SnapshotCorrupt' })
  })
})

describe('restore on another machine', () => {
  it('fs: the snapshot message from one node\'s store restores from a second blockstore directory', async () => {
    const [storeA, blocksA, blocksB, storeB] = [await fresh(), await fresh(), await fresh(), await fresh()]
    const a = await openFsBlocks(blocksA)
    const ref = await putSnapshot(a, state('forward'), message({ process: 'pid', slot: 999n }))
    await new FsStore(storeA).write('snapshot/pid/999', ref.message)

    // "Another machine": its own store and blockstore; the message travels, the blocks are copied
    // block by block as a peer would fetch them, then the directory itself is copied wholesale.
    const msg = (await new FsStore(storeA).read('snapshot/pid/999')) as Message
    await new FsStore(storeB).write('snapshot/pid/999', msg)
    const b = await openFsBlocks(blocksB)
    await expect(getSnapshot(b, msg)).rejects.toMatchObject({ name: 'BlockNotFound' })
    const cid = snapshotCid(msg)
    await b.putBlock(await a.getBlock(cid), cid.code)
    expectSame(await getSnapshot(b, (await new FsStore(storeB).read('snapshot/pid/999')) as Message), state('forward'))

    const copied = await fresh()
    await cp(blocksA, copied, { recursive: true })
    expectSame(await getSnapshot(await openFsBlocks(copied), msg), state('forward'))
  })

  it('fs: a block file damaged on disk is BlockCorrupt', async () => {
    const dir = await fresh()
    const blocks = await openFsBlocks(dir)
    const { message: msg } = await putSnapshot(blocks, state('forward'))
    const files: string[] = []
    const walk = async (d: string): Promise<void> => {
      for (const e of await readdir(d, { withFileTypes: true })) {
        if (e.isDirectory()) await walk(join(d, e.name))
        else files.push(join(d, e.name))
      }
    }
    await walk(dir)
    expect(files).toHaveLength(1)
    const bytes = await readFile(files[0]!)
    await writeFile(files[0]!, bytes.subarray(0, bytes.length - 1))
    await expect(getSnapshot(blocks, msg)).rejects.toMatchObject({ name: 'BlockCorrupt' })
  })

  it('IndexedDB (browser) and filesystem (Node) blockstores agree on CIDs and exchange blocks', async () => {
    const idb = await openIdbBlocks('snapshot-test-blocks')
    const heap = Uint8Array.from({ length: CHUNK_SIZE + 1 }, (_, i) => i & 0xff)
    const big = message({ heap, n: 1n })
    const inBrowser = await putSnapshot(idb, big)
    const fs = await openFsBlocks(await fresh())
    const inNode = await putSnapshot(fs, big)
    expect(inBrowser.cid.toString()).toBe(inNode.cid.toString())
    // Blocks written in the browser restore in Node after a block-by-block transfer.
    const other = await openFsBlocks(await fresh())
    const root = inBrowser.cid
    await other.putBlock(await idb.getBlock(root), root.code)
    const manifest = dagCbor.decode<{ chunks: CID[] }>(await idb.getBlock(root))
    for (const c of manifest.chunks) await other.putBlock(await idb.getBlock(c), c.code)
    expectSame(await getSnapshot(other, inBrowser.message), big)
    // And IndexedDB persists across a new handle.
    await idb.close()
    expectSame(await getSnapshot(await openIdbBlocks('snapshot-test-blocks'), inBrowser.message), big)
    expect(cidOf(inBrowser.bytes, dagCbor.code).equals(root)).toBe(false)
  })
})
