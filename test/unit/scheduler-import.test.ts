/**
 * Importing assignments made by another node (src/devices/scheduler-import.ts):
 * node A schedules a process; node B imports A's whole schedule (in process, and
 * node C over HTTP, `POST /~scheduler@1.0/import`) and computes the same
 * results (IDs and hashpaths) as A. Every refusal has its typed error and
 * HTTP status, and leaves the importing store's schedule unchanged.
 */
import { describe, it, expect, beforeAll } from 'vitest'
import { createNode, type AoNode } from '../../src/node/node.ts'
import { DeviceRegistry, PRELOADED } from '../../src/devices/index.ts'
import { isMessage, Link, message, type Message, type Value } from '../../src/core/value.ts'
import { commitMessage } from '../../src/codecs/commitments.ts'
import { messageId } from '../../src/core/id.ts'
import { fromB64, toB64Url } from '../../src/core/bytes.ts'
import { ok, type Device } from '../../src/core/device.ts'
import { MemoryStore } from '../../src/store/memory.ts'
import { responseToMessage } from '../../src/devices/relay.ts'
import { toTabm } from '../../src/codecs/structured.ts'
import { tabmToJson } from '../../src/codecs/json.ts'
import { importAssignment } from '../../src/devices/scheduler-import.ts'
import { nextHashChain, storedSlots, ZERO_HASH } from '../../src/devices/scheduler.ts'
import type { Store } from '../../src/store/store.ts'
import type { Wallet } from '../../src/crypto/wallet.ts'
import { thrown, wallets } from './devices/helpers.ts'
import { flushResults } from '../../src/devices/process.ts'

/** A VM-free execution device: adds the `n` of each message to `sum`. */
const adder: Device = {
  name: 'adder@1.0',
  keys: {
    init: (base) => ok(message({ ...base, sum: 0n })),
    compute: (base, req) => {
      const body = req['body'] as Message
      const n = isMessage(body) && typeof body['n'] === 'bigint' ? body['n'] : 0n
      const sum = (base['sum'] as bigint) + n
      return ok(message({ ...base, sum, results: message({ output: `sum is ${sum}` }) }))
    },
    snapshot: (base) => ok(message({ sum: base['sum']! })),
    normalize: (base) => ok(message({ ...base, sum: (base['snapshot'] as Message)['sum']! })),
  },
}
const devices = () => new DeviceRegistry([...PRELOADED, adder])
const node = (wallet: Wallet): Promise<AoNode> => createNode({ wallet, devices: devices(), store: new MemoryStore() })

let w1: Wallet
let w2: Wallet
let A: AoNode
let proc: Message
let pid: string
/** A's schedule: slots 0..N. */
const assignments: Message[] = []
const N = 5

const SCHED = message({ device: 'scheduler@1.0' })
const post = (body: Message) => message({ path: 'schedule', method: 'POST', body })

/** An assignment as scheduler.ts makes them, with any key overridden, signed by `wallet`. */
async function forge(wallet: Wallet, slot: bigint, prevChain: Uint8Array, body: Message, extra: Record<string, Value> = {}): Promise<Message> {
  return commitMessage(message({
    path: 'compute', 'data-protocol': 'ao', variant: 'ao.N.1', process: pid, epoch: '0', slot,
    'block-height': 0n, 'block-hash': ZERO_HASH, 'block-timestamp': 0n, timestamp: 1n,
    'hash-chain': toB64Url(nextHashChain(prevChain, body)), body, ...extra,
  }), { wallet })
}

const chainOf = (a: Message): Uint8Array => fromB64(a['hash-chain'] as string)
const hashpath = (m: Message): Value | undefined => (m['priv'] as Message | undefined)?.['hashpath']

beforeAll(async () => {
  ;[w1, w2] = await wallets()
  A = await node(w1)
  proc = await commitMessage(message({
    device: 'process@1.0', type: 'Process', scheduler: w1.address, 'execution-device': 'adder@1.0', nonce: 'import-test',
  }), { wallet: w2 })
  pid = messageId(proc, 'signed')
  const a0 = await A.resolve(SCHED, post(proc))
  expect(a0.status).toBe('ok')
  assignments.push(a0.value as Message)
  for (let i = 1; i <= N; i++) {
    const m = await commitMessage(message({ type: 'Message', target: pid, n: BigInt(i * 7) }), { wallet: w2 })
    const o = await A.resolve(SCHED, post(m))
    expect(o.status).toBe('ok')
    assignments.push(o.value as Message)
  }
})

