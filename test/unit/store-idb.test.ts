/** IdbStore beyond the contract: persistence across handles, damaged rows, typed quota and I/O errors. */
import 'fake-indexeddb/auto'
import { describe, it, expect, vi } from 'vitest'
import { Dexie } from 'dexie'
import { IdbStore, idbError } from '../../src/store/idb.ts'
import { encodeEntry } from '../../src/store/encoding.ts'
import { Float, message, type Message } from '../../src/core/value.ts'

let n = 0
const name = (): string => `idb-test-${n++}`

describe('IdbStore', () => {
  it('what one handle wrote, another handle on the same database reads (a reload)', async () => {
    const db = name()
    const a = await IdbStore.open(db)
    await a.write('computed/p/slot/1', message({ x: new Float(2), n: -(2n ** 64n) }))
    await a.link('computed/p/latest', 'computed/p/slot/1')
    a.close()
    const b = await IdbStore.open(db)
    const v = (await b.read('computed/p/latest')) as Message
    expect(v.n).toBe(-(2n ** 64n))
    expect(await b.list('computed/p')).toEqual(['latest', 'slot'])
    b.close()
  })

  it('a damaged or foreign row reads as StoreCorrupt, never as a value', async () => {
    const dbName = name()
    const s = await IdbStore.open(dbName)
    await s.write('a', 'fine')
    const raw = new Dexie(dbName)
    raw.version(1).stores({ entries: 'p' })
    const good = encodeEntry({ kind: 'value', value: 'fine' })
    await raw.table('entries').put({ p: 'torn', e: good.subarray(0, good.length - 3) })
    const flipped = good.slice()
    flipped[9] = flipped[9]! ^ 1
    await raw.table('entries').put({ p: 'flipped', e: flipped })
    await raw.table('entries').put({ p: 'foreign', e: 'a string, not entry bytes' })
    for (const p of ['torn', 'flipped']) await expect(s.read(p), p).rejects.toMatchObject({ name: 'StoreCorrupt', status: 500 })
    await expect(s.read('foreign')).rejects.toMatchObject({ name: 'StoreFailed' })
    expect(await s.read('a')).toBe('fine')
    raw.close()
    s.close()
  })

  it('a full quota is StoreQuotaExceeded (507), other failures StoreFailed', async () => {
    const s = await IdbStore.open(name())
    const entries = (s as unknown as { entries: { put: (...a: unknown[]) => Promise<unknown> } }).entries
    const spy = vi.spyOn(entries, 'put').mockRejectedValueOnce(new DOMException('the quota has been exceeded', 'QuotaExceededError'))
    await expect(s.write('a', 'x')).rejects.toMatchObject({ name: 'StoreQuotaExceeded', status: 507 })
    spy.mockRejectedValueOnce(Object.assign(new Error('Transaction aborted'), { name: 'AbortError', inner: new DOMException('q', 'QuotaExceededError') }))
    await expect(s.link('a', 'b')).rejects.toMatchObject({ name: 'StoreQuotaExceeded' })
    spy.mockRejectedValueOnce(new DOMException('disk I/O failed', 'UnknownError'))
    await expect(s.write('a', 'x')).rejects.toMatchObject({ name: 'StoreFailed', status: 500 })
    spy.mockRestore()
    await s.write('a', 'x')
    expect(await s.read('a')).toBe('x')
    s.close()
  })

  it('a batch is one transaction: a full quota leaves none of it', async () => {
    const s = await IdbStore.open(name())
    // The second row of the batch is refused for quota, after the first was put.
    const proto = (globalThis as unknown as { IDBObjectStore: { prototype: { put: (...a: unknown[]) => unknown } } }).IDBObjectStore.prototype
    const put = proto.put
    let calls = 0
    const spy = vi.spyOn(proto, 'put').mockImplementation(function (this: unknown, ...a: unknown[]) {
      if (++calls === 2) throw new DOMException('full', 'QuotaExceededError')
      return put.apply(this, a)
    })
    await expect(s.batch([{ op: 'write', path: 'a', value: 'x' }, { op: 'link', path: 'b', target: 'a' }]))
      .rejects.toMatchObject({ name: 'StoreQuotaExceeded', status: 507 })
    spy.mockRestore()
    expect(calls).toBe(2)
    expect(await s.list('')).toEqual([])
    await s.batch([{ op: 'write', path: 'a', value: 'x' }, { op: 'link', path: 'b', target: 'a' }])
    expect(await s.read('b')).toBe('x')
    s.close()
  })

  it('idbError maps Dexie errors by name, through inner errors', () => {
    expect(idbError(new Dexie.QuotaExceededError('full'), 'w')).toMatchObject({ name: 'StoreQuotaExceeded' })
    expect(idbError(new Dexie.AbortError('aborted', new DOMException('q', 'QuotaExceededError')), 'w')).toMatchObject({ name: 'StoreQuotaExceeded' })
    expect(idbError(new Dexie.DatabaseClosedError('closed'), 'r')).toMatchObject({ name: 'StoreFailed', status: 500 })
  })

  it('a closed database is StoreFailed', async () => {
    const s = await IdbStore.open(name())
    s.close()
    await expect(s.read('a')).rejects.toMatchObject({ name: 'StoreFailed' })
    await expect(s.write('a', 'x')).rejects.toMatchObject({ name: 'StoreFailed' })
  })
})
