/**
 * Processes over HyperBEAM's HTTP API: spawn a process by POSTing its signed
 * message to `/~scheduler@1.0/schedule` (as HyperBEAM's http_post_schedule does),
 * schedule messages, read `/<pid>~process@1.0/compute&slot+integer=N`, the
 * schedule (`/~scheduler@1.0/schedule?target=<pid>`, application/http and
 * application/aos-2) and the slot; then a second node computes the same process
 * from the first node's schedule, fetched over HTTP, and agrees on every result.
 */
import { describe, it, expect, beforeAll } from 'vitest'
import { createNode, type AoNode } from '../../src/node/node.ts'
import { flushResults } from '../../src/devices/process.ts'
import { loadJwk, type Wallet } from '../../src/crypto/wallet.ts'
import { nodeFixtures } from './node-fixtures.ts'
import { DeviceRegistry, PRELOADED } from '../../src/devices/index.ts'
import { isMessage, message, type Message, type Value } from '../../src/core/value.ts'
import { commitMessage } from '../../src/codecs/commitments.ts'
import { messageId } from '../../src/core/id.ts'
import { messageToHttpParts, responseToMessage } from '../../src/devices/relay.ts'
import { ok, type Device } from '../../src/core/device.ts'
import { MemoryStore } from '../../src/store/memory.ts'
import { toTabm } from '../../src/codecs/structured.ts'
import { tabmToItem } from '../../src/codecs/ans104/convert.ts'
import { serializeItem } from '../../src/codecs/ans104/data-item.ts'

let operator: Wallet
let client: Wallet
let A: AoNode
let B: AoNode

/** A VM-free execution device: adds the `n` of each message to `sum`. */
const adder: Device = {
  name: 'adder@1.0',
  keys: {
    init: (base) => ok(message({ ...base, sum: 0n })),
    compute: (base, req) => {
      const body = req['body'] as Message
      const n = isMessage(body) && typeof body['n'] === 'bigint' ? body['n'] : 0n
      const sum = (base['sum'] as bigint) + n
      return ok(message({ ...base, sum, results: message({ output: `sum is ${sum}`, slot: req['slot']! }) }))
    },
    snapshot: (base) => ok(message({ sum: base['sum']! })),
    normalize: (base) => ok(message({ ...base, sum: (base['snapshot'] as Message)['sum']! })),
  },
}
const devices = () => new DeviceRegistry([...PRELOADED, adder])

beforeAll(async () => {
  operator = await loadJwk(await nodeFixtures.json('hyperbeam-data/test/key-1.json'))
  client = await loadJwk(await nodeFixtures.json('hyperbeam-data/test/key-2.json'))
  A = await createNode({ wallet: operator, devices: devices(), store: new MemoryStore() })
  B = await createNode({ wallet: client, devices: devices(), store: new MemoryStore() })
})

async function reply(node: AoNode, req: Request): Promise<{ status: number; msg: Message; text: string; headers: Headers }> {
  const r = await node.handle(req)
  const body = new Uint8Array(await r.arrayBuffer())
  const headers: Array<[string, string]> = []
  r.headers.forEach((v, k) => headers.push([k, v]))
  const ct = r.headers.get('content-type') ?? ''
  const msg = ct.startsWith('application/json') ? message({}) : responseToMessage(r.status, headers, body)
  return { status: r.status, msg, text: new TextDecoder().decode(body), headers: r.headers }
}

/** GET with nested messages inline (accept-bundle). */
const get = (node: AoNode, path: string, headers: Record<string, string> = {}) =>
  reply(node, new Request(`http://node${path}`, { headers: { 'accept-bundle': 'true', ...headers } }))

/**
 * POST a signed message to be scheduled: the message itself is the request (no
 * `body`: find_message_to_schedule takes the request), its signature verified by
 * the HTTP layer and again by the scheduler.
 */
function schedule(node: AoNode, msg: Message, path = '/~scheduler@1.0/schedule') {
  const { headers, body } = messageToHttpParts(msg, { bundle: true })
  return reply(node, new Request(`http://node${path}`, { method: 'POST', headers, body: body as Uint8Array<ArrayBuffer> | undefined }))
}

