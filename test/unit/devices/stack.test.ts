/** stack@1.0 (Fold, Map, passes, prefixes, transform, stack-keys), multipass@1.0, dedup@1.0 — after HyperBEAM's dev_stack/dev_multipass/dev_dedup tests. */
import { describe, it, expect } from 'vitest'
import { context, run, show } from './helpers.ts'
import { stackDevice, transform } from '../../../src/devices/stack.ts'
import { multipassDevice } from '../../../src/devices/multipass.ts'
import { dedupDevice } from '../../../src/devices/dedup.ts'
import { message, type Message } from '../../../src/core/value.ts'
import { ok, error, type Device } from '../../../src/core/device.ts'
import { messageId } from '../../../src/core/id.ts'

/** HyperBEAM's generate_append_device: appends `bin` to `result`; stops after 3 passes. */
const append = (name: string, sep: string, status: 'ok' | 'skip' | 'pass' = 'ok'): Device => ({
  name,
  keys: {
    append: (base, req) => {
      if (base['pass'] === 3n) return ok(base)
      return { status, value: message({ ...base, result: `${base['result']}${sep}${req['bin']}` }) }
    },
  },
})
const prefixes: Device = {
  name: 'prefixes@1.0',
  keys: { compute: (base) => ok(message({ ...base, [`seen-${base['input-prefix'] ?? 'none'}-${base['output-prefix'] ?? 'none'}`]: base['device-key']! })) },
}
const failing: Device = { name: 'failing@1.0', keys: { append: () => error('nope') } }
const raw: Device = { name: 'raw@1.0', keys: { append: () => ok('just text') } }

const extra = [stackDevice, multipassDevice, dedupDevice, append('a1@1.0', '_'), append('a2@1.0', '+'), append('skip@1.0', '!', 'skip'), append('pass@1.0', '/', 'pass'), prefixes, failing, raw]
const ctx = () => context({ extra })

const stack = (devices: string[], more: Record<string, any> = {}): Message =>
  message({ device: 'stack@1.0', 'device-stack': devices, result: 'INIT', ...more })

