/** src/core/waiters.ts: woken by their key, or by their timeout, and nothing is left behind. */
import { describe, expect, it } from 'vitest'
import { Waiters } from '../../src/core/waiters.ts'

describe('Waiters', () => {
  it('wake resolves every waiter of that key at once, and only those', async () => {
    const w = new Waiters<string>()
    const woken: string[] = []
    const a1 = w.wait('a', 10_000).then(() => woken.push('a1'))
    const a2 = w.wait('a', 10_000).then(() => woken.push('a2'))
    const b = w.wait('b', 50).then(() => woken.push('b'))
    w.wake('a')
    await Promise.all([a1, a2])
    expect(woken).toEqual(['a1', 'a2'])
    await b
    expect(woken).toEqual(['a1', 'a2', 'b'])
    w.wake('nobody')
  })

  it('a timeout resolves without a wake; a later wake finds nothing to resolve', async () => {
    const w = new Waiters<number>()
    const t0 = Date.now()
    await w.wait(1, 30)
    expect(Date.now() - t0).toBeGreaterThanOrEqual(25)
    expect((w as unknown as { byKey: Map<number, unknown> }).byKey.size).toBe(0)
    w.wake(1)
  })
})