describe('processes over HTTP', () => {
  let proc: Message
  let pid: string

  it('spawns a process: POST /~scheduler@1.0/schedule with the signed process message gives slot 0', async () => {
    proc = await commitMessage(message({
      device: 'process@1.0', type: 'Process', 'data-protocol': 'ao', variant: 'ao.N.1',
      scheduler: A.address, 'execution-device': 'stack@1.0', 'device-stack': ['adder@1.0', 'test-device@1.0'],
    }), { wallet: client })
    pid = messageId(proc, 'signed')
    const r = await schedule(A, proc)
    expect(r.status, r.text).toBe(200)
    expect(r.msg['slot']).toBe(0n)
    expect(r.msg['process']).toBe(pid)
    expect(isMessage(await A.store.read(pid))).toBe(true)
  })

  it('schedules messages: slots 1..3, each answered with its signed assignment', async () => {
    for (let i = 1; i <= 3; i++) {
      const m = await commitMessage(message({ type: 'Message', target: pid, n: BigInt(i * 10) }), { wallet: client })
      const r = await schedule(A, m)
      expect(r.status, r.text).toBe(200)
      expect(r.msg['slot']).toBe(BigInt(i))
    }
    // Through the process itself: /<pid>~process@1.0/schedule.
    const m4 = await commitMessage(message({ type: 'Message', target: pid, n: 40n }), { wallet: client })
    const r4 = await schedule(A, m4, `/${pid}~process@1.0/schedule`)
    expect(r4.status, r4.text).toBe(200)
    expect(r4.msg['slot']).toBe(4n)
  })

  it('an unsigned or tampered message is refused with 400', async () => {
    const unsigned = await schedule(A, message({ target: pid, n: 1n }))
    expect(unsigned.status).toBe(400)
    const m = await commitMessage(message({ type: 'Message', target: pid, n: 1n }), { wallet: client })
    const tampered = await schedule(A, message({ ...m, n: 2n }))
    expect(tampered.status).toBe(400)
    // A signed request whose `body` is the message (HyperBEAM's form) is scheduled the same way in process.
    const inner = await commitMessage(message({ type: 'Message', target: pid, n: 0n }), { wallet: client })
    const viaBody = await A.resolve(message({ device: 'scheduler@1.0' }), message({ path: 'schedule', method: 'POST', body: inner }))
    expect(viaBody.status).toBe('ok')
    expect((viaBody.value as Message)['slot']).toBe(5n)
  })

  it('computes: /<pid>~process@1.0/compute&slot+integer=N', async () => {
    const r = await get(A, `/${pid}~process@1.0/compute&slot+integer=3`)
    expect(r.status, r.text).toBe(200)
    expect(r.msg["sum"]).toBe(60n)
    expect(r.msg['at-slot']).toBe(3n)
    expect(r.msg['already-seen']).toEqual([3n, 2n, 1n, 0n])
    const out = await get(A, `/${pid}~process@1.0/compute&slot+integer=4/results/output`)
    expect(out.status).toBe(200)
    expect(out.text).toBe('sum is 100')
    const slot1 = await get(A, `/${pid}~process@1.0/compute&slot+integer=1/sum`)
    expect(slot1.text).toBe('10')
  })

  it('reads the schedule (application/http and application/aos-2) and the slot', async () => {
    const s = await get(A, `/~scheduler@1.0/schedule?target=${pid}`)
    expect(s.status, s.text).toBe(200)
    expect(s.msg['type']).toBe('schedule')
    expect(Object.keys(s.msg['assignments'] as Message).sort()).toEqual(['0', '1', '2', '3', '4', '5'])
    const part = await get(A, `/~scheduler@1.0/schedule?target=${pid}&from+integer=1&to+integer=2`)
    expect(Object.keys(part.msg['assignments'] as Message).sort()).toEqual(['1', '2'])
    const aos = await get(A, `/~scheduler@1.0/schedule?target=${pid}&from+integer=2`, { accept: 'application/aos-2' })
    expect(aos.status).toBe(200)
    const page = JSON.parse(aos.text)
    expect(page.edges.map((e: any) => e.cursor)).toEqual([2, 3, 4, 5])
    expect(page.edges[0].node.message.Owner).toBe(client.address)
    const slot = await get(A, `/~scheduler@1.0/slot?target=${pid}`)
    expect(slot.msg['current']).toBe(5n)
    const viaProcess = await get(A, `/${pid}~process@1.0/slot`)
    expect(viaProcess.msg['current']).toBe(5n)
  })

  it('a second node computes the same process from the schedule fetched over HTTP: same result IDs and hashpaths', async () => {
    const s = await get(A, `/~scheduler@1.0/schedule?target=${pid}&accept-bundle=true`, { 'accept-bundle': 'true' })
    const assignments = s.msg['assignments'] as Message
    expect(Object.keys(assignments).length).toBe(6)
    await B.store.write(pid, proc)
    for (const slot of Object.keys(assignments)) {
      const a = assignments[slot] as Message
      const id = messageId(a, 'signed')
      await B.store.write(id, a)
      await B.store.link(`assignments/${pid}/${slot}`, id)
    }
    for (const slot of [0n, 2n, 5n]) {
      const ra = await A.resolvePath(`/${pid}~process@1.0/compute&slot+integer=${slot}`)
      const rb = await B.resolvePath(`/${pid}~process@1.0/compute&slot+integer=${slot}`)
      expect(rb.status).toBe('ok')
      const [va, vb] = [ra.value as Message, rb.value as Message]
      expect(messageId(vb)).toBe(messageId(va))
      expect(vb['sum']).toBe(va['sum'])
      const hp = (m: Message) => (m['priv'] as Message | undefined)?.['hashpath'] as Value
      expect(hp(vb)).toBe(hp(va))
      // The computation's own chain, as stored with each result.
      await Promise.all([flushResults(A.store), flushResults(B.store)])
      const chainOf = async (n: AoNode) => hp((await n.store.read(`computed/${pid}/slot/${slot}`)) as Message)
      expect(typeof await chainOf(A)).toBe('string')
      expect(await chainOf(B)).toBe(await chainOf(A))
      // The results layout: by slot and by result ID, on both nodes.
      for (const n of [A, B]) {
        const stored = (await n.store.read(`computed/${pid}/slot/${slot}`)) as Message
        expect(stored['sum']).toBe(va['sum'])
        expect(isMessage(await n.store.read(`computed/${pid}/${messageId(va)}`))).toBe(true)
      }
    }
    // B is not the scheduler: it refuses to schedule for the process.
    const m = await commitMessage(message({ type: 'Message', target: pid, n: 1n }), { wallet: client })
    const r = await schedule(B, m)
    expect(r.status).toBe(404)
  })

  it('the slot, the schedule and `now` move with new assignments (never served stale from the result cache)', async () => {
    const before = await get(A, `/~scheduler@1.0/slot?target=${pid}`)
    const current = before.msg['current'] as bigint
    const m = await commitMessage(message({ type: 'Message', target: pid, n: 1n }), { wallet: client })
    expect((await schedule(A, m)).status).toBe(200)
    expect((await get(A, `/~scheduler@1.0/slot?target=${pid}`)).msg['current']).toBe(current + 1n)
    expect((await get(A, `/${pid}~process@1.0/slot`)).msg['current']).toBe(current + 1n)
    const s = await get(A, `/~scheduler@1.0/schedule?target=${pid}`)
    expect(Object.keys(s.msg['assignments'] as Message)).toContain(String(current + 1n))
  })
})

