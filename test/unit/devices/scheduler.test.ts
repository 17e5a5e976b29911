/** scheduler@1.0: POST/GET schedule, slot, status, next; the hash chain; assignments in the store. */
import { describe, it, expect, beforeAll } from 'vitest'
import { context, wallets, run, show, vectors } from './helpers.ts'
import { schedulerDevice, nextHashChain, parseSchedulers, scheduledPath, setSchedulerHooks, withoutHint, ZERO_HASH, validlySigned } from '../../../src/devices/scheduler.ts'
import type { Store } from '../../../src/store/store.ts'
import { isMessage, message, type Message, type Value } from '../../../src/core/value.ts'
import { commitMessage, verifyMessage } from '../../../src/codecs/commitments.ts'
import { messageId } from '../../../src/core/id.ts'
import { fromB64, toB64Url, utf8, concatBytes } from '../../../src/core/bytes.ts'
import { sha256 } from '../../../src/crypto/hash.ts'
import { fromJson } from '../../../src/core/typed-json.ts'
import type { Wallet } from '../../../src/crypto/wallet.ts'
import type { ResolveContext } from '../../../src/core/device.ts'
import { MemoryStore } from '../../../src/store/memory.ts'

let w1: Wallet
let w2: Wallet
beforeAll(async () => { [w1, w2] = await wallets() })

const ctxFor = (wallet: Wallet): ResolveContext => context({ wallet, extra: [schedulerDevice] })

async function processMsg(scheduler: string, extra: Record<string, Value> = {}): Promise<Message> {
  return commitMessage(message({ type: 'Process', 'scheduler-device': 'scheduler@1.0', scheduler, 'test-seed': String(Math.random()), ...extra }), { wallet: w1 })
}

const SCHED = message({ device: 'scheduler@1.0' })
const post = (body: Message) => message({ path: 'schedule', method: 'POST', body })

async function signed(m: Record<string, Value>, w: Wallet = w1): Promise<Message> {
  return commitMessage(message(m), { wallet: w })
}

