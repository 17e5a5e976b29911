/** The resolver (spec §1.4–1.9): device and key selection, hashpaths, statuses, caching, recursion. */
import { describe, it, expect } from 'vitest'
import { createContext, resolve, resolvePath, getKey, setKeys, removeKey, keysOf } from '../../src/core/ao.ts'
import { DeviceRegistry, PRELOADED } from '../../src/devices/index.ts'
import { MemoryStore } from '../../src/store/memory.ts'
import { forceMessage, httpStatus } from '../../src/core/resolver.ts'
import { ok, type Device } from '../../src/core/device.ts'
import { message, emptyMessage, isMessage, type Message } from '../../src/core/value.ts'
import { Resolve, As } from '../../src/core/typed-json.ts'
import { messageId } from '../../src/core/id.ts'
import { nodeFixtures } from './node-fixtures.ts'
import { fromJson } from '../../src/core/typed-json.ts'

const oracle = await nodeFixtures.json('hyperbeam-data/vectors/oracle-vectors.json')
const hpCase = (name: string) => oracle.categories.hashpath.cases.find((c: any) => c.name === name)

/** A device that calls back into the resolver with the same base and request. */
const loopDevice: Device = {
  name: 'loop@1.0',
  keys: { again: (base, req, ctx) => ctx.resolve(base, req) },
}
/** Exercises info(): exports, excludes, handler and default. */
const infoDevice: Device = {
  name: 'Info-Test@1.0',
  info: () => ({ exports: ['shown', 'fallback', 'hidden'], excludes: ['hidden'], default: (key) => ok(`default:${key}`) }),
  keys: { shown: () => ok('shown'), not_exported: () => ok('never') },
}
const handlerDevice: Device = {
  name: 'handler@1.0',
  info: () => ({ handler: (key, _b, req) => ok(message({ key, seen: req['x'] ?? 'none' })) }),
  keys: {},
}
const subDevice: Device = {
  name: 'sub@1.0',
  keys: { list: () => ok(new Resolve([message({ a: message({ b: 'deep' }) }), 'a', 'b'])) },
}

function ctxWith(...extra: Device[]) {
  return createContext({ devices: new DeviceRegistry([...PRELOADED, loopDevice, infoDevice, handlerDevice, subDevice]), store: new MemoryStore() })
}

