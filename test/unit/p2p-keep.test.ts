/**
 * src/p2p/wiring.ts keeps the node's own attestations and disputes in its
 * store, written behind in batches: what is queued when the network stops
 * is written before `detach` resolves, and a store that falls too far behind
 * costs the oldest copies (reported), not unbounded memory.
 */
import { describe, expect, it } from 'vitest'
import { message, type Message } from '../../src/core/value.ts'
import { createNode } from '../../src/node/node.ts'
import { MemoryStore } from '../../src/store/memory.ts'
import { StoreFailed } from '../../src/core/errors.ts'
import { MAX_KEEP_QUEUED, NodeWiring, attestationPath, disputePath } from '../../src/p2p/wiring.ts'
import { disputeMessage, type Dispute } from '../../src/devices/p2p.ts'
import type { Stored } from '../../src/store/store.ts'

const PID = 'p'.repeat(43)
type Keeping = { keep(path: string, value: Message): void }

describe('wiring: kept attestations and disputes', () => {
  it('what is queued when the network stops is in the store once detach resolves', async () => {
    const node = await createNode({ store: new MemoryStore() })
    const w = new NodeWiring(node)
    for (let i = 1n; i <= 3n; i++) (w as unknown as Keeping).keep(attestationPath(PID, i), message({ slot: i }))
    // Written behind: not yet.
    expect(await node.store.read(attestationPath(PID, 1n))).toBeUndefined()
    await w.detach()
    for (let i = 1n; i <= 3n; i++) expect(await node.store.read(attestationPath(PID, i))).toEqual(message({ slot: i }))
  })

  it(`past ${MAX_KEEP_QUEUED} queued copies the oldest is dropped and the loss reported; the rest are kept`, async () => {
    // A store that does not answer until the test lets it.
    let release!: () => void
    const held = new Promise<void>((r) => { release = r })
    class SlowStore extends MemoryStore {
      override async write(path: string, value: Stored): Promise<void> { await held; return super.write(path, value) }
    }
    const store = new SlowStore()
    const node = await createNode({ store })
    const w = new NodeWiring(node)
    for (let i = 0; i <= MAX_KEEP_QUEUED + 64; i++) (w as unknown as Keeping).keep(attestationPath(PID, BigInt(i)), message({ slot: BigInt(i) }))
    expect(w.lastStoreError).toBeInstanceOf(StoreFailed)
    expect(String((w.lastStoreError as Error).message)).toContain('writes behind')
    release()
    await w.detach()
    expect(await store.read(attestationPath(PID, BigInt(MAX_KEEP_QUEUED + 64)))).toBeDefined()
    // Some of the first ones went to the store before the queue filled or were dropped: none is lost silently.
    let kept = 0
    for (let i = 0; i <= MAX_KEEP_QUEUED + 64; i++) if (await store.read(attestationPath(PID, BigInt(i))) !== undefined) kept++
    expect(kept).toBeGreaterThanOrEqual(MAX_KEEP_QUEUED)
    expect(kept).toBeLessThan(MAX_KEEP_QUEUED + 65)
  })

  it('disputes read back on attach: a well-formed record counts, a malformed one or one filed under another address is skipped', async () => {
    const store = new MemoryStore()
    const liar = 'L'.repeat(43), other = 'O'.repeat(43), torn = 'T'.repeat(43)
    const d: Dispute = { address: liar, slot: 3n, assignment: 'a'.repeat(43), result: 'r'.repeat(43), hashpath: 'h/p', reason: 'a different result' }
    await store.write(disputePath(PID, liar), disputeMessage(d))
    // Filed under `other` but naming the liar: not a dispute of `other`.
    await store.write(disputePath(PID, other), disputeMessage(d))
    // No slot, a number where text belongs.
    await store.write(disputePath(PID, torn), message({ address: torn, assignment: 5n, reason: 'x' }))
    await store.write(disputePath('not-a-process', liar), disputeMessage(d))
    const node = await createNode({ store })
    const w = new NodeWiring(node)
    await (w as unknown as { restoreDisputes(): Promise<void> }).restoreDisputes()
    const disputed = w.table.disputed(PID)
    expect([...disputed.keys()]).toEqual([liar])
    expect(disputed.get(liar)).toEqual(d)
    await w.detach()
  })
})

