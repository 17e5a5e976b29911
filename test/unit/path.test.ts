/** HyperPATH: hb_singleton:from/to and hb_path:term_to_path_parts, unit and property tests. */
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { MAX_PATH_DEPTH, MAX_SEGMENT_LENGTH, parsePath, parsePathString, pathParts, renderPath } from '../../src/core/path.ts'
import { As, Resolve, fromJson, stringifyTyped, type PathItem } from '../../src/core/typed-json.ts'
import { Float, Link, emptyMessage, message, type Message, type Value } from '../../src/core/value.ts'
import { AoError, InvalidPath, PathSegmentTooLong, PathTooDeep, UnknownPathType } from '../../src/core/errors.ts'

const show = (v: unknown): string => stringifyTyped(v as PathItem)
const msg = (o: Record<string, unknown>): Message => fromJson(o) as Message
const list = (j: unknown[]): PathItem[] => j.map((x) => fromJson(x))
const parse = (path: string): string => show(parsePathString(path))
const expectParse = (path: string, expected: unknown[]): void => expect(parse(path)).toBe(show(list(expected)))
const errorOf = (f: () => unknown): unknown => {
  try { f() } catch (e) { return e }
  throw new Error('expected an error')
}
const ID = 'IYkkrqlZNW_J-4T-5eFApZOMRl5P4VjvrcOXWvIqB1Q'

describe('hb_singleton:from (HyperBEAM eunit cases)', () => {
  it('explicit message: request keys go to the base and every step', () => {
    expect(show(parsePath(msg({ path: '/a', a: 'b' })))).toBe(show(list([{ a: 'b' }, { path: 'a', a: 'b' }])))
    expect(show(parsePath(msg({ path: `/${ID}/a` })))).toBe(show(list([ID, { path: 'a' }])))
    expect(show(parsePath(msg({ path: `/${ID}/a`, a: 'b' })))).toBe(show(list([ID, { path: 'a', a: 'b' }])))
  })
  it('scoped and typed keys', () => {
    expect(show(parsePath(msg({ path: '/a/b/c', '2.test-key': 'test-value' }))))
      .toBe(show(list([{}, { path: 'a' }, { path: 'b', 'test-key': 'test-value' }, { path: 'c' }])))
    expect(show(parsePath(msg({ path: '/a/b/c', '2.test-key+integer': '123' }))))
      .toBe(show(list([{}, { path: 'a' }, { path: 'b', 'test-key': 123 }, { path: 'c' }])))
    expect(show(parsePath(msg({ path: '/a/b/c', '2.test-key+resolve': '/x/y/z' }))))
      .toBe(show(list([{}, { path: 'a' }, { path: 'b', 'test-key': { '@resolve': [{}, { path: 'x' }, { path: 'y' }, { path: 'z' }] } }, { path: 'c' }])))
  })
  it('sub-paths and inlined keys', () => {
    expectParse('/a/(x/y/z)/z', [{}, { path: 'a' }, { '@resolve': [{}, { path: 'x' }, { path: 'y' }, { path: 'z' }] }, { path: 'z' }])
    expect(show(parsePath(msg({ method: 'POST', path: '/a/b&k1=v1/c&k2=v2' }))))
      .toBe(show(list([{ method: 'POST' }, { method: 'POST', path: 'a' }, { method: 'POST', path: 'b', k1: 'v1' }, { method: 'POST', path: 'c', k2: 'v2' }])))
    expectParse('/a/b&k1=v1&k2=v2', [{}, { path: 'a' }, { path: 'b', k1: 'v1', k2: 'v2' }])
    expectParse('/part1/part2&test=1&b=(/x/y)/part3',
      [{}, { path: 'part1' }, { path: 'part2', test: '1', b: { '@resolve': [{}, { path: 'x' }, { path: 'y' }] } }, { path: 'part3' }])
  })
})