describe('resolve', () => {
  it('a step on a map result sets priv.hashpath to HyperBEAM\'s hashpath (vector nested-base)', async () => {
    const c = hpCase('nested-base')
    const base = fromJson(c.base) as Message
    const o = await resolve(base, c.steps[0].request.path, ctxWith())
    expect(o.status).toBe('ok')
    expect(((o.value as Message)['priv'] as Message)['hashpath']).toBe(c.steps[0].hashpath)
  })

  it('a multi-part request path runs its parts in turn, repeating the other keys', async () => {
    const base = message({ a: message({ b: message({ c: 'leaf' }) }) })
    const o = await resolve(base, message({ path: 'a/b/c' }), ctxWith())
    expect(o).toEqual({ status: 'ok', value: 'leaf' })
  })

  it('HyperPATHs: ~device, &k=v, typed keys and sub-resolutions', async () => {
    const ctx = ctxWith()
    expect((await resolvePath('/~message@1.0&hello=world/hello', ctx)).value).toBe('world')
    expect((await resolvePath('/~message@1.0&n+integer=5/n', ctx)).value).toBe(5n)
    expect((await resolvePath('/~message@1.0&a=1&b=2/keys', ctx)).value).toEqual(['a', 'b', 'device'])
  })

  it('unknown key: not_found (404); private key: not_found; unknown device: UnknownDevice (404)', async () => {
    const ctx = ctxWith()
    const missing = await resolvePath('/~message@1.0&a=1/nope', ctx)
    expect(missing.status).toBe('not_found')
    expect(httpStatus(missing)).toBe(404)
    const priv = await resolve(message({ privacy: 'secret', a: '1' }), 'privacy', ctx)
    expect(priv.status).toBe('not_found')
    await expect(resolvePath('/~nope@9.9/x', ctx)).rejects.toMatchObject({ name: 'UnknownDevice', status: 404 })
  })

  it('infinite recursion is 508', async () => {
    await expect(resolve(message({ device: 'loop@1.0' }), 'again', ctxWith())).rejects.toMatchObject({ name: 'InfiniteRecursion', status: 508 })
  })

  it('info: exports, excludes, default and the fallback to message@1.0; device names are case-insensitive', async () => {
    const ctx = ctxWith()
    const base = message({ device: 'info-test@1.0', own: 'mine' })
    expect((await resolve(base, 'shown', ctx)).value).toBe('shown')
    expect((await resolve(base, 'fallback', ctx)).value).toBe('default:fallback')
    // Not exported: falls back to message@1.0, a plain lookup.
    expect((await resolve(base, 'own', ctx)).value).toBe('mine')
    expect((await resolve(base, 'not-exported', ctx)).status).toBe('not_found')
    expect((await resolve(base, 'hidden', ctx)).status).toBe('not_found')
  })

  it('handler receives the key and the request', async () => {
    const o = await resolve(message({ device: 'handler@1.0' }), message({ path: 'Any-Key', x: 'y' }), ctxWith())
    expect(o.value).toMatchObject({ key: 'Any-Key', seen: 'y' })
  })

  it('a {resolve, …} result is resolved in turn', async () => {
    expect((await resolve(message({ device: 'sub@1.0' }), 'list', ctxWith())).value).toBe('deep')
  })

  it('bases by ID from the store; a missing ID is 404', async () => {
    const ctx = ctxWith()
    const stored = message({ k: 'stored value' })
    const id = messageId(stored)
    await ctx.store!.write(id, stored)
    expect((await resolvePath(`/${id}/k`, ctx)).value).toBe('stored value')
    await expect(resolvePath('/UfSqKA58Hwk99Jg5fsYGY4iKDfnnUAW9MQdMv2-Fw40/k', ctx)).rejects.toMatchObject({ name: 'MessageNotFound', status: 404 })
  })

  it('{as, device, msg}: an empty path sets the device; an ID loads and re-types the message', async () => {
    const ctx = ctxWith()
    const stored = message({ shown: 'from store' })
    const id = messageId(stored)
    await ctx.store!.write(id, stored)
    const o = await resolve(new As('info-test@1.0', message({ path: id })), 'fallback', ctx)
    expect(o.value).toBe('default:fallback')
  })

  it('cache-control: store, then only-if-cached hits; a miss is 504', async () => {
    const store = new MemoryStore()
    const devices = new DeviceRegistry(PRELOADED)
    const storing = createContext({ devices, store, cacheControl: ['always'] })
    const base = message({ m: message({ x: '1' }) })
    const first = await resolve(base, 'm', storing)
    const onlyCached = createContext({ devices, store, cacheControl: ['only-if-cached'] })
    const hit = await resolve(base, 'm', onlyCached)
    expect(hit.value).toEqual(first.value)
    await expect(resolve(message({ other: message({}) }), 'other', onlyCached)).rejects.toMatchObject({ name: 'NotCached', status: 504 })
  })

  it('force_message and HTTP statuses', () => {
    expect(forceMessage('x')).toEqual(message({ 'ao-result': 'body', body: 'x' }))
    expect(forceMessage(message({ status: 404n, body: 'b' }))).toEqual(message({ status: 404n, body: 'b', 'ao-result': 'body' }))
    expect(forceMessage(['a'])).toEqual(message({ 1: 'a' }))
    expect(httpStatus({ status: 'ok', value: message({ status: 201n }) })).toBe(201)
    expect(httpStatus({ status: 'error', value: 'x' })).toBe(400)
    expect(httpStatus({ status: 'created', value: 'x' })).toBe(201)
    expect(httpStatus({ status: 'failure', value: 'x' })).toBe(500)
    expect(httpStatus({ status: 'unavailable', value: 'x' })).toBe(503)
  })
})

describe('get / set / remove / keys helpers go through the message\'s device', () => {
  it('round trip', async () => {
    const ctx = ctxWith()
    let m = message({ a: '1', nested: message({ x: '1' }) })
    expect(await getKey(m, 'A', ctx)).toBe('1')
    expect(await getKey(m, 'missing', ctx, 'dflt')).toBe('dflt')
    m = await setKeys(m, message({ b: '2', 'nested/y': '2', path: 'p' }), ctx)
    expect(m['b']).toBe('2')
    expect(m['nested']).toEqual(message({ x: '1', y: '2' }))
    expect(m['path']).toBe('p')
    m = await removeKey(m, 'b', ctx)
    expect(await keysOf(m, ctx)).toEqual(['a', 'nested', 'path'])
    expect(isMessage(m)).toBe(true)
    expect(emptyMessage()).toEqual({})
  })
})

describe('sub-resolutions in request position', () => {
  it('a text result names the key to resolve (as HyperBEAM: {path: V})', async () => {
    const ctx = createContext({ devices: new DeviceRegistry(PRELOADED) })
    // The sub-path gives "k"; the step then reads key k of the base.
    const o = await resolvePath('/~message@1.0&k=found/(~message@1.0&x=k/x)', ctx)
    expect(o.value).toBe('found')
  })
})

describe('{as} in request position', () => {
  it('the previous result takes the device, then the inner request runs on it (hb_ao:subresolve)', async () => {
    const ctx = createContext({ devices: new DeviceRegistry([...PRELOADED, infoDevice]) })
    expect((await resolvePath('/~message@1.0&own=1/fallback~info-test@1.0', ctx)).value).toBe('default:fallback')
    const set = await resolvePath('/~message@1.0&own=1/~info-test@1.0&extra=2', ctx)
    expect(set.value).toMatchObject({ device: 'info-test@1.0', own: '1', extra: '2' })
  })
})
