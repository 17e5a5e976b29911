/** push@1.0: outbox messages delivered to local processes, recursively. */
import { describe, it, expect, beforeAll } from 'vitest'
import { context, wallets, run, show } from './helpers.ts'
import { isMessage, message, type Message, type Value } from '../../../src/core/value.ts'
import { commitMessage, verifyMessage } from '../../../src/codecs/commitments.ts'
import { messageId } from '../../../src/core/id.ts'
import { ok, type Device, type ResolveContext } from '../../../src/core/device.ts'
import { pushDevice } from '../../../src/devices/push.ts'
import type { Wallet } from '../../../src/crypto/wallet.ts'

let w1: Wallet
beforeAll(async () => { [w1] = await wallets() })

/**
 * A ping device: counts what it receives; a message with `forward-to` (a process ID)
 * and `hops` > 0 sends one on with `hops` − 1.
 */
const ping: Device = {
  name: 'ping@1.0',
  keys: {
    init: (base) => ok(message({ ...base, received: 0n })),
    compute: (base, req) => {
      const body = req['body'] as Message
      const received = (base['received'] as bigint) + (body['type'] === 'Process' ? 0n : 1n)
      const results: Message = message({ seen: received })
      const hops = typeof body['hops'] === 'bigint' ? body['hops'] : 0n
      const to = body['forward-to'] ?? body['reply-to']
      if (typeof to === 'string' && hops > 0n) {
        const items = [
          message({ target: to, hops: hops - 1n, 'forward-to': (body['back-to'] ?? to) as Value, 'back-to': to, ...(body['as-list'] === true ? { 'as-list': true } : {}) }),
          message({ note: 'no target' }),
        ]
        // A list, as dev_lua makes of a Lua outbox keyed 1..n; else a message keyed 1, 2.
        results['outbox'] = body['as-list'] === true ? items : message({ 1: items[0]!, 2: items[1]! })
      }
      return ok(message({ ...base, received, results }))
    },
  },
}

const ctxFor = (): ResolveContext => context({ wallet: w1, extra: [ping] })

async function spawn(ctx: ResolveContext, extra: Record<string, Value> = {}): Promise<{ proc: Message; pid: string }> {
  const proc = await commitMessage(message({
    device: 'process@1.0', type: 'Process', scheduler: w1.address, authority: w1.address,
    'execution-device': 'ping@1.0', seed: String(Math.random()), ...extra,
  }), { wallet: w1 })
  const o = await run(proc, message({ path: 'push', body: proc }), ctx)
  expect(o.status, show(o.value)).toBe('ok')
  expect((o.value as Message)['slot']).toBe(0n)
  return { proc, pid: messageId(proc, 'signed') }
}

describe('push@1.0', () => {
  it('is preloaded', () => {
    expect(context().devices.get('push@1.0')).toBe(pushDevice)
  })

  it('schedules a message, computes it and delivers its outbox to another local process, recursively', async () => {
    const ctx = ctxFor()
    const a = await spawn(ctx)
    const b = await spawn(ctx)
    const m = await commitMessage(message({ type: 'Message', target: a.pid, 'forward-to': b.pid, 'back-to': a.pid, hops: 3n }), { wallet: w1 })
    const o = await run(a.proc, message({ path: 'push', body: m }), ctx)
    expect(o.status, show(o.value)).toBe('ok')
    const r = o.value as Message
    expect(r['slot']).toBe(1n)
    expect(r['process']).toBe(a.pid)
    expect(r['seen']).toBe(1n)
    const first = r['1'] as Message
    expect(first['target']).toBe(b.pid)
    expect(first['slot']).toBe(1n)
    const down = first['resulted-in'] as Message
    expect(down['process']).toBe(b.pid)
    // b answered a (hops 1), a's answer went to b again with hops 0 and stopped there.
    const back = down['1'] as Message
    expect(back['target']).toBe(a.pid)
    expect(((back['resulted-in'] as Message)['1'] as Message)['target']).toBe(b.pid)
    expect((r['2'] as Message)['reason']).toBe('Target process not available.')
    // The pushed messages were signed by the node and carry their origin.
    const delivered = (await ctx.store!.read(`assignments/${b.pid}/1`)) as Message
    const body = delivered['body'] as Message
    expect(body['from-process']).toBe(a.pid)
    expect(body['type']).toBe('Message')
    expect(body['variant']).toBe('ao.N.1')
    expect((await verifyMessage(body)).committers).toEqual([w1.address])
    // The states of both processes.
    const sa = (await run(a.proc, message({ path: 'compute', slot: 2n }), ctx)).value as Message
    expect(sa['received']).toBe(2n)
    const sb = (await run(b.proc, message({ path: 'compute', slot: 2n }), ctx)).value as Message
    expect(sb['received']).toBe(2n)
  })

  it('an outbox that is a list is delivered by its 1-based keys, as one keyed 1..n', async () => {
    const ctx = ctxFor()
    const a = await spawn(ctx)
    const b = await spawn(ctx)
    const m = await commitMessage(message({ type: 'Message', target: a.pid, 'forward-to': b.pid, 'back-to': a.pid, hops: 1n, 'as-list': true }), { wallet: w1 })
    const r = (await run(a.proc, message({ path: 'push', body: m }), ctx)).value as Message
    expect((r['1'] as Message)['target']).toBe(b.pid)
    expect(((r['1'] as Message)['resulted-in'] as Message)['process']).toBe(b.pid)
    expect((r['2'] as Message)['reason']).toBe('Target process not available.')
  })

  it('with a slot: pushes that slot; result-depth 0 leaves the results out', async () => {
    const ctx = ctxFor()
    const a = await spawn(ctx)
    const m = await commitMessage(message({ type: 'Message', target: a.pid, x: '1' }), { wallet: w1 })
    await run(a.proc, message({ path: 'schedule', method: 'POST', body: m }), ctx)
    const o = (await run(a.proc, message({ path: 'push', slot: 1n }), ctx)).value as Message
    expect(o['seen']).toBe(1n)
    const shallow = (await run(a.proc, message({ path: 'push', slot: 1n, 'result-depth': 0n }), ctx)).value as Message
    expect(shallow['seen']).toBeUndefined()
    expect(shallow['slot']).toBe(1n)
  })

  it('an unknown target process is reported; async mode answers at once', async () => {
    const ctx = ctxFor()
    const a = await spawn(ctx)
    const m = await commitMessage(message({ type: 'Message', target: a.pid, 'forward-to': 'c'.repeat(43), hops: 1n }), { wallet: w1 })
    const o = (await run(a.proc, message({ path: 'push', body: m }), ctx)).value as Message
    expect((o['1'] as Message)['reason']).toBe('Could not access target process!')
    const m2 = await commitMessage(message({ type: 'Message', target: a.pid, y: '1' }), { wallet: w1 })
    const asy = (await run(a.proc, message({ path: 'push', body: m2, 'push-mode': 'async' }), ctx)).value as Message
    expect(asy['push-mode']).toBe('async')
    expect(asy['slot']).toBe(2n)
    // An unsigned message cannot be pushed.
    const bad = await run(a.proc, message({ path: 'push', body: message({ target: a.pid }) }), ctx)
    expect(bad.status).toBe('error')
    const noSlot = await run(message({ ...a.proc, device: 'push@1.0' }), message({ path: 'push', slot: 'x' }), ctx)
    expect(noSlot.status).toBe('error')
    expect(isMessage(await ctx.store!.read(a.pid))).toBe(true)
  })
})
