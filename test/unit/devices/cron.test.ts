/** cron@1.0: once, every, stop, info; interval parsing. */
import { describe, it, expect } from 'vitest'
import { context, run } from './helpers.ts'
import { cronDevice, parseTime } from '../../../src/devices/cron.ts'
import { message, type Message } from '../../../src/core/value.ts'
import { ok, type Device } from '../../../src/core/device.ts'

let ticks = 0
const tick: Device = { name: 'tick@1.0', keys: { tick: () => { ticks++; return ok(message({ ticks: BigInt(ticks) })) } } }
const CRON = message({ device: 'cron@1.0' })
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function until(f: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms
  while (!f()) {
    if (Date.now() > end) throw new Error('timed out')
    await sleep(5)
  }
}

describe('cron@1.0', () => {
  it('info describes the device', async () => {
    const o = await run(CRON, 'info', context())
    expect(((o.value as Message)['body'] as Message)['version']).toBe('1.0')
  })

  it('once runs the path through the node pipeline in the background', async () => {
    const ctx = context({ node: message({}) })
    const o = await run(CRON, message({ path: 'once', 'cron-path': '/~test-device@1.0/postprocess', body: 'hi' }), ctx)
    expect(o.status).toBe('ok')
    expect(typeof o.value).toBe('string')
    await until(() => ctx.node['postprocessor-called'] === true)
    expect((await run(CRON, message({ path: 'once' }), ctx)).status).toBe('error')
  })

  it('every repeats until stopped; stop of an unknown task is an error', async () => {
    // No store: the pipeline's result cache would answer every later tick with the first one.
    const ctx = context({ node: message({}), extra: [tick], store: undefined })
    const start = ticks
    const o = await run(CRON, message({ path: 'every', 'cron-path': '/~tick@1.0/tick', interval: '20-milliseconds' }), ctx)
    expect(o.status).toBe('ok')
    await until(() => ticks - start >= 3)
    const s = await run(CRON, message({ path: 'stop', task: o.value as string }), ctx)
    expect(((s.value as Message)['body'] as Message)['message']).toBe('Task stopped successfully')
    const after = ticks
    await sleep(80)
    expect(ticks - after).toBeLessThanOrEqual(1)
    expect((await run(CRON, message({ path: 'stop', task: o.value as string }), ctx)).status).toBe('error')
    expect((await run(CRON, message({ path: 'stop' }), ctx)).status).toBe('error')
  })

  it('every needs a path and a valid interval', async () => {
    const ctx = context()
    expect((await run(CRON, message({ path: 'every', interval: '1-second' }), ctx)).value).toBe('No cron path found in message.')
    expect((await run(CRON, message({ path: 'every', 'cron-path': '/x' }), ctx)).value).toBe('No interval found in message.')
    expect((await run(CRON, message({ path: 'every', 'cron-path': '/x', interval: '5-fortnights' }), ctx)).status).toBe('error')
    expect((await run(CRON, message({ path: 'every', 'cron-path': '/x', interval: '0-seconds' }), ctx)).value).toBe('Invalid interval value.')
    expect(parseTime('2-minutes')).toBe(120_000)
    expect(parseTime('1-day')).toBe(86_400_000)
    expect(parseTime('3-hours')).toBe(10_800_000)
    expect(parseTime('7-millisecond')).toBe(7)
    expect(parseTime('soon')).toBeUndefined()
    // Keys outside the exports are message@1.0's.
    expect((await run(message({ device: 'cron@1.0', k: 'v' }), 'k', ctx)).value).toBe('v')
  })
})
