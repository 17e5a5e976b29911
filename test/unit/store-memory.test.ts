/** MemoryStore: paths, links, listing, bounded size. */
import { describe, it, expect } from 'vitest'
import { MemoryStore } from '../../src/store/memory.ts'
import { message } from '../../src/core/value.ts'

describe('MemoryStore', () => {
  it('reads what it wrote, by normalized path, and follows links', async () => {
    const s = new MemoryStore()
    await s.write('/a/b/', message({ x: '1' }))
    expect(await s.read('a/b')).toEqual(message({ x: '1' }))
    await s.link('alias', 'a/b')
    expect(await s.read('alias')).toEqual(message({ x: '1' }))
    expect(await s.read('missing')).toBeUndefined()
    expect(await s.list('a')).toEqual(['b'])
  })
  it('a link loop is a typed error', async () => {
    const s = new MemoryStore()
    await s.link('x', 'y')
    await s.link('y', 'x')
    await expect(s.read('x')).rejects.toMatchObject({ name: 'InvalidPath' })
  })
  it('evicts the oldest entries past maxEntries', async () => {
    const s = new MemoryStore({ maxEntries: 3 })
    for (const k of ['1', '2', '3', '4']) await s.write(k, k)
    expect(await s.read('1')).toBeUndefined()
    expect(await s.read('4')).toBe('4')
    await s.write('2', 'again')
    await s.write('5', '5')
    expect(await s.read('3')).toBeUndefined()
    expect(await s.read('2')).toBe('again')
  })
})