async function computeOn(n: AoNode, slot: number): Promise<Message> {
  const o = await n.resolvePath(`/${pid}~process@1.0/compute&slot+integer=${slot}`)
  expect(o.status).toBe('ok')
  return o.value as Message
}

async function expectSameResults(B: AoNode): Promise<void> {
  for (const slot of [0, 3, N]) {
    const [ra, rb] = [await computeOn(A, slot), await computeOn(B, slot)]
    expect(messageId(rb)).toBe(messageId(ra))
    expect(rb['sum']).toBe(ra['sum'])
    expect(hashpath(rb)).toBe(hashpath(ra))
    const stored = async (n: AoNode) => { await flushResults(n.store); return hashpath((await n.store.read(`computed/${pid}/slot/${slot}`)) as Message) }
    expect(await stored(B)).toBe(await stored(A))
  }
  expect((await computeOn(B, N))['sum']).toBe(BigInt(7 * (N * (N + 1)) / 2))
}

describe('importAssignment', () => {
  it("a second node imports A's whole schedule and computes the same results (IDs, hashpaths)", async () => {
    const B = await node(w2)
    for (const a of assignments) {
      const r = await importAssignment(B.store, proc, a)
      expect(r.imported).toBe(true)
      expect(r.id).toBe(messageId(a, 'signed'))
    }
    expect(await storedSlots(B.store, pid)).toEqual([0n, 1n, 2n, 3n, 4n, 5n])
    for (let i = 0; i <= N; i++) {
      const b = (await B.store.read(`assignments/${pid}/${i}`)) as Message
      expect(messageId(b, 'signed')).toBe(messageId(assignments[i]!, 'signed'))
    }
    // The process and the messages are stored by ID; the schedule is served by B too.
    expect(isMessage(await B.store.read(pid))).toBe(true)
    expect(isMessage(await B.store.read(messageId(assignments[2]!['body'] as Message, 'signed')))).toBe(true)
    await expectSameResults(B)
    // Re-importing the identical assignment is a no-op success.
    const again = await importAssignment(B.store, proc, assignments[3]!)
    expect(again).toEqual({ slot: 3n, id: messageId(assignments[3]!, 'signed'), imported: false })
    expect(await storedSlots(B.store, pid)).toEqual([0n, 1n, 2n, 3n, 4n, 5n])
  })

  it('over HTTP: POST /~scheduler@1.0/import with the assignment (and the process) in the body', async () => {
    const C = await node(w2)
    const send = async (keys: Record<string, Value>, to: AoNode = C) => {
      // A json@1.0 body: httpsig multipart parts lose the signatures of nested commitments (see scheduler-import.ts).
      const body = tabmToJson(toTabm(message(keys), { linkify: false }))
      const r = await to.handle(new Request('http://node/~scheduler@1.0/import', { method: 'POST', headers: { 'codec-device': 'json@1.0', 'content-type': 'application/json' }, body }))
      const bytes = new Uint8Array(await r.arrayBuffer())
      const hs: Array<[string, string]> = []
      r.headers.forEach((v, k) => hs.push([k, v]))
      return { status: r.status, msg: responseToMessage(r.status, hs, bytes), text: new TextDecoder().decode(bytes) }
    }
    // Slot 0 brings the process along; afterwards C has it stored.
    const first = await send({ assignment: assignments[0]!, process: proc })
    expect(first.status, first.text).toBe(200)
    expect(first.msg['slot']).toBe(0n)
    expect(first.msg['imported']).toBe(true)
    for (let i = 1; i <= N; i++) {
      // The message separately too, as gossip will send it.
      const r = await send({ assignment: assignments[i]!, message: assignments[i]!['body'] as Message })
      expect(r.status, r.text).toBe(200)
      expect(r.msg['slot']).toBe(BigInt(i))
      expect(r.msg['assignment']).toBe(messageId(assignments[i]!, 'signed'))
    }
    await expectSameResults(C)
    // Statuses of refusals on the wire.
    const taken = await send({ assignment: await forge(w1, 2n, chainOf(assignments[1]!), await commitMessage(message({ target: pid, n: 1n }), { wallet: w2 })) })
    expect(taken.status, taken.text).toBe(409)
    const stranger = await send({ assignment: await forge(w2, 6n, chainOf(assignments[5]!), await commitMessage(message({ target: pid, n: 1n }), { wallet: w2 })) })
    expect(stranger.status, stranger.text).toBe(403)
    const unknown = await send({ assignment: assignments[1]! }, await node(w2))
    expect(unknown.status, unknown.text).toBe(404)
    const gap = await send({ assignment: assignments[2]!, process: proc }, await node(w2))
    expect(gap.status, gap.text).toBe(409)
    expect(gap.text).toContain('AssignmentOutOfOrder')
  })

  describe('refusals (each typed, none changes the schedule)', () => {
    let B: AoNode
    let store: Store
    const refused = async (a: Message, m?: Message) => thrown(importAssignment(store, proc, a, m))
    beforeAll(async () => {
      B = await node(w2)
      store = B.store
      for (const a of assignments.slice(0, 2)) await importAssignment(store, proc, a)
    })

    it('out of order: a gap (slot 3 after 1), and anything but slot 0 on a fresh process (409)', async () => {
      expect(await refused(assignments[3]!)).toMatchObject({ name: 'AssignmentOutOfOrder', status: 409 })
      const fresh = new MemoryStore()
      expect(await thrown(importAssignment(fresh, proc, assignments[1]!))).toMatchObject({ name: 'AssignmentOutOfOrder', status: 409 })
      expect(await fresh.list(`assignments/${pid}`)).toEqual([])
    })

    it('unsigned (no commitment, or only an HMAC) and altered (a commitment that no longer verifies) (400)', async () => {
      const a2 = assignments[2]!
      const bare = message({ ...a2 })
      delete bare['commitments']
      expect(await refused(bare)).toMatchObject({ name: 'AssignmentUnsigned', status: 400 })
      expect(await refused(await commitMessage(bare))).toMatchObject({ name: 'AssignmentUnsigned', status: 400 })
      expect(await refused(message({ ...a2, 'block-height': 1n }))).toMatchObject({ name: 'AssignmentSignatureInvalid', status: 400 })
      // The body altered inside a validly signed assignment: the assignment commits to the body by its
      // (signed, commitment-based) ID, which does not change; the body's own signature catches it.
      const body = message({ ...(a2['body'] as Message), n: 1000n })
      expect(await refused(message({ ...a2, body }))).toMatchObject({ name: 'AssignedMessageInvalid', status: 400 })
    })

    it('not by a scheduler of the process (403), and for another process (400)', async () => {
      const m = a2Body()
      const byStranger = await forge(w2, 2n, chainOf(assignments[1]!), m)
      expect(await refused(byStranger)).toMatchObject({ name: 'AssignmentNotByScheduler', status: 403 })
      const elsewhere = await forge(w1, 2n, chainOf(assignments[1]!), m, { process: 'p'.repeat(43) })
      expect(await refused(elsewhere)).toMatchObject({ name: 'AssignmentWrongProcess', status: 400 })
    })

    it('a tampered process message (its scheduler list changed, the signature kept) (400)', async () => {
      const forged = message({ ...proc, scheduler: w2.address })
      expect(messageId(forged, 'signed')).toBe(pid)
      const byW2 = await forge(w2, 2n, chainOf(assignments[1]!), a2Body())
      expect(await thrown(importAssignment(store, forged, byW2))).toMatchObject({ name: 'ProcessMessageInvalid', status: 400 })
    })

    it('a hash-chain that does not extend the stored one (409)', async () => {
      const m = a2Body()
      const wrongPrev = await forge(w1, 2n, chainOf(assignments[0]!), m)
      expect(await refused(wrongPrev)).toMatchObject({ name: 'AssignmentChainBroken', status: 409 })
      const garbage = await forge(w1, 2n, chainOf(assignments[1]!), m, { 'hash-chain': toB64Url(new Uint8Array(32)) })
      expect(await refused(garbage)).toMatchObject({ name: 'AssignmentChainBroken', status: 409 })
    })

    it('another assignment for a taken slot (409); the identical one is a no-op', async () => {
      const other = await commitMessage(message({ type: 'Message', target: pid, n: 99n }), { wallet: w2 })
      const rival = await forge(w1, 1n, chainOf(assignments[0]!), other)
      expect(await refused(rival)).toMatchObject({ name: 'SlotTaken', status: 409 })
      expect((await importAssignment(store, proc, assignments[1]!)).imported).toBe(false)
    })

    it('the message: not the one the assignment names, or not validly signed (400)', async () => {
      const a2 = assignments[2]!
      const stranger = await commitMessage(message({ type: 'Message', target: pid, n: 5n }), { wallet: w2 })
      expect(await refused(a2, stranger)).toMatchObject({ name: 'AssignedMessageInvalid', status: 400 })
      // Same signed ID, altered content.
      expect(await refused(a2, message({ ...(a2['body'] as Message), n: 1000n }))).toMatchObject({ name: 'AssignedMessageInvalid', status: 400 })
      // A scheduler that signed an assignment of an unsigned or altered message.
      const unsigned = message({ type: 'Message', target: pid, n: 3n })
      expect(await refused(await forge(w1, 2n, chainOf(assignments[1]!), unsigned))).toMatchObject({ name: 'AssignedMessageInvalid', status: 400 })
      const good = a2Body()
      const altered = message({ ...good, n: 4n })
      expect(await refused(await forge(w1, 2n, chainOf(assignments[1]!), altered))).toMatchObject({ name: 'AssignedMessageInvalid', status: 400 })
    })

    it('a body sent as a link: the message given (or held) is stored inline; neither is 400', async () => {
      const fresh = new MemoryStore()
      const [a0, a1] = [assignments[0]!, assignments[1]!]
      const linked = (a: Message) => message({ ...a, body: new Link(messageId(a['body'] as Message, 'signed')) })
      expect(await thrown(importAssignment(fresh, proc, linked(a0)))).toMatchObject({ name: 'AssignedMessageInvalid', status: 400 })
      expect((await importAssignment(fresh, proc, linked(a0), a0['body'] as Message)).imported).toBe(true)
      // Slot 1's message is already held by the store: no need to send it.
      await fresh.write(messageId(a1['body'] as Message, 'signed'), a1['body'] as Message)
      expect((await importAssignment(fresh, proc, linked(a1))).imported).toBe(true)
      const stored = (await fresh.read(`assignments/${pid}/1`)) as Message
      expect(isMessage(stored['body'])).toBe(true)
      expect(messageId(stored, 'signed')).toBe(messageId(a1, 'signed'))
    })

    it('malformed: no slot, a negative slot, no hash-chain, no message (400)', async () => {
      const m = a2Body()
      for (const extra of [{ slot: 'two' }, { slot: -1n }, { 'hash-chain': null }, { body: 'not a message' }] as Array<Record<string, Value>>) {
        const a = await forge(w1, 2n, chainOf(assignments[1]!), m, extra)
        expect(await refused(a), JSON.stringify(Object.keys(extra))).toMatchObject({ name: 'AssignmentMalformed', status: 400 })
      }
    })

    it('after every refusal the schedule is still slots 0..1 and continues with slot 2', async () => {
      expect(await storedSlots(store, pid)).toEqual([0n, 1n])
      expect((await importAssignment(store, proc, assignments[2]!)).imported).toBe(true)
      expect(await storedSlots(store, pid)).toEqual([0n, 1n, 2n])
    })
  })

  it('a node that is also a scheduler of the process continues after the slots it imported', async () => {
    const shared = await commitMessage(message({
      device: 'process@1.0', type: 'Process', scheduler: [w1.address, w2.address], 'execution-device': 'adder@1.0', nonce: 'two-schedulers',
    }), { wallet: w2 })
    const spid = messageId(shared, 'signed')
    const a0 = (await A.resolve(SCHED, post(shared))).value as Message
    const m1 = await commitMessage(message({ type: 'Message', target: spid, n: 1n }), { wallet: w2 })
    const a1 = (await A.resolve(SCHED, post(m1))).value as Message
    const B = await node(w2)
    // B has already started its own head for the process (its slot query), then imports.
    expect((await B.resolve(message({ device: 'scheduler@1.0', process: shared }), message({ path: 'slot', target: spid }))).status).toBe('ok')
    await importAssignment(B.store, shared, a0)
    await importAssignment(B.store, shared, a1)
    const m2 = await commitMessage(message({ type: 'Message', target: spid, n: 2n }), { wallet: w2 })
    const b2 = (await B.resolve(SCHED, post(m2))).value as Message
    expect(b2['slot']).toBe(2n)
    expect(b2['hash-chain']).toBe(toB64Url(nextHashChain(chainOf(a1), m2)))
    // And a message B already holds (imported) is answered with its imported slot, not a new one.
    const again = (await B.resolve(SCHED, post(m1))).value as Message
    expect(messageId(again, 'signed')).toBe(messageId(a1, 'signed'))
  })
})

let a2BodyCache: Message | undefined
/** A signed message to build rival slot-2 assignments with. */
function a2Body(): Message {
  if (!a2BodyCache) throw new Error('a2Body before beforeAll')
  return a2BodyCache
}
beforeAll(async () => {
  a2BodyCache = await commitMessage(message({ type: 'Message', target: pid, n: 42n }), { wallet: w2 })
})