describe('hb_singleton:from quirks', () => {
  it('segments are percent-decoded twice; %2F splits after decoding; a short % stays', () => {
    expectParse('/a%2525b', [{}, { path: 'a%b' }])
    expectParse('/a%2Fb', [{}, { path: 'a' }, { path: 'b' }])
    expectParse('/a%', [{}, { path: 'a%' }])
    expectParse('/caf%C3%A9', [{}, { path: 'café' }])
    expect(errorOf(() => parsePathString('/a%zz'))).toBeInstanceOf(InvalidPath)
    expect(errorOf(() => parsePathString('/a%C3'))).toBeInstanceOf(InvalidPath)
    expectParse('/%F0%9F%98%80', [{}, { path: '😀' }])
    expect(errorOf(() => parsePathString('/%ED%A0%80'))).toBeInstanceOf(InvalidPath) // an encoded surrogate
    expect(errorOf(() => parsePathString('/%C0%80'))).toBeInstanceOf(InvalidPath) // overlong
  })
  it('the query string is cow_qs: + is a space, bare key is true, a nameless pair is an error', () => {
    expectParse('/a?k&k2=&q=a+b%21', [{ k: true, k2: '', q: 'a b!' }, { k: true, k2: '', q: 'a b!', path: 'a' }])
    expect(errorOf(() => parsePathString('/a?=b'))).toBeInstanceOf(InvalidPath)
    expect(errorOf(() => parsePathString('/a?k=%G0'))).toBeInstanceOf(InvalidPath)
    // A query value need not be UTF-8.
    const got = parsePathString('/a?k=%FF')[1] as Message
    expect(got['k']).toEqual(new Uint8Array([255]))
  })
  it('scopes: 0 is the base, beyond the list is ignored, a non-integer front is an error', () => {
    expectParse('/key?2.z=last&0.base=b', [{ base: 'b' }, { path: 'key' }])
    expectParse('/a?1.=v', [{}, { '': 'v', path: 'a' }])
    expectParse('/a?x.y.z=1', [{ 'x.y.z': '1' }, { 'x.y.z': '1', path: 'a' }])
    expect(errorOf(() => parsePathString('/a?x.y=1'))).toBeInstanceOf(InvalidPath)
    expect(errorOf(() => parsePathString('/a?-1.x=1'))).toBeInstanceOf(InvalidPath)
  })
  it('a query `path` overrides every step path', () => {
    expectParse('/a?path=zz', [{ path: 'zz' }, { path: 'zz' }])
  })
  it('typed values follow decode_value and the structured@1.0 round trip', () => {
    expectParse('/a&x+integer=123456789012345', [{}, { path: 'a', x: 123456789012345 }])
    expectParse('/a&x+integer=1.5', [{}, { path: 'a' }])
    expectParse('/a&x+integer=abc', [{}, { path: 'a' }])
    expectParse('/a&k+INTEGER=7', [{}, { path: 'a', k: 7 }])
    expectParse('/a&x+float=1.0e5', [{}, { path: 'a', x: { '@float': '100000.0' } }])
    expectParse('/a&x+atom="hello"', [{}, { path: 'a', x: { '@atom': 'hello' } }])
    expectParse('/a&x+map=a=1,b="x",c', [{}, { path: 'a', x: { a: 1, b: 'x', c: true } }])
    expectParse('/a&x+list=1.05,-0.5,1.500,%22s%22', [{}, { path: 'a', x: [{ '@float': '1.5' }, { '@float': '0.5' }, { '@float': '1.5' }, 's'] }])
    expectParse('/a&k+resolve=x', [{}, { path: 'a', k: { '@resolve': [{}, { path: 'x' }] } }])
    for (const bad of ['/a&x+integer=1234567890123456', '/a&x+float=1e5', '/a&x+atom=123', '/a&+integer=5', '/a&v+resolve=(x/y)']) {
      expect(errorOf(() => parsePathString(bad)), bad).toBeInstanceOf(InvalidPath)
    }
    expect(errorOf(() => parsePathString('/a&x+binary=1'))).toBeInstanceOf(UnknownPathType)
    expect(errorOf(() => parsePathString('/a&x+nosuchtype=1'))).toBeInstanceOf(UnknownPathType)
  })
  it('structured@1.0: keys lower-cased, private and regenerated keys dropped, priv must be a map', () => {
    expectParse('/a&K=v&private=x&content-digest=y&Z=1', [{}, { k: 'v', path: 'a', z: '1' }])
    expect(errorOf(() => parsePathString('/a&priv=x'))).toBeInstanceOf(InvalidPath)
    // An {as, D, M} with a non-empty path is not converted.
    expectParse('/x~dev&K=v', [{ '@as': ['dev', { K: 'v', path: 'x' }] }])
    // A message's own ao-types applies.
    expectParse('/a&ao-types=x=integer&x=5', [{}, { path: 'a', x: 5 }])
  })
  it('nested maps and lists become links through `offload`', () => {
    const seen: Array<Message | Value[]> = []
    const got = parsePathString('/a&x+map=a=1&y+list=1,2', { offload: (c) => { seen.push(c); return `id${seen.length}` } })
    expect(show(got)).toBe(show([emptyMessage(), msg({ path: 'a', x: { '@link': 'id1' }, y: { '@link': 'id2' } })]))
    expect(show(seen)).toBe('[{"a":1},[1,2]]')
    expect((got[1] as Message)['x']).toBeInstanceOf(Link)
  })
  it('odd but faithful shapes', () => {
    expectParse('/(a)(b)', [{ '@resolve': [{}, { path: 'a)(b' }] }])
    expectParse('/()', [{ '@resolve': [] }])
    expectParse('/a~', [{ '@as': ['', { path: 'a' }] }])
    // A bare `&x+link` is the atom true under the key `x+link`, which decode_all_links turns into a link.
    expectParse('/a&x+link', [{}, { path: 'a', x: { '@link': 'true' } }])
    expectParse('/a&b=(x&y)&c=1', [{}, { path: 'a', b: { '@resolve': [{}, { path: 'x', y: true }] }, c: '1' }])
    // A 43-byte segment is an ID, whatever it contains.
    const idLike = 'a~b&c=d' + 'x'.repeat(36)
    expectParse('/' + idLike, [idLike])
    expect(parsePath(emptyMessage())).toEqual([])
  })
})

