/** name@1.0: HyperBEAM's dev_name tests (resolver order, load), with local-name@1.0 as a resolver. */
import { describe, it, expect } from 'vitest'
import { isMessage, message, type Message } from '../../../src/core/value.ts'
import { notFound, ok, type Device } from '../../../src/core/device.ts'
import { directGet } from '../../../src/core/resolver.ts'
import { resolveMany } from '../../../src/core/ao.ts'
import { cacheWrite } from '../../../src/devices/cache.ts'
import { context, pathValue, pub, run, value } from './helpers.ts'

/** A resolver device: `lookup` answers the base's `names/<key>` (message_lookup_device_resolver). */
const dictResolver: Device = {
  name: 'dict-resolver@1.0',
  keys: {
    lookup: (base, req) => {
      const key = directGet(req, 'key')
      const names = base['names']
      const v = typeof key === 'string' && isMessage(names) ? directGet(names, key) : undefined
      return v === undefined ? notFound('not here') : ok(v)
    },
  },
}
const resolver = (names: Record<string, string>): Message => message({ device: 'dict-resolver@1.0', names: message(names) })
const withResolvers = (...rs: Message[]) => context({ extra: [dictResolver], node: message({ name_resolvers: rs }) })
const name = message({ device: 'name@1.0' })

describe('name@1.0', () => {
  it('no resolvers → not_found (no_resolvers_test)', async () => {
    expect((await run(name, message({ path: 'hello', load: false }), context())).status).toBe('not_found')
  })

  it('one resolver (single_resolver_test); the first of several that knows the name wins (multiple_resolvers_test)', async () => {
    expect(await value(name, message({ path: 'hello', load: false }), withResolvers(resolver({ hello: 'world' })))).toBe('world')
    const ctx = withResolvers(resolver({ irrelevant: 'world' }), resolver({ hello: 'bigger-world' }), resolver({ hello: 'too-late' }))
    expect(await value(name, message({ path: 'hello', load: false }), ctx)).toBe('bigger-world')
    expect(await pathValue('/~name@1.0/hello&load=false', ctx)).toBe('bigger-world')
  })

  it('load (the default) reads the answer from the store, and the path continues on it (load_and_execute_test)', async () => {
    const ctx = withResolvers()
    const id = await cacheWrite(ctx.store!, message({ deep: 'PING' }))
    const resolvers = [resolver({ irrelevant: id }), resolver({ 'test-key': id })]
    ctx.node['name_resolvers'] = resolvers
    expect(await resolveMany([name, message({ path: 'test-key' }), message({ path: 'deep' })], ctx)).toMatchObject({ status: 'ok', value: 'PING' })
    expect(await pathValue('/~name@1.0/test-key/deep', ctx)).toBe('PING')
    // A pointer to nothing in the store: not_found.
    ctx.node['name_resolvers'] = [resolver({ dangling: 'Q53TsRwUt9odC2c2Mv0lnGrRX46FfpWHagpceiGpYB4' })]
    expect((await run(name, 'dangling', ctx)).status).toBe('not_found')
    expect(await value(name, message({ path: 'dangling', load: 'false' }), ctx)).toBe('Q53TsRwUt9odC2c2Mv0lnGrRX46FfpWHagpceiGpYB4')
  })

  it('local-name@1.0 as a resolver; a resolver stored by ID; a numbered resolver list', async () => {
    const ctx = context({ node: message({ local_names: message({ home: 'sweet home' }) }) })
    ctx.node['name_resolvers'] = [message({ device: 'local-name@1.0' })]
    expect(await value(name, message({ path: 'home', load: false }), ctx)).toBe('sweet home')
    const stored = await cacheWrite(ctx.store!, message({ device: 'local-name@1.0' }))
    ctx.node['name_resolvers'] = message({ 1: stored })
    expect(await pathValue('/~name@1.0/home&load=false', ctx)).toBe('sweet home')
  })

  it('errors and excluded keys: unknown names not_found; keys and set are message@1.0\'s on the base', async () => {
    const ctx = withResolvers(resolver({ a: 'b' }))
    expect((await run(name, message({ path: 'unknown', load: false }), ctx)).status).toBe('not_found')
    expect((await run(name, 'priv', ctx)).status).toBe('not_found')
    expect(await value(message({ device: 'name@1.0', x: '1' }), 'keys', ctx)).toEqual(['device', 'x'])
    expect(pub(await value(name, message({ path: 'set', y: '2' }), ctx))).toEqual(message({ device: 'name@1.0', y: '2' }))
  })
})
