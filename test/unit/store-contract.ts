/**
 * The Store contract, shared by every back end's test file
 * (store-contract.test.ts runs it against memory, fs and idb).
 */
import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import type { Store, Stored } from '../../src/store/store.ts'
import type { StoreOp } from '../../src/store/encoding.ts'
import { Atom, Float, Link, message, type Message, type Value } from '../../src/core/value.ts'

/** Strict structural equality: types, classes, -0, null prototypes, bigint sizes. Returns the first difference. */
export function difference(a: unknown, b: unknown, at = '$'): string | null {
  if (typeof a !== typeof b) return `${at}: ${typeof a} vs ${typeof b}`
  if (a === null || b === null || typeof a !== 'object') return Object.is(a, b) ? null : `${at}: ${String(a)} vs ${String(b)}`
  for (const C of [Uint8Array, Float, Atom, Link] as const) {
    if ((a instanceof C) !== (b instanceof C)) return `${at}: one is a ${C.name}, the other not`
  }
  if (a instanceof Uint8Array) {
    const y = b as Uint8Array
    if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(y)) return `${at}: ${a.constructor.name} vs ${y.constructor.name}`
    return a.length === y.length && a.every((x, i) => x === y[i]) ? null : `${at}: bytes differ`
  }
  if (a instanceof Float) return Object.is(a.value, (b as Float).value) ? null : `${at}: float ${a.value} vs ${(b as Float).value}`
  if (a instanceof Atom) return a.name === (b as Atom).name ? null : `${at}: atom ${a.name} vs ${(b as Atom).name}`
  if (a instanceof Link) return a.id === (b as Link).id && a.type === (b as Link).type ? null : `${at}: link differs`
  if (Array.isArray(a) !== Array.isArray(b)) return `${at}: list vs map`
  if (Array.isArray(a)) {
    const y = b as unknown[]
    if (a.length !== y.length) return `${at}: list length ${a.length} vs ${y.length}`
    for (let i = 0; i < a.length; i++) { const d = difference(a[i], y[i], `${at}[${i}]`); if (d) return d }
    return null
  }
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return `${at}: prototypes differ`
  const ka = Object.keys(a).sort(), kb = Object.keys(b as object).sort()
  if (ka.join('\0') !== kb.join('\0')) return `${at}: keys ${ka} vs ${kb}`
  for (const k of ka) {
    const d = difference((a as Message)[k], (b as Message)[k], `${at}.${k}`)
    if (d) return d
  }
  return null
}

export function expectSame(got: unknown, want: unknown): void {
  const d = difference(got, want)
  if (d) throw new Error(`not the same value: ${d}`)
}

/** Values every store must give back exactly. */
export function exactValues(): [string, Stored][] {
  const nested = message({
    int: 2n ** 200n, neg: -(2n ** 70n) - 1n, zero: 0n, small: -1n,
    one: new Float(1), negZero: new Float(-0), nan: new Float(NaN), inf: new Float(-Infinity), big: new Float(1.5e300),
    tiny: new Float(5e-324), atom: new Atom('ok'), t: true, f: false, n: null,
    bin: new Uint8Array([0, 255, 128, 7]), utf8Bytes: new Uint8Array([104, 105]), str: 'hi', empty: '', emoji: 'héllo 🌍',
    link: new Link('OAbBb5bvbUYh3BqcHCEBwWZOsVjcC8kbnIoydUcE_fI'),
    list: [1n, 'a', [new Float(2.5), message({ deep: [null, new Atom('x')] })], []],
    sub: message([['__proto__', 'a plain key'], ['constructor', 1n], ['', 'empty key'], ['a/b', 'slash key'], ['ключ', 'utf8 key']]),
  })
  return [
    ['nested message', nested],
    ['empty message', message()],
    ['a list', [nested, 3n, []] as Value[]],
    ['a string', 'just text'],
    ['an empty string', ''],
    ['bytes that are UTF-8', new Uint8Array([97, 98, 99])],
    ['bytes that are not UTF-8', new Uint8Array([0xff, 0xfe, 0x00])],
    ['empty bytes', new Uint8Array(0)],
    ['a large binary', Uint8Array.from({ length: 300_000 }, (_, i) => (i * 31) & 0xff)],
  ]
}