describe('scheduler@1.0', () => {
  it('POST schedule: a process gets slot 0, its messages the next slots, each assignment signed by the node', async () => {
    const ctx = ctxFor(w1)
    const proc = await processMsg(w1.address)
    const pid = messageId(proc, 'signed')
    const a0 = await run(SCHED, post(proc), ctx)
    expect(a0.status, show(a0.value)).toBe('ok')
    const as0 = a0.value as Message
    expect(as0['slot']).toBe(0n)
    expect(as0['process']).toBe(pid)
    expect(as0['path']).toBe('compute')
    expect(as0['variant']).toBe('ao.N.1')
    expect(as0['epoch']).toBe('0')
    expect(as0['block-hash']).toBe(ZERO_HASH)
    expect((await verifyMessage(as0)).committers).toEqual([w1.address])
    expect((await verifyMessage(as0)).verified).toBe(true)
    for (let i = 1; i <= 3; i++) {
      const m = await signed({ type: 'Message', target: pid, n: BigInt(i) })
      const o = await run(SCHED, post(m), ctx)
      expect(o.status, show(o.value)).toBe('ok')
      expect((o.value as Message)['slot']).toBe(BigInt(i))
      expect(((o.value as Message)['body'] as Message)['n']).toBe(BigInt(i))
    }
    // Written at assignments/<pid>/<slot>, and the messages by ID.
    const stored = await ctx.store!.read(`assignments/${pid}/2`)
    expect(isMessage(stored) && stored['slot']).toBe(2n)
    expect(await ctx.store!.list(`assignments/${pid}`)).toEqual(['0', '1', '2', '3'])
    expect(isMessage(await ctx.store!.read(pid))).toBe(true)
  })

  it('the hash chain: sha256(prevRaw ‖ signed ID text), from empty', async () => {
    const ctx = ctxFor(w1)
    const proc = await processMsg(w1.address)
    const pid = messageId(proc, 'signed')
    let prev: Uint8Array = new Uint8Array(0)
    const msgs = [proc, await signed({ target: pid, a: '1' }), await signed({ target: pid, a: '2' })]
    for (const m of msgs) {
      const o = await run(SCHED, post(m), ctx)
      prev = sha256(concatBytes(prev, utf8(messageId(m, 'signed'))))
      expect((o.value as Message)['hash-chain']).toBe(toB64Url(prev))
    }
  })

  it('nextHashChain matches HyperBEAM hash_chain vectors', async () => {
    for (const c of await vectors('hash_chain')) {
      let prev = c.initial_hash_chain === '' ? new Uint8Array(0) : fromB64(String(c.initial_hash_chain))
      for (const s of c.slots as any[]) {
        prev = nextHashChain(prev, fromJson(s.message) as Message)
        expect(toB64Url(prev)).toBe(String(s.hash_chain))
      }
    }
  })

  it('a restarted scheduler continues slots and chain from the store', async () => {
    const ctx = ctxFor(w1)
    const proc = await processMsg(w1.address)
    const pid = messageId(proc, 'signed')
    await run(SCHED, post(proc), ctx)
    const m1 = await signed({ target: pid, k: 'a' })
    const a1 = (await run(SCHED, post(m1), ctx)).value as Message
    // Servers are per store: copy the entries into a fresh store to simulate a restart.
    const fresh = new MemoryStore()
    for (const slot of ['0', '1']) {
      const a = (await ctx.store!.read(`assignments/${pid}/${slot}`)) as Message
      const id = messageId(a, 'signed')
      await fresh.write(id, a)
      await fresh.link(`assignments/${pid}/${slot}`, id)
    }
    await fresh.write(pid, proc)
    const ctx3 = context({ wallet: w1, store: fresh, extra: [schedulerDevice] })
    const m2 = await signed({ target: pid, k: 'b' })
    const a2 = (await run(SCHED, post(m2), ctx3)).value as Message
    expect(a2['slot']).toBe(2n)
    const expected = sha256(concatBytes(fromB64(a1['hash-chain'] as string), utf8(messageId(m2, 'signed'))))
    expect(a2['hash-chain']).toBe(toB64Url(expected))
  })

  it('refuses unsigned and tampered messages (400), and processes of another scheduler (404)', async () => {
    const ctx = ctxFor(w1)
    const proc = await processMsg(w1.address)
    const pid = messageId(proc, 'signed')
    await run(SCHED, post(proc), ctx)
    const unsigned = await run(SCHED, post(message({ target: pid, x: '1' })), ctx)
    expect(unsigned.status).toBe('error')
    expect((unsigned.value as Message)['status']).toBe(400n)
    const hmacOnly = await run(SCHED, post(await commitMessage(message({ target: pid, x: '1' }))), ctx)
    expect(hmacOnly.status).toBe('error')
    const good = await signed({ target: pid, x: '1' })
    const tampered = message({ ...good, x: '2' })
    const t = await run(SCHED, post(tampered), ctx)
    expect(t.status).toBe('error')
    expect((t.value as Message)['body']).toBe('Message is not valid.')
    // A process whose scheduler is someone else.
    const other = await processMsg(w2.address)
    const o = await run(SCHED, post(other), ctx)
    expect(o.status).toBe('not_found')
    // No scheduler at all.
    const none = await commitMessage(message({ type: 'Process', z: '1' }), { wallet: w1 })
    const n = await run(SCHED, post(none), ctx)
    expect(n.status).toBe('error')
    expect((n.value as Message)['body']).toBe('No scheduler information provided.')
    // Nothing to schedule.
    const e = await run(SCHED, message({ path: 'schedule', method: 'POST', body: 'text' }), ctx)
    expect(e.status).toBe('error')
    // The slot did not move.
    const s = await run(SCHED, message({ path: 'slot', target: pid }), ctx)
    expect((s.value as Message)['current']).toBe(0n)
  })

  it('a tampered copy of a process message (same signature, its scheduler list changed) is refused and not stored', async () => {
    const ctx = ctxFor(w1)
    // The real process names w2 as its scheduler; the copy claims this node (w1) is.
    const real = await processMsg(w2.address)
    const pid = messageId(real, 'signed')
    const forged = message({ ...real, scheduler: w1.address })
    expect(messageId(forged, 'signed')).toBe(pid)
    const o = await run(SCHED, post(forged), ctx)
    expect(o.status).toBe('error')
    expect((o.value as Message)['body']).toBe('Process message is not valid.')
    expect(await ctx.store!.read(pid)).toBeUndefined()
    // Nor through a base that carries it as its `process`.
    const m = await signed({ target: pid, x: '1' })
    const viaBase = await run(message({ device: 'scheduler@1.0', process: forged }), post(m), ctx)
    expect(viaBase.status).toBe('error')
    expect(await ctx.store!.list(`assignments/${pid}`)).toEqual([])
  })

  it('scheduler lists: comma-separated text (quotes dropped) or a list; hints stripped', async () => {
    expect(parseSchedulers(`"a","b", c`)).toEqual(['a', 'b', 'c'])
    expect(parseSchedulers(['x', 'y'])).toEqual(['x', 'y'])
    expect(parseSchedulers(undefined)).toEqual([])
    const id = 'a'.repeat(43)
    expect(withoutHint(`${id}?hint=x`)).toBe(id)
    expect(() => withoutHint('nope?x')).toThrow()
    const ctx = ctxFor(w1)
    const proc = await processMsg(`${w2.address},${w1.address}`)
    expect((await run(SCHED, post(proc), ctx)).status).toBe('ok')
    const proc2 = await commitMessage(message({ type: 'Process', 'scheduler-location': w1.address, r: '2' }), { wallet: w1 })
    expect((await run(SCHED, post(proc2), ctx)).status).toBe('ok')
  })

  it('concurrent POSTs get distinct consecutive slots', async () => {
    const ctx = ctxFor(w1)
    const proc = await processMsg(w1.address)
    const pid = messageId(proc, 'signed')
    await run(SCHED, post(proc), ctx)
    const msgs = await Promise.all([1, 2, 3, 4, 5].map((i) => signed({ target: pid, i: BigInt(i) })))
    const outs = await Promise.all(msgs.map((m) => run(SCHED, post(m), ctx)))
    expect(outs.map((o) => (o.value as Message)['slot']).sort()).toEqual([1n, 2n, 3n, 4n, 5n])
  })

  it('pipelined: slots in the order messages came, signatures in parallel, stored and announced in slot order, each chain extending the last', async () => {
    const store = new MemoryStore()
    const ctx = context({ wallet: w1, store, extra: [schedulerDevice] })
    const proc = await processMsg(w1.address)
    const pid = messageId(proc, 'signed')
    await run(SCHED, post(proc), ctx)
    const announced: bigint[] = []
    setSchedulerHooks(store, { assigned: (_pid, a) => { announced.push(a['slot'] as bigint) } })
    const msgs = await Promise.all(Array.from({ length: 20 }, (_, i) => signed({ target: pid, i: BigInt(i) })))
    const outs = await Promise.all(msgs.map((m) => run(SCHED, post(m), ctx)))
    // Slots 1..20, each once (which message gets which depends on when its checks finish).
    expect(outs.map((o) => (o.value as Message)['slot']).sort((a, b) => Number(a) - Number(b))).toEqual(msgs.map((_, i) => BigInt(i + 1)))
    expect(announced).toEqual(msgs.map((_, i) => BigInt(i + 1)))
    let chain = fromB64(((await store.read(`assignments/${pid}/0`)) as Message)['hash-chain'] as string)
    for (let n = 1; n <= 20; n++) {
      const a = (await store.read(`assignments/${pid}/${n}`)) as Message
      expect((await verifyMessage(a)).verified).toBe(true)
      const want = sha256(concatBytes(chain, utf8(messageId(a['body'] as Message, 'signed'))))
      expect(a['hash-chain']).toBe(toB64Url(want))
      chain = want
    }
    expect(((await run(SCHED, message({ path: 'slot', target: pid }), ctx)).value as Message)['current']).toBe(20n)
    setSchedulerHooks(store, undefined)
  })

  it('signatures in flight at once follow `scheduler_signatures`', async () => {
    for (const limit of [1n, 3n]) {
      let now = 0, most = 0
      const counting: Wallet = {
        ...w1,
        signSha512: async (d: Uint8Array) => {
          now++; most = Math.max(most, now)
          await new Promise((r) => setTimeout(r, 5))
          try { return await w1.signSha512(d) } finally { now-- }
        },
      }
      const ctx = context({ wallet: counting, node: message({ scheduler_signatures: limit }), extra: [schedulerDevice] })
      const proc = await processMsg(w1.address)
      const pid = messageId(proc, 'signed')
      await run(SCHED, post(proc), ctx)
      const msgs = await Promise.all(Array.from({ length: 8 }, (_, i) => signed({ target: pid, s: BigInt(i) })))
      const outs = await Promise.all(msgs.map((m) => run(SCHED, post(m), ctx)))
      expect(outs.every((o) => o.status === 'ok')).toBe(true)
      expect(most).toBe(Number(limit))
    }
  })

  it('an assignment that cannot be stored fails, with those after it; the schedule goes on from the store', async () => {
    class FailOnce extends MemoryStore {
      armed = true
      override async link(path: string, target: string): Promise<void> {
        if (this.armed && path.endsWith('/3')) { this.armed = false; throw new Error('disk full (simulated)') }
        return super.link(path, target)
      }
    }
    const store = new FailOnce()
    const ctx = context({ wallet: w1, store, extra: [schedulerDevice] })
    const proc = await processMsg(w1.address)
    const pid = messageId(proc, 'signed')
    await run(SCHED, post(proc), ctx)
    const msgs = await Promise.all(Array.from({ length: 6 }, (_, i) => signed({ target: pid, j: BigInt(i) })))
    const outs = await Promise.all(msgs.map((m) => run(SCHED, post(m), ctx).catch((e: Error) => ({ status: 'thrown', value: e.name }))))
    const okSlots = outs.filter((o) => o.status === 'ok').map((o) => (o.value as Message)['slot'])
    expect(okSlots.sort()).toEqual([1n, 2n])
    expect(outs.filter((o) => o.status !== 'ok')).toHaveLength(4)
    expect(await store.list(`assignments/${pid}`)).toEqual(['0', '1', '2'])
    // Retried, the refused messages get the next slots, on a chain that extends slot 2's.
    const refused = msgs.filter((_, i) => outs[i]!.status !== 'ok')
    const again = []
    for (const m of refused) again.push((await run(SCHED, post(m), ctx)).value as Message)
    expect(again.map((a) => a['slot'])).toEqual([3n, 4n, 5n, 6n])
    const a2 = (await store.read(`assignments/${pid}/2`)) as Message
    const want = sha256(concatBytes(fromB64(a2['hash-chain'] as string), utf8(messageId(refused[0]!, 'signed'))))
    expect(again[0]!['hash-chain']).toBe(toB64Url(want))
  })

  it('GET schedule: from/to, application/http and application/aos-2; slot; status', async () => {
    const ctx = ctxFor(w1)
    const proc = await processMsg(w1.address)
    const pid = messageId(proc, 'signed')
    await run(SCHED, post(proc), ctx)
    for (let i = 1; i <= 4; i++) await run(SCHED, post(await signed({ target: pid, i: BigInt(i) })), ctx)
    const all = (await run(SCHED, message({ path: 'schedule', target: pid }), ctx)).value as Message
    expect(all['type']).toBe('schedule')
    expect(all['process']).toBe(pid)
    expect(all['continues']).toBe(false)
    expect(Object.keys(all['assignments'] as Message).sort()).toEqual(['0', '1', '2', '3', '4'])
    const some = (await run(SCHED, message({ path: 'schedule', target: pid, from: '2', to: 3n }), ctx)).value as Message
    expect(Object.keys(some['assignments'] as Message).sort()).toEqual(['2', '3'])
    const neg = (await run(SCHED, message({ path: 'schedule', target: pid, from: -5n, to: 0n }), ctx)).value as Message
    expect(Object.keys(neg['assignments'] as Message)).toEqual(['0'])
    const bad = await run(SCHED, message({ path: 'schedule', target: pid, from: 'x' }), ctx)
    expect(bad.status).toBe('error')
    // The process as base: its own ID.
    const viaProc = (await run(message({ ...proc, device: 'scheduler@1.0' }), message({ path: 'schedule', from: 4n }), ctx)).value as Message
    expect(viaProc['process']).toBe(pid)
    // aos-2
    const j = (await run(SCHED, message({ path: 'schedule', target: pid, accept: 'application/aos-2', from: 1n, to: 2n }), ctx)).value as Message
    expect(j['content-type']).toBe('application/json')
    const page = JSON.parse(j['body'] as string)
    expect(page.page_info.process).toBe(pid)
    expect(page.page_info.has_next_page).toBe(false)
    expect(page.edges.map((e: any) => e.cursor)).toEqual([1, 2])
    expect(page.edges[0].node.message.Target).toBe(pid)
    expect(page.edges[0].node.message.Owner).toBe(w1.address)
    expect(page.edges[0].node.assignment.Tags.find((t: any) => t.name === 'Slot').value).toBe('1')
    // slot and status
    const slot = (await run(SCHED, message({ path: 'slot', target: pid }), ctx)).value as Message
    expect(slot['current']).toBe(4n)
    expect(slot['process']).toBe(pid)
    expect(slot['addresses']).toEqual([w1.address])
    const status = (await run(SCHED, 'status', ctx)).value as Message
    expect(status['address']).toBe(w1.address)
    expect(status['processes']).toContain(pid)
    // An unknown process: 404.
    const unknown = await run(SCHED, message({ path: 'schedule', target: 'b'.repeat(43) }), ctx)
    expect(unknown.status).toBe('not_found')
  })

  it('GET schedule caps an answer at 1000 assignments and says it continues', async () => {
    const ctx = ctxFor(w1)
    const proc = await processMsg(w1.address)
    const pid = messageId(proc, 'signed')
    await run(SCHED, post(proc), ctx)
    const a0 = (await ctx.store!.read(`assignments/${pid}/0`)) as Message
    // Link 1100 slots to the same assignment (the reader only follows the slots).
    for (let i = 1; i <= 1100; i++) await ctx.store!.link(`assignments/${pid}/${i}`, messageId(a0, 'signed'))
    const r = (await run(SCHED, message({ path: 'schedule', target: pid, from: 0n }), ctx)).value as Message
    expect(Object.keys(r['assignments'] as Message).length).toBe(1)
    expect(r['continues']).toBe(true)
  })

  it('next: the assignment after at-slot, cached lookahead in priv, errors for gaps', async () => {
    const ctx = ctxFor(w1)
    const proc = await processMsg(w1.address)
    const pid = messageId(proc, 'signed')
    await run(SCHED, post(proc), ctx)
    await run(SCHED, post(await signed({ target: pid, i: 1n })), ctx)
    const state = message({ device: 'scheduler@1.0', process: proc, 'at-slot': -1n })
    const n0 = (await run(state, 'next', ctx)).value as Message
    expect((n0['body'] as Message)['slot']).toBe(0n)
    const s1 = message({ ...(n0['state'] as Message), 'at-slot': 0n })
    const n1 = (await run(s1, 'next', ctx)).value as Message
    expect((n1['body'] as Message)['slot']).toBe(1n)
    const none = await run(message({ ...s1, 'at-slot': 1n }), 'next', ctx)
    expect(none.status).toBe('error')
    expect((none.value as Message)['status']).toBe(404n)
    // priv cache with a wrong slot
    const a1 = (await ctx.store!.read(`assignments/${pid}/1`)) as Message
    const wrong = message({ ...state, 'at-slot': 5n, priv: message({ 'scheduler@1.0': message({ assignments: [message({ ...a1, slot: 9n })] }) }) })
    const w = await run(wrong, 'next', ctx)
    expect((w.value as Message)['reason']).toBe('Received assignment slot does not match expected slot.')
    const noSlot = await run(message({ device: 'scheduler@1.0', process: proc }), 'next', ctx)
    expect(noSlot.status).toBe('error')
  })

  describe('idempotent scheduling (a retry after a lost answer)', () => {
    /** The same store seen as a new object: what a restarted node sees (the in-memory heads are per store object). */
    const restarted = (store: Store): Store => ({
      name: store.name, read: (p) => store.read(p), write: (p, v) => store.write(p, v), link: (p, t) => store.link(p, t), list: (p) => store.list(p),
    })
    const slotOf = async (pid: string, ctx: ResolveContext) => ((await run(SCHED, message({ path: 'slot', target: pid }), ctx)).value as Message)['current']

    it('a message POSTed again gets its existing assignment (same slot, same signed assignment), never a second slot', async () => {
      const ctx = ctxFor(w1)
      const proc = await processMsg(w1.address)
      const pid = messageId(proc, 'signed')
      const a0 = (await run(SCHED, post(proc), ctx)).value as Message
      const m1 = await signed({ target: pid, k: '1' })
      const m2 = await signed({ target: pid, k: '2' })
      const a1 = (await run(SCHED, post(m1), ctx)).value as Message
      const a2 = (await run(SCHED, post(m2), ctx)).value as Message
      const again1 = (await run(SCHED, post(m1), ctx)).value as Message
      expect(again1['slot']).toBe(1n)
      expect(messageId(again1, 'signed')).toBe(messageId(a1, 'signed'))
      // Uncommitted keys added on the way do not make it another message.
      const again2 = (await run(SCHED, post(message({ ...m2, extra: 'unsigned' })), ctx)).value as Message
      expect(messageId(again2, 'signed')).toBe(messageId(a2, 'signed'))
      // The process itself, POSTed again (a spawn retried): slot 0.
      const again0 = (await run(SCHED, post(proc), ctx)).value as Message
      expect(messageId(again0, 'signed')).toBe(messageId(a0, 'signed'))
      expect(await slotOf(pid, ctx)).toBe(2n)
      expect(await ctx.store!.list(`assignments/${pid}`)).toEqual(['0', '1', '2'])
      // A new message still continues the chain.
      const m3 = await signed({ target: pid, k: '3' })
      const a3 = (await run(SCHED, post(m3), ctx)).value as Message
      expect(a3['slot']).toBe(3n)
      expect(a3['hash-chain']).toBe(toB64Url(nextHashChain(fromB64(a2['hash-chain'] as string), m3)))
    })

    it('concurrent POSTs of one message share one slot; and after a restart the index still answers', async () => {
      const ctx = ctxFor(w1)
      const proc = await processMsg(w1.address)
      const pid = messageId(proc, 'signed')
      await run(SCHED, post(proc), ctx)
      const m = await signed({ target: pid, k: 'same' })
      const outs = await Promise.all([1, 2, 3, 4].map(() => run(SCHED, post(m), ctx)))
      expect(outs.map((o) => (o.value as Message)['slot'])).toEqual([1n, 1n, 1n, 1n])
      const ctx2 = context({ wallet: w1, store: restarted(ctx.store!), extra: [schedulerDevice] })
      const again = (await run(SCHED, post(m), ctx2)).value as Message
      expect(again['slot']).toBe(1n)
      expect(await slotOf(pid, ctx2)).toBe(1n)
      expect(await ctx.store!.read(scheduledPath(pid, messageId(m, 'signed')))).toBe('1')
    })

    it('an index entry that a crash left pointing at a slot without that message reads as absent', async () => {
      const ctx = ctxFor(w1)
      const proc = await processMsg(w1.address)
      const pid = messageId(proc, 'signed')
      await run(SCHED, post(proc), ctx)
      const store = ctx.store!
      const m1 = await signed({ target: pid, k: 'a' })
      const m2 = await signed({ target: pid, k: 'b' })
      // A crash after the index write, before the slot link: the entry names slot 1, which does not exist.
      await store.write(scheduledPath(pid, messageId(m1, 'signed')), '1')
      const ctx2 = context({ wallet: w1, store: restarted(store), extra: [schedulerDevice] })
      // Another message takes slot 1 first: m1's stale entry now points at m2's slot.
      const a2 = (await run(SCHED, post(m2), ctx2)).value as Message
      expect(a2['slot']).toBe(1n)
      const a1 = (await run(SCHED, post(m1), ctx2)).value as Message
      expect(a1['slot']).toBe(2n)
      expect((a1['body'] as Message)['k']).toBe('a')
      expect(await store.read(scheduledPath(pid, messageId(m1, 'signed')))).toBe('2')
      // And a garbage entry is ignored too.
      const m3 = await signed({ target: pid, k: 'c' })
      await store.write(scheduledPath(pid, messageId(m3, 'signed')), 'not a slot')
      expect(((await run(SCHED, post(m3), ctx2)).value as Message)['slot']).toBe(3n)
      expect(await slotOf(pid, ctx2)).toBe(3n)
    })

    it('a crash after the assignment was written but before its slot link: the retry is assigned that slot afresh', async () => {
      const ctx = ctxFor(w1)
      const proc = await processMsg(w1.address)
      const pid = messageId(proc, 'signed')
      await run(SCHED, post(proc), ctx)
      const m1 = await signed({ target: pid, k: 'x' })
      const a1 = (await run(SCHED, post(m1), ctx)).value as Message
      // Simulate the crash: the slot link is gone, the assignment and the index entry remain.
      const copy = new MemoryStore()
      for (const p of [pid, messageId(proc, 'signed'), messageId(m1, 'signed'), messageId(a1, 'signed')]) await copy.write(p, (await ctx.store!.read(p))!)
      const a0 = (await ctx.store!.read(`assignments/${pid}/0`)) as Message
      await copy.write(messageId(a0, 'signed'), a0)
      await copy.link(`assignments/${pid}/0`, messageId(a0, 'signed'))
      await copy.write(scheduledPath(pid, messageId(m1, 'signed')), '1')
      const ctx2 = context({ wallet: w1, store: copy, extra: [schedulerDevice] })
      const retry = (await run(SCHED, post(m1), ctx2)).value as Message
      expect(retry['slot']).toBe(1n)
      expect(retry['hash-chain']).toBe(a1['hash-chain'])
      expect(await copy.list(`assignments/${pid}`)).toEqual(['0', '1'])
      expect(((await run(SCHED, post(m1), ctx2)).value as Message)['slot']).toBe(1n)
    })
  })
  it('validlySigned remembers a verified message, but not one whose content or signature changed since', async () => {
    const [w] = await wallets()
    const m = await commitMessage(message({ type: 'Process', scheduler: w.address, n: 1n }), { wallet: w })
    expect(await validlySigned(m)).toBe(true)
    expect(await validlySigned(m)).toBe(true)
    // The same signed ID over other content.
    expect(await validlySigned(message({ ...m, scheduler: 'x'.repeat(43) }))).toBe(false)
    // The same content and commitment key, another signature.
    const comms = m['commitments'] as Message
    const [cid] = Object.keys(comms)
    const bad = { ...(comms[cid!] as Message) }
    const sig = String(bad['signature'])
    bad['signature'] = sig.slice(0, 20) + (sig[20] === 'A' ? 'B' : 'A') + sig.slice(21)
    expect(await validlySigned(message({ ...m, commitments: message({ [cid!]: message(bad) }) }))).toBe(false)
    expect(await validlySigned(message({ type: 'Process', n: 1n }))).toBe(false)
  })
})