describe('limits', () => {
  it('a 512-byte segment is accepted, 513 is rejected (also after decoding)', () => {
    expect(parsePathString('/' + 'a'.repeat(MAX_SEGMENT_LENGTH))).toHaveLength(2)
    expect(errorOf(() => parsePathString('/' + 'a'.repeat(MAX_SEGMENT_LENGTH + 1)))).toBeInstanceOf(PathSegmentTooLong)
    expect(parsePathString('/b/' + 'a'.repeat(MAX_SEGMENT_LENGTH) + '/c')).toHaveLength(4)
    // 513 encoded bytes are rejected before decoding; decoded, 511 bytes would do.
    expect(errorOf(() => parsePathString('/%61' + 'a'.repeat(510)))).toBeInstanceOf(PathSegmentTooLong)
    expect(parsePathString('/%61' + 'a'.repeat(509))).toHaveLength(2)
    const e = errorOf(() => parsePathString('/' + 'é'.repeat(257))) as AoError
    expect(e).toBeInstanceOf(PathSegmentTooLong)
    expect(e.status).toBe(400)
  })
  it('nesting up to the cap parses; deeper is PathTooDeep, quickly', () => {
    // The core is 44 bytes so that no level is 32, 42 or 43 bytes long (it would be an ID).
    const nest = (n: number, core = 'a'.repeat(44)): string => '/' + '('.repeat(n) + core + ')'.repeat(n)
    let r: PathItem = parsePathString(nest(MAX_PATH_DEPTH))[0]!
    for (let i = 0; i < MAX_PATH_DEPTH; i++) { expect(r).toBeInstanceOf(Resolve); r = (r as Resolve).messages[1] ?? (r as Resolve).messages[0]! }
    expect(errorOf(() => parsePathString(nest(MAX_PATH_DEPTH + 1)))).toBeInstanceOf(PathTooDeep)
    expect(errorOf(() => parsePathString(nest(10), { maxDepth: 9 }))).toBeInstanceOf(PathTooDeep)
    const t = performance.now()
    expect(errorOf(() => parsePathString(nest(255, 'a')))).toBeInstanceOf(PathTooDeep)
    expect(errorOf(() => parsePathString('/' + '('.repeat(1_000_000)))).toBeInstanceOf(PathSegmentTooLong)
    for (let i = 0; i < 200; i++) parsePathString('/' + '(a)/'.repeat(100) + '&k=' + '('.repeat(50) + 'x' + ')'.repeat(50))
    expect(performance.now() - t).toBeLessThan(2000)
  })
  it('a long path of many segments is linear', () => {
    const path = '/' + Array.from({ length: 20000 }, (_, i) => `s${i}&k=v`).join('/')
    const t = performance.now()
    expect(parsePathString(path)).toHaveLength(20001)
    expect(performance.now() - t).toBeLessThan(2000)
  })
  it('non-binary paths and lone surrogates are InvalidPath', () => {
    expect(errorOf(() => parsePath(msg({ path: 5 })))).toBeInstanceOf(InvalidPath)
    expect(errorOf(() => parsePathString('/a\uD800'))).toBeInstanceOf(InvalidPath)
  })
})