/** Arbitrary values of the value model (for property tests). */
export const arbValue: fc.Arbitrary<Value> = fc.letrec<{ v: Value }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.string({ unit: 'grapheme' }),
    fc.uint8Array({ maxLength: 16 }),
    fc.bigInt({ min: -(2n ** 130n), max: 2n ** 130n }),
    fc.double().map((x) => new Float(x)),
    fc.constantFrom<Value>(true, false, null),
    fc.string({ minLength: 1, maxLength: 8 }).filter((s) => !['true', 'false', 'null'].includes(s)).map((s) => new Atom(s)),
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 6, unit: 'grapheme' }), tie('v'), { maxKeys: 4 }).map((o) => message(o)),
  ),
})).v

export interface Backend {
  name: string
  /** A fresh, empty store. */
  make(): Promise<Store>
  /** A second handle on the same data (another process, a reload), when the back end persists. */
  reopen?(s: Store): Promise<Store>
}

export function storeContract(b: Backend): void {
  describe(`Store contract: ${b.name}`, () => {
    it('gives back every kind of value exactly (big integers, floats, atoms, binaries, nesting)', async () => {
      const s = await b.make()
      const values = exactValues()
      for (const [i, [, v]] of values.entries()) await s.write(`v/${i}`, v)
      const again = b.reopen ? await b.reopen(s) : s
      for (const [i, [what, v]] of values.entries()) {
        const got = await again.read(`v/${i}`)
        const d = difference(got, v)
        expect(d, what).toBeNull()
      }
      const msg = (await again.read('v/0')) as Message
      expect(Object.getPrototypeOf(msg)).toBeNull()
      expect(Object.getPrototypeOf(msg.sub)).toBeNull()
      expect(Object.keys(msg.sub as Message)).toContain('__proto__')
    })

    it('round-trips arbitrary values', async () => {
      const s = await b.make()
      let n = 0
      await fc.assert(fc.asyncProperty(arbValue, async (v) => {
        const stored: Stored = typeof v === 'string' || v instanceof Uint8Array || Array.isArray(v) ? v : message({ v })
        const p = `prop/${n++}`
        await s.write(p, stored)
        expectSame(await s.read(p), stored)
      }), { numRuns: 150 })
    })

    it('long lists come back exactly (the persistent stores keep them in chunks), nested, grown at either end, after a reopen', async () => {
      const s = await b.make()
      const item = fc.oneof(fc.string({ maxLength: 50 }), fc.bigInt(), arbValue)
      let n = 0
      const written: [string, Stored][] = []
      await fc.assert(fc.asyncProperty(fc.array(item, { minLength: 250, maxLength: 1500 }), fc.array(item, { maxLength: 3 }), fc.boolean(),
        async (list, more, atStart) => {
          const grown = atStart ? [...more, ...list] : [...list, ...more]
          for (const v of [message({ dedup: list, n: 1n }), message({ deep: message({ history: grown }), also: list })] as Stored[]) {
            const p = `long/${n++}`
            await s.write(p, v)
            expectSame(await s.read(p), v)
            written.push([p, v])
          }
        }), { numRuns: 12 })
      const again = b.reopen ? await b.reopen(s) : s
      for (const [p, v] of written) expectSame(await again.read(p), v)
    })

    it('a long list of messages written again after one of them changed comes back changed', async () => {
      const s = await b.make()
      const items = Array.from({ length: 300 }, (_, i) => message({ n: BigInt(i) }))
      await s.write('msgs/1', message({ items }))
      ;(items[5] as Message)['n'] = 500n
      await s.write('msgs/2', message({ items }))
      const again = b.reopen ? await b.reopen(s) : s
      expect(((((await again.read('msgs/2')) as Message)['items'] as Message[])[5]!)['n']).toBe(500n)
      // What was written before stays as it was (the memory store holds the objects themselves).
      if (b.reopen) expect(((((await again.read('msgs/1')) as Message)['items'] as Message[])[5]!)['n']).toBe(5n)
    })

    it('a value holding a Link named like a chunk marker, and a long list at the top, are kept as they are', async () => {
      const s = await b.make()
      const list = Array.from({ length: 700 }, (_, i) => `item ${i}`)
      const v = message({ odd: new Link('ao-tab-chunks chunks/not-a-chunk'), list })
      // A short list that starts as a head-marked one would, beside a long list.
      const w = message({ short: [new Link('ao-tab-chunks+head chunks/not-a-chunk'), 'a', 'b'], list })
      await s.write('odd', v)
      await s.write('odd2', w)
      await s.write('top', list)
      const again = b.reopen ? await b.reopen(s) : s
      expectSame(await again.read('odd'), v)
      expectSame(await again.read('odd2'), w)
      expectSame(await again.read('top'), list)
    })

    it('normalizes paths, overwrites, and reads a missing path as undefined', async () => {
      const s = await b.make()
      await s.write('/a//b/', 'one')
      expect(await s.read('a/b')).toBe('one')
      await s.write('a/b', message({ x: 1n }))
      expectSame(await s.read('/a/b'), message({ x: 1n }))
      expect(await s.read('a/c')).toBeUndefined()
      expect(await s.read('nothing/here/at/all')).toBeUndefined()
    })

    it('follows links (chains, relinking, a write replacing a link, a link replacing a value)', async () => {
      const s = await b.make()
      await s.write('computed/p1/slot-result', message({ out: 42n }))
      await s.link('computed/p1/slot/0', 'computed/p1/slot-result')
      await s.link('latest', '/computed/p1/slot/0/')
      expectSame(await s.read('latest'), message({ out: 42n }))
      await s.write('computed/p1/other', 'other')
      await s.link('computed/p1/slot/0', 'computed/p1/other')
      expect(await s.read('latest')).toBe('other')
      await s.write('latest', 'own value')
      expect(await s.read('latest')).toBe('own value')
      expect(await s.read('computed/p1/slot/0')).toBe('other')
      await s.link('computed/p1/other', 'computed/p1/slot-result')
      expectSame(await s.read('computed/p1/other'), message({ out: 42n }))
      await s.link('dangling', 'no/such/path')
      expect(await s.read('dangling')).toBeUndefined()
    })

    it('a link loop is a typed error', async () => {
      const s = await b.make()
      await s.link('x', 'y')
      await s.link('y', 'x')
      await expect(s.read('x')).rejects.toMatchObject({ name: 'InvalidPath', status: 400 })
    })

    it('lists the names directly below a group, values and links and subgroups alike', async () => {
      const s = await b.make()
      await s.write('assignments/pid/0', 'a0')
      await s.write('assignments/pid/1', 'a1')
      await s.write('assignments/pid/10', 'a10')
      await s.write('assignments/pid-2/0', 'b0')
      await s.write('computed/pid/slot/0', 'r0')
      await s.write('computed/pid/slot/1', 'r1')
      await s.link('computed/pid/res-id', 'computed/pid/slot/1')
      await s.write('computed/pid', 'a value beside its group')
      await s.write('computed/pid0', 'a sibling that sorts after the group')
      await s.write('computed/pid!', 'a sibling that sorts before the group')
      expect(await s.list('assignments/pid')).toEqual(['0', '1', '10'])
      expect(await s.list('/assignments/')).toEqual(['pid', 'pid-2'])
      expect(await s.list('computed')).toEqual(['pid', 'pid!', 'pid0'])
      expect(await s.list('computed/pid')).toEqual(['res-id', 'slot'])
      expect(await s.list('computed/pid/slot')).toEqual(['0', '1'])
      expect(await s.list('no/such/group')).toEqual([])
      expect(await s.list('assignments/pid/0')).toEqual([])
      expect(await s.read('computed/pid')).toBe('a value beside its group')
    })

    it('keeps paths apart that differ only in case or in unusual characters', async () => {
      const s = await b.make()
      const names = ['Ab', 'ab', 'AB', 'a.b', '..', '.', 'a%2Fb', 'a b', 'x.e', 'y.tmp', '^a', 'ü', '🌍', '%41']
      for (const n of names) await s.write(`k/${n}`, n)
      const again = b.reopen ? await b.reopen(s) : s
      for (const n of names) expect(await again.read(`k/${n}`)).toBe(n)
      expect(await again.list('k')).toEqual([...names].sort())
    })

    it('many entries in one group, with deep subgroups, list completely', async () => {
      const s = await b.make()
      const want: string[] = []
      for (let i = 0; i < 600; i++) {
        const name = `s${String(i).padStart(4, '0')}`
        want.push(name)
        if (i % 3 === 0) for (let j = 0; j < 4; j++) await s.write(`g/${name}/deep/${j}`, `${i}.${j}`)
        else await s.write(`g/${name}`, `${i}`)
      }
      expect(await s.list('g')).toEqual(want)
      expect(await s.list('g/s0003/deep')).toEqual(['0', '1', '2', '3'])
    })
  })
}