describe('stack@1.0', () => {
  it('Fold: each device in turn, then the original device back', async () => {
    const o = await run(stack(['a1@1.0', 'a2@1.0']), message({ path: 'append', bin: '2' }), ctx())
    expect(o.status, show(o.value)).toBe('ok')
    const v = o.value as Message
    expect(v['result']).toBe('INIT_2+2')
    expect(v['device']).toBe('stack@1.0')
    expect(v['device-key']).toBeUndefined()
    expect(v['pass']).toBeUndefined()
  })

  it('a device-stack given as a numbered message; not_found skips a device', async () => {
    const o = await run(message({ device: 'stack@1.0', 'device-stack': message({ 1: 'a1@1.0', 2: 'message@1.0', 3: 'a2@1.0' }), result: 'X' }), message({ path: 'append', bin: 'y' }), ctx())
    expect((o.value as Message)['result']).toBe('X_y+y')
  })

  it('skip stops the pass; pass restarts from device 1 with pass + 1', async () => {
    const s = await run(stack(['skip@1.0', 'a1@1.0']), message({ path: 'append', bin: 'z' }), ctx())
    expect((s.value as Message)['result']).toBe('INIT!z')
    // pass@1.0 asks for another pass until pass 3, when it (and a1) leave the message alone.
    const p = await run(stack(['a1@1.0', 'pass@1.0']), message({ path: 'append', bin: 'q' }), ctx())
    expect((p.value as Message)['result']).toBe('INIT_q/q_q/q')
  })

  it('multipass@1.0 repeats the stack until pass = passes', async () => {
    const o = await run(stack(['a1@1.0', 'multipass@1.0'], { passes: 3n }), message({ path: 'append', bin: 'm' }), ctx())
    expect((o.value as Message)['result']).toBe('INIT_m_m')
    const c = context({ extra })
    expect((await run(message({ device: 'multipass@1.0', passes: 2n, pass: 1n }), 'compute', c)).status).toBe('pass')
    expect((await run(message({ device: 'multipass@1.0', passes: 2n, pass: 2n }), 'compute', c)).status).toBe('ok')
    expect((await run(message({ device: 'multipass@1.0' }), 'compute', c)).status).toBe('ok')
    expect((await run(message({ device: 'multipass@1.0', x: '1' }), 'keys', c)).value).toEqual(['device', 'x'])
  })

  it('Map: each device on the message independently, collected by stack key', async () => {
    const o = await run(stack(['a1@1.0', 'a2@1.0'], { mode: 'Map' }), message({ path: 'append', bin: '1' }), ctx())
    const v = o.value as Message
    expect((v['1'] as Message)['result']).toBe('INIT_1')
    expect((v['2'] as Message)['result']).toBe('INIT+1')
    const viaReq = await run(stack(['a1@1.0']), message({ path: 'append', bin: '1', mode: 'Map' }), ctx())
    expect(((viaReq.value as Message)['1'] as Message)['result']).toBe('INIT_1')
    const bad = await run(stack(['a1@1.0'], { mode: 'fold' }), message({ path: 'append', bin: '1' }), ctx())
    expect(bad.status).toBe('error')
  })

  it('prefixes per device; the previous ones come back afterwards', async () => {
    const o = await run(stack(['prefixes@1.0', 'prefixes@1.0'], {
      'input-prefix': 'in', 'output-prefix': 'out',
      'input-prefixes': ['i1', 'i2'], 'output-prefixes': ['o1', 'o2'],
    }), 'compute', ctx())
    const v = o.value as Message
    expect(v['seen-i1-o1']).toBe(1n)
    expect(v['seen-i2-o2']).toBe(2n)
    expect(v['previous-device']).toBe('prefixes@1.0')
    const t = transform(stack(['a1@1.0', 'a2@1.0'], { 'input-prefix': 'p' }), '2')!
    expect(t['device']).toBe('a2@1.0')
    expect(t['device-key']).toBe(2n)
    expect(t['previous-device']).toBe('stack@1.0')
    expect(t['previous-input-prefix']).toBe('p')
    expect(transform(stack(['a1@1.0']), '2')).toBeUndefined()
  })

  it('transform/<n>/<key> runs one device of the stack', async () => {
    const c = ctx()
    const o = await run(stack(['a1@1.0', 'a2@1.0']), message({ path: 'transform/2/append', bin: 'x' }), c)
    expect(o.status, show(o.value)).toBe('ok')
    expect((o.value as Message)['result']).toBe('INIT+x')
    expect((await run(stack(['a1@1.0']), message({ path: 'transform/5/append', bin: 'x' }), c)).status).toBe('error')
    expect((await run(message({ device: 'stack@1.0' }), 'transform', c)).status).toBe('error')
  })

  it('stack-keys limits the keys; set and keys are message@1.0s', async () => {
    const c = ctx()
    const s = stack(['a1@1.0'], { 'stack-keys': ['append'] })
    expect((await run(s, message({ path: 'append', bin: 'k' }), c)).value).toMatchObject({ result: 'INIT_k' })
    expect((await run(s, 'result', c)).value).toBe('INIT')
    const set = await run(stack(['a1@1.0']), message({ path: 'set', extra: 'v' }), c)
    expect((set.value as Message)['extra']).toBe('v')
  })

  it('errors: the failing device is named; a non-message ok answer is returned as is', async () => {
    const e = await run(stack(['a1@1.0', 'failing@1.0']), message({ path: 'append', bin: '1' }), ctx())
    expect(e.status).toBe('error')
    expect((e.value as Message)['stack-device']).toBe(2n)
    const r = await run(stack(['raw@1.0', 'a1@1.0']), message({ path: 'append', bin: '1' }), ctx())
    expect(r).toMatchObject({ status: 'ok', value: 'just text' })
  })
})

describe('dedup@1.0', () => {
  it('runs a stack once per subject (HyperBEAM dedup_test)', async () => {
    const c = ctx()
    const base = stack(['dedup@1.0', 'a1@1.0', 'a2@1.0'], { 'dedup-subject': 'request' })
    const r1 = (await run(base, message({ path: 'append', bin: 'a' }), c)).value as Message
    expect(r1['result']).toBe('INIT_a+a')
    const r2 = (await run(r1, message({ path: 'append', bin: 'b' }), c)).value as Message
    expect(r2['result']).toBe('INIT_a+a_b+b')
    const r3 = (await run(r2, message({ path: 'append', bin: 'a' }), c)).value as Message
    expect(r3['result']).toBe('INIT_a+a_b+b')
    expect((r3['dedup'] as string[]).length).toBe(2)
  })

  it('subject defaults to body; later passes and missing subjects pass through', async () => {
    const c = ctx()
    const d = message({ device: 'dedup@1.0' })
    const body = message({ x: '1' })
    const first = await run(d, message({ path: 'compute', body }), c)
    expect(first.status).toBe('ok')
    expect((first.value as Message)['dedup']).toEqual([messageId(body, 'signed')])
    expect((await run(first.value as Message, message({ path: 'compute', body }), c)).status).toBe('skip')
    expect(((await run(d, message({ path: 'compute' }), c)).value as Message)['dedup']).toBeUndefined()
    const second = message({ ...(first.value as Message), pass: 2n })
    expect((await run(second, message({ path: 'compute', body }), c)).status).toBe('ok')
    // A named subject key, read from the request.
    const named = await run(message({ device: 'dedup@1.0', 'dedup-subject': 'item' }), message({ path: 'compute', item: 'text' }), c)
    expect(((named.value as Message)['dedup'] as string[]).length).toBe(1)
    expect((await run(d, 'keys', c)).value).toEqual(['device'])
  })
})
