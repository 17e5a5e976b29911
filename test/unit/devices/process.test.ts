/**
 * process@1.0 over scheduler@1.0 with VM-free execution devices: test-device@1.0
 * (directly and in a stack@1.0) and a counting device defined here.
 */
import { describe, it, expect, beforeAll } from 'vitest'
import { context, wallets, run, show } from './helpers.ts'
import { schedulerDevice } from '../../../src/devices/scheduler.ts'
import { processDevice, dropLiveStates, readResult, latestResult, ensureProcessKey, runAs, flushResults, DEFAULT_CACHE_FREQUENCY } from '../../../src/devices/process.ts'
import { GATHER_MS } from '../../../src/devices/process-cache.ts'
import { stackDevice } from '../../../src/devices/stack.ts'
import { multipassDevice } from '../../../src/devices/multipass.ts'
import { dedupDevice } from '../../../src/devices/dedup.ts'
import { patchDevice } from '../../../src/devices/patch.ts'
import { isMessage, message, type Message, type Value } from '../../../src/core/value.ts'
import { commitMessage } from '../../../src/codecs/commitments.ts'
import { messageId } from '../../../src/core/id.ts'
import { ok, error, type Device, type ResolveContext } from '../../../src/core/device.ts'
import { directGet } from '../../../src/core/resolver.ts'
import { MemoryStore } from '../../../src/store/memory.ts'
import type { Store } from '../../../src/store/store.ts'
import { FsStore } from '../../../src/store/fs.ts'
import { StoreFailed } from '../../../src/core/errors.ts'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Wallet } from '../../../src/crypto/wallet.ts'
import { setNetworkPort, type AttestationEntry, type AttestationFacts, type NetworkPort } from '../../../src/devices/p2p.ts'

let w1: Wallet
beforeAll(async () => { [w1] = await wallets() })

/** Counts `n` from the assignments' bodies; fails on `fail`; snapshot/normalize keep a private mirror. */
const calls = { init: 0, normalize: 0, compute: 0 }
const counter: Device = {
  name: 'counter@1.0',
  keys: {
    init: (base) => { calls.init++; return ok(message({ ...base, count: 0n })) },
    compute: (base, req) => {
      calls.compute++
      const body = req['body'] as Message
      if (isMessage(body) && body['fail'] === 'yes') return error(message({ status: 500n, body: 'asked to fail' }))
      const add = isMessage(body) && typeof body['n'] === 'bigint' ? body['n'] : 0n
      const count = (base['count'] as bigint) + add
      const priv = message({ ...((base['priv'] as Message) ?? {}), mirror: count })
      return ok(message({ ...base, count, results: message({ output: String(count), slot: req['slot']! }), priv }))
    },
    snapshot: (base) => ok(message({ count: base['count']! })),
    normalize: (base) => {
      calls.normalize++
      const snap = base['snapshot'] as Message
      return ok(message({ ...base, count: snap['count']!, priv: message({ ...((base['priv'] as Message) ?? {}), mirror: snap['count']! }) }))
    },
  },
}

/** Half a millisecond of work a slot, without awaiting anything. */
const slow: Device = {
  name: 'slow@1.0',
  keys: {
    init: (base) => ok(message({ ...base, count: 0n })),
    compute: (base) => {
      const until = performance.now() + 0.5
      while (performance.now() < until) { /* work */ }
      return ok(message({ ...base, count: (base['count'] as bigint) + 1n }))
    },
  },
}

const extra = [schedulerDevice, processDevice, stackDevice, multipassDevice, dedupDevice, patchDevice, counter, slow]
const ctxFor = (store: Store = new MemoryStore(), node?: Message): ResolveContext => context({ wallet: w1, store, extra, node })

async function spawn(ctx: ResolveContext, extraKeys: Record<string, Value>): Promise<{ proc: Message; pid: string }> {
  const proc = await commitMessage(message({
    device: 'process@1.0', type: 'Process', 'scheduler-device': 'scheduler@1.0', scheduler: w1.address,
    seed: String(Math.random()), ...extraKeys,
  }), { wallet: w1 })
  const o = await run(message({ device: 'scheduler@1.0' }), message({ path: 'schedule', method: 'POST', body: proc }), ctx)
  expect(o.status, show(o.value)).toBe('ok')
  return { proc, pid: messageId(proc, 'signed') }
}

