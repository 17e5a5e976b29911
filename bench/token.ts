/**
 * Token transfers computed per second in Node: hyper-token.lua on lua@5.3a,
 * N signed transfers scheduled (not timed), then compute&slot=N from the spawn
 * state timed, with the node's defaults (results written behind, a snapshot
 * every 100 slots). Twice: on a MemoryStore, and on a durable FsStore
 * (fsync per entry) holding the same assignments. The balances are checked.
 *
 * Baseline, in the same run: bare calls into a fresh Lua VM (our LuaVM over
 * wasmoon, a one-line function, a small argument). Every transfer enters the
 * VM at least once, so "bare calls per transfer" says what one transfer costs
 * in VM entries; it falls only when the compute path gets faster.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { message, type Message } from '../src/core/value.ts'
import { messageId } from '../src/core/id.ts'
import { FsStore } from '../src/store/fs.ts'
import { flushResults } from '../src/devices/process.ts'
import { LuaVM, DEFAULT_LIMITS } from '../src/lua/vm.ts'
import { fmt } from './harness.ts'
import { computeTo, scheduleAll, sharedText, commitAll, spawnLua, testWallets, type Spawned } from './process-setup.ts'

const TRANSFERS = Number(process.env['AO_BENCH_TRANSFERS'] ?? 1000)
const START = 1_000_000n

export interface TokenRow { store: string; transfers: number; seconds: number; perSecond: number; durableSeconds: number }
export interface TokenBench { rows: TokenRow[]; bareCallsPerSecond: number; signSeconds: number; scheduleSeconds: number }

async function bareCallsPerSecond(): Promise<number> {
  const vm = await LuaVM.create()
  vm.loadModule('function f(a) return a end', 'bench')
  const env = { seed: [0n, 0n] as [bigint, bigint], now: 0n, limits: DEFAULT_LIMITS, host: async () => [] }
  const arg = [message({ action: 'Transfer', quantity: 1n })]
  for (let i = 0; i < 200; i++) await vm.call('f', arg, env)
  const rates: number[] = []
  for (let r = 0; r < 5; r++) {
    const n = 2000
    const t = performance.now()
    for (let i = 0; i < n; i++) await vm.call('f', arg, env)
    rates.push((n * 1000) / (performance.now() - t))
  }
  return rates.sort((a, b) => a - b)[2]!
}

/** A node on `store` that holds the same process and assignments as `from`, nothing computed. */
async function copyOf(from: Spawned, store: FsStore): Promise<Spawned> {
  const { node, proc, pid } = from
  await store.write(pid, proc)
  for (let slot = 0; slot <= TRANSFERS; slot++) {
    const a = (await node.store.read(`assignments/${pid}/${slot}`)) as Message
    const id = messageId(a, 'signed')
    await store.write(id, a)
    await store.link(`assignments/${pid}/${slot}`, id)
  }
  const { createNode } = await import('../src/node/node.ts')
  return { node: await createNode({ wallet: node.wallet, store }), proc, pid }
}

async function timedCompute(s: Spawned, expected: Map<string, bigint>): Promise<{ seconds: number; durableSeconds: number }> {
  const t0 = performance.now()
  const last = await computeTo(s, TRANSFERS)
  const t1 = performance.now()
  await flushResults(s.node.store)
  const t2 = performance.now()
  const balance = last['balance'] as Message
  for (const [who, want] of expected) {
    if (balance[who] !== want) throw new Error(`balance of ${who}: ${String(balance[who])}, expected ${want}`)
  }
  return { seconds: (t1 - t0) / 1000, durableSeconds: (t2 - t0) / 1000 }
}

export async function benchToken(): Promise<TokenBench> {
  const [w1, w2] = await testWallets()
  const mem = await spawnLua(w1, sharedText('hyperbeam-data/scripts/hyper-token.lua'), message({ balance: message({ [w1.address]: START, [w2.address]: START }) }))
  const recipients = Array.from({ length: 5 }, (_, i) => String.fromCharCode(97 + i).repeat(43))
  const expected = new Map<string, bigint>([[w1.address, START], [w2.address, START]])
  const specs = Array.from({ length: TRANSFERS }, (_, i) => {
    const wallet = i % 2 === 0 ? w1 : w2
    const recipient = recipients[i % recipients.length]!
    const quantity = BigInt((i % 7) + 1)
    expected.set(wallet.address, expected.get(wallet.address)! - quantity)
    expected.set(recipient, (expected.get(recipient) ?? 0n) + quantity)
    return { wallet, msg: message({ type: 'Message', target: mem.pid, action: 'Transfer', recipient, quantity, nonce: BigInt(i) }) }
  })
  let t = performance.now()
  const signed = await commitAll(specs)
  const signSeconds = (performance.now() - t) / 1000
  t = performance.now()
  await scheduleAll(mem, signed)
  const scheduleSeconds = (performance.now() - t) / 1000

  const dir = mkdtempSync(join(tmpdir(), 'ao-bench-token-'))
  try {
    const fs = await copyOf(mem, new FsStore(dir))
    const bare = await bareCallsPerSecond()
    const m = await timedCompute(mem, expected)
    const f = await timedCompute(fs, expected)
    const row = (store: string, r: { seconds: number; durableSeconds: number }): TokenRow =>
      ({ store, transfers: TRANSFERS, seconds: r.seconds, perSecond: TRANSFERS / r.seconds, durableSeconds: r.durableSeconds })
    return { rows: [row('memory', m), row('filesystem (durable)', f)], bareCallsPerSecond: bare, signSeconds, scheduleSeconds }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

export function printToken(b: TokenBench): void {
  console.log(`\nToken transfers computed per second in Node (hyper-token.lua, ${TRANSFERS} transfers; goal ≥ 2,000/s)`)
  console.log(`(setup, not timed: signing ${b.signSeconds.toFixed(1)} s, scheduling ${b.scheduleSeconds.toFixed(1)} s)`)
  console.log('| store | transfers/s | seconds | until every result is written | baseline: bare Lua VM calls/s | bare calls per transfer |')
  console.log('|---|---:|---:|---:|---:|---:|')
  for (const r of b.rows) {
    console.log(`| ${r.store} | ${fmt(r.perSecond)} | ${r.seconds.toFixed(2)} | ${r.durableSeconds.toFixed(2)} s | ${fmt(b.bareCallsPerSecond)} | ${(b.bareCallsPerSecond / r.perSecond).toFixed(1)} |`)
  }
}
