/** src/devices/process-cache.ts: results written behind, with unchanging parts stored once by ID. */
import { describe, expect, it } from 'vitest'
import { MemoryStore } from '../../src/store/memory.ts'
import { MAX_QUEUED, flushResults, queueResult, readResult, resultPath } from '../../src/devices/process-cache.ts'
import type { StoreOp } from '../../src/store/encoding.ts'
import { freezeMessage, messageId } from '../../src/core/id.ts'
import { Link, isMessage, message, type Message } from '../../src/core/value.ts'

const PID = 'P'.repeat(43)

function states() {
  const module = freezeMessage(message({ 'content-type': 'application/lua', body: 'x'.repeat(5000) }))
  const at = (slot: bigint, balance: bigint): Message => message({
    module, 'at-slot': slot, balance: freezeMessage(message({ a: balance })), device: 'process@1.0',
  })
  return { module, at }
}

describe('process-cache parts', () => {
  it('a sub-message that stays the same is stored once under its ID and linked; what changes stays inline; reads give the whole state', async () => {
    const store = new MemoryStore()
    const { module, at } = states()
    const s1 = at(1n, 10n), s2 = at(2n, 9n), s3 = at(3n, 8n)
    for (const [i, s] of [s1, s2, s3].entries()) await queueResult(store, PID, BigInt(i + 1), messageId(s), s)
    await flushResults(store)
    const raw1 = (await store.read(resultPath(PID, 1n))) as Message
    const raw3 = (await store.read(resultPath(PID, 3n))) as Message
    expect(isMessage(raw1['module'])).toBe(true) // first seen: inline
    expect(raw3['module']).toBeInstanceOf(Link) // unchanged since: a part
    expect((raw3['module'] as Link).id).toBe(messageId(module, 'signed'))
    expect(isMessage(await store.read(messageId(module, 'signed')))).toBe(true)
    expect(isMessage(raw3['balance'])).toBe(true) // changes every slot: inline
    const back = (await readResult(store, PID, 3n))!
    expect(messageId(back)).toBe(messageId(s3))
    expect((back['module'] as Message)['body']).toBe('x'.repeat(5000))
  })

  it('a result whose part is missing reads as not computed (it is computed again), not as a broken state', async () => {
    const store = new MemoryStore()
    const { module, at } = states()
    for (let i = 1n; i <= 3n; i++) { const s = at(i, 10n - i); await queueResult(store, PID, i, messageId(s), s) }
    await flushResults(store)
    // The part goes missing (a store restored from an incomplete copy).
    const other = new MemoryStore()
    for (const p of [resultPath(PID, 3n)]) await other.write(p, (await store.read(p))!)
    expect(await readResult(other, PID, 3n)).toBeUndefined()
    expect(await readResult(store, PID, 3n)).toBeDefined()
    expect(messageId(module, 'signed')).toMatch(/^[\w-]{43}$/)
  })
})

describe('process-cache queue bound', () => {
  it(`a compute that would queue more than ${MAX_QUEUED} results waits for the writer, until one batch lands (not until the queue is empty)`, async () => {
    // A transactional store whose batches land only when the test lets them.
    const gates: (() => void)[] = []
    let open = false
    class GatedStore extends MemoryStore {
      readonly transactional = true
      async batch(ops: readonly StoreOp[]): Promise<void> {
        if (!open) await new Promise<void>((r) => gates.push(r))
        for (const o of ops) {
          if (o.op === 'write') await this.write(o.path, o.value)
          else await this.link(o.path, o.target)
        }
      }
    }
    const store = new GatedStore()
    const { at } = states()
    const queued: Promise<void>[] = []
    for (let i = 1n; i <= BigInt(MAX_QUEUED) + 1n; i++) { const s = at(i, i); queued.push(queueResult(store, PID, i, messageId(s), s)) }
    let last = false
    void queued[queued.length - 1]!.then(() => { last = true })
    const settle = async (): Promise<void> => { for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r)) }
    await settle()
    // Every result up to the bound is answered at once; the one past it waits.
    await Promise.all(queued.slice(0, MAX_QUEUED))
    expect(last).toBe(false)
    expect(gates.length).toBe(1)
    gates.shift()!()
    await settle()
    expect(last).toBe(true)
    // The rest is still being written: the next batch is in flight, not landed.
    expect(gates.length).toBe(1)
    open = true
    gates.shift()!()
    await flushResults(store)
    expect(await store.read(resultPath(PID, BigInt(MAX_QUEUED) + 1n))).toBeDefined()
  })
})