async function send(ctx: ResolveContext, proc: Message, body: Record<string, Value>): Promise<Message> {
  const m = await commitMessage(message({ type: 'Message', target: messageId(proc, 'signed'), ...body }), { wallet: w1 })
  const o = await run(proc, message({ path: 'schedule', method: 'POST', body: m }), ctx)
  expect(o.status, show(o.value)).toBe('ok')
  return o.value as Message
}

const computeAt = (ctx: ResolveContext, proc: Message, slot: bigint | string) => run(proc, message({ path: 'compute', slot }), ctx)

/** The computation's own hashpath chain at a slot, as stored (the answer's hashpath is that of the compute request). */
async function chain(store: Store, pid: string, slot: bigint): Promise<string> {
  await flushResults(store)
  const stored = (await store.read(`computed/${pid}/slot/${slot}`)) as Message
  const hp = (stored['priv'] as Message)['hashpath']
  expect(typeof hp).toBe('string')
  return hp as string
}

describe('process@1.0', () => {
  it('computes slot by slot with test-device@1.0 as the execution device', async () => {
    const ctx = ctxFor()
    const { proc } = await spawn(ctx, { 'execution-device': 'test-device@1.0' })
    await send(ctx, proc, { a: '1' })
    await send(ctx, proc, { a: '2' })
    const o = await computeAt(ctx, proc, 2n)
    expect(o.status, show(o.value)).toBe('ok')
    const s = o.value as Message
    expect(s['device']).toBe('process@1.0')
    expect(s['at-slot']).toBe(2n)
    expect(s['already-seen']).toEqual([2n, 1n, 0n])
    expect((s['results'] as Message)['assignment-slot']).toBe(2n)
    expect(s['initialized']).toBe('true')
    expect(isMessage(s['process'])).toBe(true)
  })

  it('a stack of two test devices, as HyperBEAM dev_test_process: already-seen doubles per slot', async () => {
    const ctx = ctxFor()
    const { proc } = await spawn(ctx, { 'execution-device': 'stack@1.0', 'device-stack': ['test-device@1.0', 'test-device@1.0'] })
    await send(ctx, proc, { a: '1' })
    const s = (await computeAt(ctx, proc, 1n)).value as Message
    expect(s['already-seen']).toEqual([1n, 1n, 0n, 0n])
    expect(s['device']).toBe('process@1.0')
    expect(s['pass']).toBeUndefined()
  })

  it('caches results at computed/<pid>/slot/<n> and computed/<pid>/<result-id>, with snapshots', async () => {
    const store = new MemoryStore()
    const ctx = ctxFor(store, message({ process_cache_frequency: 1n }))
    const { proc, pid } = await spawn(ctx, { 'execution-device': 'counter@1.0' })
    await send(ctx, proc, { n: 5n })
    const r = (await computeAt(ctx, proc, 1n)).value as Message
    expect(r['count']).toBe(5n)
    // Results are written behind the computation; wait for them before reading the store itself.
    await flushResults(store)
    const bySlot = (await store.read(`computed/${pid}/slot/1`)) as Message
    expect(bySlot['count']).toBe(5n)
    expect((bySlot['snapshot'] as Message)['count']).toBe(5n)
    expect((bySlot['priv'] as Message)['mirror']).toBeUndefined()
    const id = messageId(r)
    const byId = (await store.read(`computed/${pid}/${id}`)) as Message
    expect(byId['count']).toBe(5n)
    // A second compute is served from the cache, identically.
    const before = calls.compute
    const again = (await computeAt(ctx, proc, 1n)).value as Message
    expect(calls.compute).toBe(before)
    expect(messageId(again)).toBe(id)
    expect(again['snapshot']).toBeUndefined()
    expect((await readResult(store, pid, 0n))!['count']).toBe(0n)
    expect((await latestResult(store, pid))!.slot).toBe(1n)
  })

  it('restores from the newest snapshot at or below the target through normalize, else init', async () => {
    const store = new MemoryStore()
    const ctx = ctxFor(store, message({ process_cache_frequency: 2n }))
    const { proc, pid } = await spawn(ctx, { 'execution-device': 'counter@1.0' })
    for (let i = 1; i <= 5; i++) await send(ctx, proc, { n: BigInt(i) })
    const full = (await computeAt(ctx, proc, 3n)).value as Message
    expect(full['count']).toBe(6n)
    await flushResults(store)
    expect('snapshot' in ((await store.read(`computed/${pid}/slot/2`)) as Message)).toBe(true)
    expect('snapshot' in ((await store.read(`computed/${pid}/slot/3`)) as Message)).toBe(false)
    // A restart: no live state. Slot 5 restores from the snapshot at slot 2 (≤ 5, newest), not init.
    dropLiveStates(store)
    const inits = calls.init
    const norms = calls.normalize
    const r5 = (await computeAt(ctx, proc, 5n)).value as Message
    expect(r5['count']).toBe(15n)
    expect(calls.normalize).toBe(norms + 1)
    expect(calls.init).toBe(inits)
    // The restored run gives the hashpath an uninterrupted run gives.
    const other = ctxFor(new MemoryStore(), message({ process_cache_frequency: 1000n }))
    for (let s = 0; s <= 5; s++) {
      const a = (await store.read(`assignments/${pid}/${s}`)) as Message
      await other.store!.write(messageId(a, 'signed'), a)
      await other.store!.link(`assignments/${pid}/${s}`, messageId(a, 'signed'))
    }
    await other.store!.write(pid, proc)
    const u5 = (await computeAt(other, proc, 5n)).value as Message
    expect(messageId(u5)).toBe(messageId(r5))
    expect((u5['priv'] as Message)['hashpath']).toBe((r5['priv'] as Message)['hashpath'])
    expect(await chain(other.store!, pid, 5n)).toBe(await chain(store, pid, 5n))
    expect(await chain(store, pid, 5n)).not.toBe(await chain(store, pid, 4n))
  })

  it('compute without a slot serves the newest stored state; now computes to the current slot', async () => {
    const ctx = ctxFor()
    const { proc } = await spawn(ctx, { 'execution-device': 'counter@1.0' })
    await send(ctx, proc, { n: 2n })
    await send(ctx, proc, { n: 3n })
    const n = (await run(proc, 'now', ctx)).value as Message
    expect(n['count']).toBe(5n)
    expect(n['at-slot']).toBe(2n)
    await send(ctx, proc, { n: 4n })
    const latest = (await run(proc, 'compute', ctx)).value as Message
    expect(latest['at-slot']).toBe(2n)
    const n2 = (await run(proc, 'now', ctx)).value as Message
    expect(n2['count']).toBe(9n)
  })

  it('slot and schedule go to the scheduler; other keys are plain gets', async () => {
    const ctx = ctxFor()
    const { proc, pid } = await spawn(ctx, { 'execution-device': 'counter@1.0' })
    await send(ctx, proc, { n: 2n })
    const slot = (await run(proc, 'slot', ctx)).value as Message
    expect(slot['current']).toBe(1n)
    expect(slot['process']).toBe(pid)
    const sched = (await run(proc, 'schedule', ctx)).value as Message
    expect(Object.keys(sched['assignments'] as Message).sort()).toEqual(['0', '1'])
    expect(await run(proc, 'type', ctx)).toMatchObject({ status: 'ok', value: 'Process' })
    const snap = (await run(proc, 'snapshot', ctx)).value as Message
    expect(snap['cache-control']).toEqual(['store'])
  })

  it('a compute of many slots lets the thread serve others meanwhile (it yields to the event loop)', async () => {
    const ctx = ctxFor()
    const { proc } = await spawn(ctx, { 'execution-device': 'slow@1.0' })
    for (let i = 0; i < 200; i++) await send(ctx, proc, { n: 1n })
    let ticks = 0
    const timer = setInterval(() => { ticks++ }, 1)
    const t = performance.now()
    try {
      const o = await computeAt(ctx, proc, 200n)
      expect(o.status, show(o.value)).toBe('ok')
      expect((o.value as Message)['count']).toBe(201n)
    } finally { clearInterval(timer) }
    // Without yields every await of the loop settles at once and no timer runs until the last slot.
    const ms = performance.now() - t
    expect(ms).toBeGreaterThan(100)
    expect(ticks).toBeGreaterThanOrEqual(4)
  })

  it('errors carry the phase and the attempted slot', async () => {
    const ctx = ctxFor()
    const { proc } = await spawn(ctx, { 'execution-device': 'counter@1.0' })
    await send(ctx, proc, { fail: 'yes' })
    const bad = await computeAt(ctx, proc, 1n)
    expect(bad.status).toBe('error')
    expect((bad.value as Message)['phase']).toBe('compute')
    expect((bad.value as Message)['attempted-slot']).toBe(1n)
    const missing = await computeAt(ctx, proc, 7n)
    expect((missing.value as Message)['phase']).toBe('compute')
    const ctx2 = ctxFor()
    const { proc: p2 } = await spawn(ctx2, { 'execution-device': 'counter@1.0' })
    const gap = await computeAt(ctx2, p2, 3n)
    expect(gap.status).toBe('error')
    expect((gap.value as Message)['phase']).toBe('get-schedule')
    expect((gap.value as Message)['attempted-slot']).toBe(1n)
    expect((await computeAt(ctx2, p2, 'x')).status).toBe('error')
    const initialized = message({ ...p2, initialized: 'true', 'at-slot': 5n, process: p2 })
    expect((await computeAt(ctx2, initialized, 2n)).status).toBe('error')
  })

  it('computes of one process are serialized; different processes run independently', async () => {
    const ctx = ctxFor()
    const a = await spawn(ctx, { 'execution-device': 'counter@1.0' })
    const b = await spawn(ctx, { 'execution-device': 'counter@1.0' })
    for (let i = 1; i <= 4; i++) { await send(ctx, a.proc, { n: 1n }); await send(ctx, b.proc, { n: 10n }) }
    const before = calls.compute
    const outs = await Promise.all([4n, 2n, 3n, 4n, 1n].map((s) => computeAt(ctx, a.proc, s)).concat([computeAt(ctx, b.proc, 4n)]))
    expect(outs.map((o) => (o.value as Message)['count'])).toEqual([4n, 2n, 3n, 4n, 1n, 40n])
    // Every slot (0..4) of each process ran exactly once.
    expect(calls.compute - before).toBe(10)
  })

  it('run_as swaps the device and restores it; ensure_process_key keeps the committed process', async () => {
    const ctx = ctxFor()
    const { proc, pid } = await spawn(ctx, { 'execution-device': 'counter@1.0' })
    const withKey = await ensureProcessKey(proc, ctx)
    expect(withKey['commitments']).toBeUndefined()
    expect(messageId(withKey['process'] as Message, 'signed')).toBe(pid)
    const o = await runAs('execution', withKey, message({ path: 'init' }), ctx)
    expect((o.value as Message)['device']).toBe('process@1.0')
    expect((o.value as Message)['count']).toBe(0n)
    expect(directGet(o.value as Message, 'input-prefix')).toBe('process')
  })

  it('two nodes computing the same process from the same assignments agree on result IDs and hashpaths', async () => {
    const a = ctxFor()
    const { proc, pid } = await spawn(a, { 'execution-device': 'stack@1.0', 'device-stack': ['counter@1.0', 'test-device@1.0'] })
    for (let i = 1; i <= 3; i++) await send(a, proc, { n: BigInt(i) })
    const b = ctxFor()
    for (let s = 0; s <= 3; s++) {
      const as = (await a.store!.read(`assignments/${pid}/${s}`)) as Message
      await b.store!.write(messageId(as, 'signed'), as)
      await b.store!.link(`assignments/${pid}/${s}`, messageId(as, 'signed'))
    }
    await b.store!.write(pid, proc)
    for (const s of [1n, 3n]) {
      const ra = (await computeAt(a, proc, s)).value as Message
      const rb = (await computeAt(b, proc, s)).value as Message
      expect(messageId(rb)).toBe(messageId(ra))
      expect((rb['priv'] as Message)['hashpath']).toBe((ra['priv'] as Message)['hashpath'])
      expect(await chain(b.store!, pid, s)).toBe(await chain(a.store!, pid, s))
      expect(rb['count']).toBe(s * (s + 1n) / 2n)
    }
  })

  it('on a filesystem store, a restarted node continues the schedule and the computation where they were', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ao-process-'))
    try {
      const ctx1 = ctxFor(new FsStore(dir), message({ process_cache_frequency: 2n }))
      const { proc, pid } = await spawn(ctx1, { 'execution-device': 'counter@1.0' })
      for (let i = 1; i <= 3; i++) await send(ctx1, proc, { n: BigInt(i) })
      const r3 = (await computeAt(ctx1, proc, 3n)).value as Message
      expect(r3['count']).toBe(6n)
      await flushResults(ctx1.store!)
      // A new node process: a new store object over the same directory, no live state, no running scheduler.
      const ctx2 = ctxFor(new FsStore(dir), message({ process_cache_frequency: 2n }))
      expect(((await computeAt(ctx2, proc, 3n)).value as Message)['count']).toBe(6n)
      const a4 = await send(ctx2, proc, { n: 4n })
      expect(a4['slot']).toBe(4n)
      const norms = calls.normalize
      const r4 = (await computeAt(ctx2, proc, 4n)).value as Message
      expect(r4['count']).toBe(10n)
      expect(calls.normalize).toBe(norms + 1)
      // The same as an uninterrupted run in memory from the same assignments.
      const mem = ctxFor(new MemoryStore())
      for (let s = 0; s <= 4; s++) {
        const a = (await ctx2.store!.read(`assignments/${pid}/${s}`)) as Message
        await mem.store!.write(messageId(a, 'signed'), a)
        await mem.store!.link(`assignments/${pid}/${s}`, messageId(a, 'signed'))
      }
      await mem.store!.write(pid, proc)
      const m4 = (await computeAt(mem, proc, 4n)).value as Message
      expect(messageId(r4)).toBe(messageId(m4))
      expect((r4['priv'] as Message)['hashpath']).toBe((m4['priv'] as Message)['hashpath'])
      expect(await chain(ctx2.store!, pid, 4n)).toBe(await chain(mem.store!, pid, 4n))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
  it('results are written behind: served from the queue at once, in the store after a flush; a crash that drops them loses nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ao-process-wb-'))
    try {
      const ctx1 = ctxFor(new FsStore(dir))
      const { proc, pid } = await spawn(ctx1, { 'execution-device': 'counter@1.0' })
      for (let i = 1; i <= 4; i++) await send(ctx1, proc, { n: BigInt(i) })
      const r4 = (await computeAt(ctx1, proc, 4n)).value as Message
      expect(r4['count']).toBe(10n)
      // Served while queued.
      expect((await readResult(ctx1.store!, pid, 2n))!['count']).toBe(3n)
      // A crash before the writer ran: a new node on the same directory sees no results…
      dropLiveStates(ctx1.store!)
      const ctx2 = ctxFor(new FsStore(dir))
      const seen = await ctx2.store!.read(`computed/${pid}/slot/4`)
      // …(or some, if the writer got there first) and computes them again, identically.
      const again = (await computeAt(ctx2, proc, 4n)).value as Message
      expect(messageId(again)).toBe(messageId(r4))
      expect((again['priv'] as Message)['hashpath']).toBe((r4['priv'] as Message)['hashpath'])
      await flushResults(ctx2.store!)
      expect(((await ctx2.store!.read(`computed/${pid}/slot/4`)) as Message)['count']).toBe(10n)
      expect(seen === undefined || (seen as Message)['count'] === 10n).toBe(true)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it(`snapshots every ${DEFAULT_CACHE_FREQUENCY} slots by default, found through computed/<pid>/snapshot/<n>`, async () => {
    const store = new MemoryStore()
    const ctx = ctxFor(store)
    const { proc, pid } = await spawn(ctx, { 'execution-device': 'counter@1.0' })
    await send(ctx, proc, { n: 1n })
    await computeAt(ctx, proc, 1n)
    await flushResults(store)
    expect('snapshot' in ((await store.read(`computed/${pid}/slot/0`)) as Message)).toBe(true)
    expect('snapshot' in ((await store.read(`computed/${pid}/slot/1`)) as Message)).toBe(false)
    expect(await store.list(`computed/${pid}/snapshot`)).toEqual(['0'])
    expect((await latestResult(store, pid, { snapshot: true }))!.slot).toBe(0n)
    expect((await latestResult(store, pid))!.slot).toBe(1n)
  })
})

/**
 * Attestations and quorum reads against a stand-in NetworkPort (no libp2p):
 * what process@1.0 reports after each computed slot, and the 200/202/409
 * answers of compute&quorum=K for given attestations.
 */
describe('process@1.0 on a network (a stand-in NetworkPort)', () => {
  function fakePort(self: string) {
    const computed: Array<{ pid: string; facts: AttestationFacts }> = []
    const others: AttestationEntry[] = []
    const own = new Map<string, AttestationEntry>()
    const followed = new Set<string>()
    const entry = (address: string, f: AttestationFacts, isOwn: boolean): AttestationEntry => ({ ...f, address, id: `id-${address}`, own: isOwn, announced: true })
    const port = {
      address: self, peerId: 'peer', multiaddrs: () => [], peers: () => [], topics: () => [], followed: () => [...followed],
      follow: (pid: string) => { followed.add(pid) }, unfollow: () => undefined,
      publish: async () => ({ id: '', recipients: [] }), announce: async () => message({}), forward: async () => ({ id: '', recipients: [] }),
      computed: (pid: string, facts: AttestationFacts) => { computed.push({ pid, facts }); own.set(String(facts.slot), entry(self, facts, true)) },
      attest: async (_pid: string, facts: AttestationFacts) => own.get(String(facts.slot)) ?? entry(self, facts, true),
      attestations: (_pid: string, slot: bigint) => [...(own.has(String(slot)) ? [own.get(String(slot))!] : []), ...others.filter((e) => e.slot === slot)],
      attestedSlots: () => [], disputed: () => new Map(), nextAttestation: async () => undefined, pull: () => 1_000,
      startFromSnapshot: async () => { throw new Error('not in this test') },
    } satisfies NetworkPort
    return { port, computed, others, followed, entry }
  }

  it('each computed slot is reported with the stored result ID and hashpath; a quorum read answers 202, 200, 409 by the rule', async () => {
    const store = new MemoryStore()
    const ctx = ctxFor(store)
    const f = fakePort(w1.address)
    setNetworkPort(store, f.port)
    try {
      const { proc, pid } = await spawn(ctx, { 'execution-device': 'counter@1.0' })
      await send(ctx, proc, { n: 2n })
      const r = (await computeAt(ctx, proc, 1n)).value as Message
      expect(f.followed.has(pid)).toBe(true)
      expect(f.computed.map((c) => c.facts.slot)).toEqual([0n, 1n])
      const facts = f.computed[1]!.facts
      expect(facts.result).toBe(messageId(r))
      expect(facts.hashpath).toBe(await chain(store, pid, 1n))
      const a1 = (await store.read(`assignments/${pid}/1`)) as Message
      expect(facts.assignment).toBe(messageId(a1, 'signed'))
      expect(facts.hashChain).toBe(a1['hash-chain'])
      const q = (k: number) => run(proc, message({ path: 'compute', slot: 1n, quorum: BigInt(k) }), ctx)
      // Only this node: 202 with the count.
      let o = await q(2)
      expect((o.value as Message)['status']).toBe(202n)
      expect((o.value as Message)['attested']).toBe(1n)
      // A second wallet agrees: 200 with both, and the state.
      f.others.push(f.entry('B'.repeat(43), facts, false))
      o = await q(2)
      expect(o.status).toBe('ok')
      const v = o.value as Message
      expect(v['status']).toBeUndefined()
      expect(v['count']).toBe(2n)
      expect(v['quorum-attesters']).toEqual([w1.address, 'B'.repeat(43)])
      expect(v['quorum-result']).toBe(facts.result)
      // A third differs: quorum 2 stays 200 (reported), quorum 3 is 409 with both hashpaths.
      f.others.push(f.entry('C'.repeat(43), { ...facts, hashpath: 'other' }, false))
      o = await q(2)
      expect((o.value as Message)['quorum-disputed']).toEqual(['C'.repeat(43)])
      o = await q(3)
      const c = o.value as Message
      expect(c['status']).toBe(409n)
      expect((c['hashpaths'] as Message[]).map((x) => [x['address'], x['hashpath']])).toEqual([[w1.address, facts.hashpath], ['C'.repeat(43), 'other']])
      // A slot not assigned yet: 202, computed false.
      o = await run(proc, message({ path: 'compute', slot: 5n, quorum: 1n }), ctx)
      expect((o.value as Message)['status']).toBe(202n)
      expect((o.value as Message)['computed']).toBe(false)
      // quorum must be an integer ≥ 1.
      o = await run(proc, message({ path: 'compute', slot: 1n, quorum: 0n }), ctx)
      expect(o.status).toBe('error')
    } finally {
      setNetworkPort(store, undefined)
    }
  })

  it('without a network, compute&quorum is NoNetwork (503)', async () => {
    const ctx = ctxFor()
    const { proc } = await spawn(ctx, { 'execution-device': 'counter@1.0' })
    await expect(run(proc, message({ path: 'compute', slot: 0n, quorum: 1n }), ctx)).rejects.toMatchObject({ name: 'NoNetwork', status: 503 })
  })
  it('a result write that fails is reported once (flushResults, else the next compute), stays queued and served, and lands when the store is back', async () => {
    // A memory store whose writes fail while `failing` is set (a full disk, a closed database).
    const inner = new MemoryStore()
    let failing = false
    const store: Store = {
      name: 'failing',
      read: (p) => inner.read(p),
      list: (p) => inner.list(p),
      write: (p, v) => (failing ? Promise.reject(new StoreFailed(`cannot write ${p}: disk full`)) : inner.write(p, v)),
      link: (p, t) => (failing ? Promise.reject(new StoreFailed(`cannot link ${p}: disk full`)) : inner.link(p, t)),
    }
    const ctx = ctxFor(store)
    const { proc, pid } = await spawn(ctx, { 'execution-device': 'counter@1.0' })
    for (let i = 1; i <= 3; i++) await send(ctx, proc, { n: BigInt(i) })
    await computeAt(ctx, proc, 0n)
    await flushResults(store)

    failing = true
    const r1 = (await computeAt(ctx, proc, 1n)).value as Message
    expect(r1['count']).toBe(1n)
    await expect(flushResults(store)).rejects.toBeInstanceOf(StoreFailed)
    // Still served from the queue, identically.
    expect(messageId((await readResult(store, pid, 1n))!)).toBe(messageId(r1))
    failing = false
    await flushResults(store)
    expect(messageId((await inner.read(`computed/${pid}/slot/1`)) as Message)).toBe(messageId(r1))

    // Unflushed, the failure is thrown by the next compute of that store; then it goes on.
    failing = true
    expect((await computeAt(ctx, proc, 2n)).status).toBe('ok')
    // The writer gathers a batch for GATHER_MS, then writes it (and fails).
    await new Promise((r) => setTimeout(r, GATHER_MS + 30))
    await expect(computeAt(ctx, proc, 3n)).rejects.toBeInstanceOf(StoreFailed)
    failing = false
    expect(((await computeAt(ctx, proc, 3n)).value as Message)['count']).toBe(6n)
    await flushResults(store)
    expect(((await inner.read(`computed/${pid}/slot/2`)) as Message)['count']).toBe(3n)
    expect(((await inner.read(`computed/${pid}/slot/3`)) as Message)['count']).toBe(6n)
  })
})