describe('ANS-104 messages over HTTP', () => {
  it('a message signed as an ANS-104 data item (codec-device: ans104@1.0) is scheduled on /<pid>~process@1.0/schedule and computed', async () => {
    const proc = await commitMessage(message({ device: 'process@1.0', type: 'Process', scheduler: A.address, 'execution-device': 'adder@1.0', r: 'ans' }), { wallet: client })
    const pid = messageId(proc, 'signed')
    expect((await schedule(A, proc)).status).toBe(200)
    // The item's target is 32 raw bytes: the scheduler reads it as the process ID.
    const m = await commitMessage(message({ type: 'Message', target: pid, n: 7n, action: 'Noop' }), { wallet: client, device: 'ans104@1.0' })
    const item = serializeItem(tabmToItem(toTabm(m, { linkify: 'discard' })))
    const r = await reply(A, new Request(`http://node/${pid}~process@1.0/schedule`, {
      method: 'POST', headers: { 'codec-device': 'ans104@1.0', 'content-type': 'application/ans104' }, body: item as Uint8Array<ArrayBuffer>,
    }))
    expect(r.status, r.text).toBe(200)
    expect(r.msg['slot']).toBe(1n)
    expect(r.msg['process']).toBe(pid)
    const sum = await get(A, `/${pid}~process@1.0/compute&slot+integer=1/sum`)
    expect(sum.text).toBe('7')
  })
})