describe('hb_singleton:to (HyperBEAM eunit cases)', () => {
  const roundTrips = (messages: unknown[]): void => {
    const items = list(messages)
    expect(show(parsePath(renderPath(items)))).toBe(show(items))
  }
  it('renders and round-trips', () => {
    const simple = [{ 'test-key': 'test-value' }, { path: 'a', 'test-key': 'test-value' }]
    expect(show(renderPath(list(simple)))).toBe(show(msg({ path: '/a', 'test-key': 'test-value' })))
    roundTrips(simple)
    const multi = [{ k: 'v' }, { path: 'a', k: 'v' }, { path: 'b', k: 'v' }, { path: 'c', k: 'v' }]
    expect(show(renderPath(list(multi)))).toBe(show(msg({ path: '/a/b/c', k: 'v' })))
    roundTrips(multi)
    const hashpath = ['e5ohB7TgMYRoc0BLllkmAqkqLy1SrliEkOPJlNPXBQ8', { method: 'GET', path: 'some-other' }]
    expect(show(renderPath(list(hashpath)))).toBe(show(msg({ path: '/e5ohB7TgMYRoc0BLllkmAqkqLy1SrliEkOPJlNPXBQ8/some-other', method: 'GET' })))
    roundTrips(hashpath)
    const scoped = [{}, { path: 'a' }, { path: 'b', 'test-key': 'test-value' }, { path: 'c' }]
    expect(show(renderPath(list(scoped)))).toBe(show(msg({ '2.test-key': 'test-value', path: '/a/b/c' })))
    roundTrips(scoped)
    const typedKey = [{}, { path: 'a' }, { path: 'b', 'test-key': 123 }, { path: 'c' }]
    expect(show(renderPath(list(typedKey)))).toBe(show(msg({ '2.test-key+integer': '123', path: '/a/b/c' })))
    roundTrips(typedKey)
    const subKey = [{}, { path: 'a' }, { path: 'b', 'test-key': { '@resolve': [{}, { path: 'x' }, { path: 'y' }, { path: 'z' }] } }, { path: 'c' }]
    expect(show(renderPath(list(subKey)))).toBe(show(msg({ '2.test-key+resolve': '/x/y/z', path: '/a/b/c' })))
    roundTrips(subKey)
    const subPath = [{}, { path: 'a' }, { '@resolve': [{}, { path: 'x' }, { path: 'y' }, { path: 'z' }] }, { path: 'z' }]
    expect(show(renderPath(list(subPath)))).toBe(show(msg({ path: '/a/(x/y/z)/z' })))
    roundTrips(subPath)
    roundTrips([{ method: 'POST' }, { method: 'POST', path: 'a' }, { k1: 'v1', method: 'POST', path: 'b' }, { k2: 'v2', method: 'POST', path: 'c' }])
    roundTrips([{ method: 'POST' }, { method: 'POST', path: 'a' }, { k1: 'v1', k2: 'v2', method: 'POST', path: 'b' }])
    roundTrips([{}, { path: 'part1' }, { b: { '@resolve': [{}, { path: 'x' }, { path: 'y' }] }, path: 'part2', test: '1' }, { path: 'part3' }])
  })
  it('renders {as, …} steps (an extension: HyperBEAM to/1 has no clause for them)', () => {
    const items = parsePathString('/x~dev&k=v&n+integer=3&t/~d2/(a/b)?1.q=1')
    expect(show(renderPath(items))).toBe(show(msg({ path: '/x~dev&k=v&n+integer=3&t/~d2/(a/b)', '1.q': '1' })))
    expect(show(parsePath(renderPath(items)))).toBe(show(items))
    expect(errorOf(() => renderPath([new As('dev', msg({ path: 'x', k: 'a/b' }))]))).toBeInstanceOf(InvalidPath)
  })
  it('rejects what it cannot render', () => {
    expect(errorOf(() => renderPath(['not-an-id']))).toBeInstanceOf(InvalidPath)
    expect(errorOf(() => renderPath([new Resolve([])]))).toBeInstanceOf(InvalidPath)
  })
})