/** `batch` of the persistent stores (IdbStore, FsStore). */
export function batchContract(name: string, make: () => Promise<Store & { batch(ops: readonly StoreOp[]): Promise<void> }>): void {
  describe(`batch: ${name}`, () => {
    it('applies writes and links in order; a later op on a path wins', async () => {
      const s = await make()
      await s.batch([
        { op: 'write', path: 'computed/p/r1', value: message({ out: 1n }) },
        { op: 'link', path: 'computed/p/slot/0', target: 'computed/p/r1' },
        { op: 'write', path: 'x', value: 'first' },
        { op: 'write', path: '/x/', value: 'second' },
        { op: 'link', path: 'y', target: 'x' },
      ])
      expectSame(await s.read('computed/p/slot/0'), message({ out: 1n }))
      expect(await s.read('x')).toBe('second')
      expect(await s.read('y')).toBe('second')
      await s.batch([])
    })

    it('a list that grows by an item a slot (at its start, as dedup@1.0 grows) writes a chunk or two a slot, not the whole list', async () => {
      const s = await make()
      let history = Array.from({ length: 2000 }, (_, i) => `message-id-${i}`.padEnd(43, 'x'))
      await s.batch([{ op: 'write', path: 'state/0', value: message({ dedup: history }) }])
      const first = (await s.list('chunks')).length
      expect(first).toBeGreaterThan(10)
      const ops: StoreOp[] = []
      for (let slot = 1; slot <= 20; slot++) {
        history = [`new-message-${slot}`.padEnd(43, 'y'), ...history]
        ops.push({ op: 'write', path: `state/${slot}`, value: message({ dedup: history, slot: BigInt(slot) }) })
      }
      await s.batch(ops)
      // One batch of 20 states shares its unchanged chunks: at most a couple of new ones per state.
      expect((await s.list('chunks')).length - first).toBeLessThanOrEqual(40)
      expectSame(await s.read('state/20'), message({ dedup: history, slot: 20n }))
      expectSame(await s.read('state/7'), message({ dedup: history.slice(13), slot: 7n }))
    })

    it('a bad op fails the whole batch before anything is written', async () => {
      const s = await make()
      await expect(s.batch([
        { op: 'write', path: 'a', value: 'fine' },
        { op: 'write', path: 'b', value: message({ bad: 'lone \ud800' }) },
      ])).rejects.toMatchObject({ name: 'UnencodableValue' })
      await expect(s.batch([{ op: 'write', path: 'a', value: 'fine' }, { op: 'link', path: 'c', target: '/' }])).rejects.toMatchObject({ name: 'InvalidPath' })
      await expect(s.batch([{ op: 'write', path: 'a', value: 'fine' }, { op: 'write', path: '', value: 'x' }])).rejects.toMatchObject({ name: 'InvalidPath' })
      expect(await s.read('a')).toBeUndefined()
      expect(await s.list('')).toEqual([])
    })
  })
}
