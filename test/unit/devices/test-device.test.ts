/** test-device@1.0: HyperBEAM's dev_test keys and tests, through HyperPATHs and the resolver. */
import { describe, it, expect } from 'vitest'
import { message, type Message } from '../../../src/core/value.ts'
import { setKeys } from '../../../src/core/ao.ts'
import { context, pathValue, pub, run, thrown, value } from './helpers.ts'

const DEV = 'test-device@1.0'

describe('test-device@1.0', () => {
  it('test_func (device_with_function_key_module_test), case-insensitive device name', async () => {
    const ctx = context()
    expect(await value(message({ device: 'Test-Device@1.0' }), 'test_func', ctx)).toBe('GOOD_FUNCTION')
    expect(await pathValue('/~test-device@1.0/test_func', ctx)).toBe('GOOD_FUNCTION')
  })

  it('info: status 200 and the description of the paths', async () => {
    const info = pub(await pathValue('/~test-device@1.0/info', context()))
    expect(info['status']).toBe(200n)
    const body = info['body'] as Message
    expect(body['description']).toBe('Test device for testing the AO-Core framework')
    expect(body['version']).toBe('1.0')
    expect(Object.keys(body['paths'] as Message)).toContain('test_func')
  })

  it('index: "i like <name>!" with the base\'s name, default turtles', async () => {
    const ctx = context()
    expect(pub(await pathValue('/~test-device@1.0/index', ctx))).toEqual(message({ 'content-type': 'text/html', body: 'i like turtles!' }))
    expect(pub(await pathValue('/~test-device@1.0&name=bob/index', ctx))['body']).toBe('i like bob!')
  })

  it('init then compute twice (compute_test)', async () => {
    const ctx = context()
    const msg1 = await value(message({ device: 'Test-Device@1.0' }), 'init', ctx) as Message
    expect(msg1['already-seen']).toEqual([])
    const req1 = await setKeys(message({ path: 'compute' }), message({ slot: 1n, 'body/number': 1337n }), ctx)
    const msg3 = await value(msg1, req1, ctx) as Message
    expect((msg3['results'] as Message)['assignment-slot']).toBe(1n)
    const req2 = await setKeys(message({ path: 'compute' }), message({ slot: 2n, 'body/number': 9001n }), ctx)
    const msg5 = await value(msg3, req2, ctx) as Message
    expect((msg5['results'] as Message)['assignment-slot']).toBe(2n)
    expect(msg5['already-seen']).toEqual([2n, 1n])
    expect(msg5['random-key']).toBe('random-value')
    // The same as a HyperPATH.
    const viaPath = pub(await pathValue('/~test-device@1.0/init/compute&slot+integer=1/compute&slot+integer=2', ctx))
    expect(viaPath['already-seen']).toEqual([2n, 1n])
  })

  it('restore: already-seen copied to priv/test-key/started-state (restore_test); none → error', async () => {
    const ctx = context()
    const out = await value(message({ device: 'Test-Device@1.0', 'already-seen': [1n] }), 'restore', ctx) as Message
    expect(((out['priv'] as Message)['test-key'] as Message)['started-state']).toEqual([1n])
    const none = await run(message({ device: DEV }), 'restore', ctx)
    expect(none).toEqual({ status: 'error', value: 'No viable state to restore.' })
  })

  it('mul, snapshot, load', async () => {
    const ctx = context()
    expect(pub(await value(message({ device: DEV, state: 's' }), message({ path: 'mul', args: [6n, 7n] }), ctx))).toEqual(message({ state: 's', results: [42n] }))
    expect(pub(await pathValue('/~test-device@1.0/mul&args+list=3,4', ctx))).toEqual(message({ results: [12n] }))
    expect(pub(await pathValue('/~test-device@1.0/snapshot', ctx))).toEqual(message({}))
    expect(pub(await value(message({ device: 'Test-Device@1.0', a: '1' }), 'load', ctx))).toEqual(message({ device: DEV, a: '1' }))
    expect(pub(await pathValue('/~test-device@1.0&a=1/load', ctx))).toEqual(message({ device: DEV, a: '1' }))
  })

  it('postprocess returns the body and marks the node message; delay waits then returns', async () => {
    const ctx = context()
    expect(await value(message({ device: DEV }), message({ path: 'postprocess', body: 'the body' }), ctx)).toBe('the body')
    expect(ctx.node['postprocessor-called']).toBe(true)
    const t0 = Date.now()
    expect(pub(await value(message({ device: DEV, duration: 20n }), 'delay', ctx))).toEqual(message({ result: 'slept' }))
    expect(Date.now() - t0).toBeGreaterThanOrEqual(15)
    expect(await value(message({ device: DEV, duration: 0n, return: 'R' }), 'delay', ctx)).toBe('R')
    expect(await value(message({ device: DEV }), message({ path: 'delay', duration: '1', body: 'B' }), ctx)).toBe('B')
  })

  it('errors: unknown and private keys are message@1.0\'s not_found; update_state is not implemented; bad input is 400', async () => {
    const ctx = context()
    expect((await run(message({ device: DEV }), 'nope', ctx)).status).toBe('not_found')
    expect((await run(message({ device: DEV, priv: message({ a: '1' }) }), 'priv', ctx)).status).toBe('not_found')
    expect((await run(message({ device: DEV }), 'update_state', ctx)).status).toBe('not_found')
    expect((await run(message({ device: DEV }), 'increment_counter', ctx)).status).toBe('not_found')
    expect((await run(message({ device: DEV }), 'compute', ctx)).status).toBe('error')
    expect(await thrown(run(message({ device: DEV }), message({ path: 'mul', args: [1n] }), ctx))).toMatchObject({ name: 'BadInput', status: 400 })
    expect(await thrown(run(message({ device: DEV }), message({ path: 'mul', args: ['a', 'b'] }), ctx))).toMatchObject({ status: 400 })
    expect(await thrown(run(message({ device: DEV }), 'postprocess', ctx))).toMatchObject({ status: 400 })
    expect(await thrown(run(message({ device: DEV, duration: 'soon' }), 'delay', ctx))).toMatchObject({ status: 400 })
  })
})