describe('hb_path:term_to_path_parts', () => {
  it('binaries', () => {
    expect(pathParts('/a//b/')).toEqual(['a', 'b'])
    expect(pathParts('/')).toEqual([])
    expect(pathParts('')).toBeUndefined()
    expect(pathParts('//')).toBeUndefined()
    expect(pathParts('a')).toEqual(['a'])
    expect(pathParts('A/b')).toEqual(['A', 'b'])
    expect(pathParts(new Uint8Array([97, 47, 98]))).toEqual(['a', 'b'])
  })
  it('lists, integers, atoms', () => {
    expect(pathParts(['a', ['b/c', 5n], '/'])).toEqual(['a', 'b', 'c', '5'])
    expect(pathParts(['a', ''])).toEqual(['a', 'undefined'])
    expect(pathParts([])).toBeUndefined()
    expect(pathParts([97n, 66n])).toEqual(['ab'])
    expect(pathParts(7n)).toEqual(['7'])
    expect(pathParts(true)).toEqual(['true'])
    expect(errorOf(() => pathParts(msg({ a: '1' })))).toBeInstanceOf(InvalidPath)
  })
})

// ---------------------------------------------------------------- properties

const PATH_CHARS = ['/', '(', ')', '&', '~', '+', '=', '?', '%', '.', ' ', 'a', 'b', 'K', '1', '2', '0', 'F', '"', ':', ';', ',', '*', '-', 'é', '\u0000', '%2', '%41', '%2F', '%28', '%C3%A9', '%FF', 'integer', 'resolve', 'atom', 'list', 'map', 'float', 'priv', '1.', '0.', ID]

const hostile = fc.array(fc.constantFrom(...PATH_CHARS), { maxLength: 120 }).map((a) => a.join(''))
const anyText = fc.string({ unit: 'binary', maxLength: 80 })

const parsesOrTypedError = (f: () => PathItem[]): boolean => {
  try {
    const r = f()
    return Array.isArray(r)
  } catch (e) {
    if (!(e instanceof AoError)) throw e
    return e.status >= 400 && e.status < 600
  }
}

describe('properties', () => {
  it('any path gives a list or a typed error', () => {
    fc.assert(fc.property(fc.oneof(hostile, anyText, fc.string({ unit: 'binary-ascii', maxLength: 600 })), (p) =>
      parsesOrTypedError(() => parsePathString(p))), { numRuns: 3000 })
  })
  it('any request (path, headers, byte paths) gives a list or a typed error', () => {
    const key = fc.oneof(hostile.filter((k) => k !== 'path'), fc.constantFrom('1.k', '0.k+integer', 'k+resolve', 'priv', 'ao-types', 'n+list', 'm+map'))
    const value = fc.oneof(hostile, anyText, fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }), fc.constant(true),
      fc.double().map((x) => new Float(x)), fc.uint8Array({ maxLength: 8 }))
    const req = fc.record({
      path: fc.oneof(hostile, fc.uint8Array({ maxLength: 40 })),
      headers: fc.array(fc.tuple(key, value), { maxLength: 4 }),
    })
    fc.assert(fc.property(req, ({ path, headers }) => {
      const m = emptyMessage()
      m['path'] = path
      for (const [k, v] of headers) m[k] = v
      return parsesOrTypedError(() => parsePath(m))
    }), { numRuns: 2000 })
  })
  it('parsing is deterministic', () => {
    fc.assert(fc.property(hostile, (p) => {
      let a: string
      try { a = show(parsePathString(p)) } catch (e) { a = (e as Error).name }
      let b: string
      try { b = show(parsePathString(p)) } catch (e) { b = (e as Error).name }
      return a === b
    }), { numRuns: 500 })
  })

  // Simple, unambiguous message lists: unique lower-case keys per step, safe path parts.
  const pathPart = fc.stringMatching(/^[a-z0-9_-]{1,12}$/)
  const id = fc.stringMatching(/^[A-Za-z0-9_-]{43}$/)
  const scalar = fc.oneof(fc.string({ maxLength: 20 }), fc.bigInt({ min: -(10n ** 15n) + 1n, max: 10n ** 15n - 1n }), fc.constant(true))
  const keysFor = (prefix: string): fc.Arbitrary<Record<string, Value>> =>
    fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/).map((k) => prefix + k), scalar as fc.Arbitrary<Value>, { maxKeys: 3 })
  const mk = (path: string | undefined, ks: Record<string, Value>): Message => message(path === undefined ? ks : { path, ...ks })
  const inlineScalar = fc.oneof(fc.stringMatching(/^[a-z0-9 +=@_-]{0,10}$/), fc.bigInt({ min: -999n, max: 999n }), fc.constant(true))
  // Short enough that `(a/b/c)` never reaches 32 bytes (it would read back as an ID).
  const subResolve = fc.array(fc.stringMatching(/^[a-z0-9_-]{1,8}$/), { minLength: 1, maxLength: 3 }).map((ps) => new Resolve([emptyMessage(), ...ps.map((p) => mk(p, {}))]))
  const step = (i: number): fc.Arbitrary<PathItem> => fc.oneof(
    { weight: 4, arbitrary: fc.tuple(pathPart, keysFor(`s${i}x`)).map(([p, ks]) => mk(p, ks)) },
    { weight: 1, arbitrary: id },
    { weight: 1, arbitrary: subResolve },
    { weight: 1, arbitrary: fc.tuple(fc.stringMatching(/^[a-z]{1,6}@1\.0$/), keysFor(`s${i}a`)).map(([d, ks]) => new As(d, mk('', ks))) },
    { weight: 1, arbitrary: fc.tuple(fc.stringMatching(/^[a-z]{1,5}$/), fc.stringMatching(/^[a-z]{1,6}@1\.0$/), fc.dictionary(fc.stringMatching(/^[a-z]{1,4}$/), inlineScalar, { maxKeys: 2 }))
      .map(([p, d, ks]) => new As(d, mk(p, ks as Record<string, Value>))) },
  )
  // Arbitraries built once (building them inside chain() is slow).
  const baseKeys = keysFor('b')
  const steps = Array.from({ length: 6 }, (_, i) => step(i + 1))
  const messages = fc.integer({ min: 1, max: 6 }).chain((n) => fc.tuple(baseKeys, ...steps.slice(0, n)))
    .map(([baseKeys, ...steps]) => {
      const first = steps[0]
      const needsBase = !(typeof first === 'string' || first instanceof As || first instanceof Resolve)
      return needsBase ? [mk(undefined, baseKeys), ...steps] : steps
    })
  it('renderPath then parsePath gives the list back', () => {
    fc.assert(fc.property(messages, (items) => {
      let rendered: Message
      try { rendered = renderPath(items) } catch (e) {
        // A {as, …} segment that happens to be 32, 42 or 43 bytes long would read back as an ID.
        if (e instanceof InvalidPath && /bytes cannot be rendered/.test(e.message)) return true
        throw e
      }
      expect(show(parsePath(rendered))).toBe(show(items))
      return true
    }), { numRuns: 1500 })
  })
})
