/**
 * Restore from a snapshot versus replay from slot 0, for a process of
 * AO_BENCH_SLOTS (default 10,000) slots: a small Lua counter on lua@5.3a,
 * every slot a signed message (signing and scheduling are setup, not timed).
 *
 *   replay    a node with the assignments and nothing computed computes to
 *             slot N: init, then N slots (snapshots every 100 on the way)
 *   restore   the same store, the live state dropped (a restarted node):
 *             compute slot N+1 — the newest snapshot (slot N) through
 *             normalize, then one slot
 *
 * The ratio replay ÷ restore is the figure (goal ≥ 50); restore does one slot
 * more than replay, so the ratio errs low. Both answers are checked.
 */
import { message, type Message } from '../src/core/value.ts'
import { flushResults, dropLiveStates } from '../src/devices/process.ts'
import { MemoryStore } from '../src/store/memory.ts'
import { fmt } from './harness.ts'
import { computeTo, scheduleAll, commitAll, spawnLua, testWallets } from './process-setup.ts'

const SLOTS = Number(process.env['AO_BENCH_SLOTS'] ?? 10_000)

const COUNTER = `
function compute(base, req)
  base.count = (base.count or 0) + (req.body.n or 1)
  base.results = { output = { data = tostring(base.count) } }
  return base
end`

export interface RestoreBench { slots: number; replaySeconds: number; restoreSeconds: number; ratio: number; setupSeconds: number }

export async function benchRestore(): Promise<RestoreBench> {
  const [w1] = await testWallets()
  const t0 = performance.now()
  // A memory store large enough for every slot's entries (the default keeps 100,000).
  const s = await spawnLua(w1, COUNTER, message({}), { store: new MemoryStore({ maxEntries: 2_000_000 }) })
  const specs = Array.from({ length: SLOTS + 1 }, (_, i) => ({ wallet: w1, msg: message({ type: 'Message', target: s.pid, n: BigInt(i + 1) }) }))
  await scheduleAll(s, await commitAll(specs))
  const setupSeconds = (performance.now() - t0) / 1000

  let t = performance.now()
  const atN = await computeTo(s, SLOTS)
  const replaySeconds = (performance.now() - t) / 1000
  // Slot 0 (the process itself) adds 1; slot i adds i.
  const sum = (n: number) => 1n + BigInt(n) * BigInt(n + 1) / 2n
  if (atN['count'] !== sum(SLOTS)) throw new Error(`replay: count ${String(atN['count'])}, expected ${sum(SLOTS)}`)
  await flushResults(s.node.store)
  dropLiveStates(s.node.store)

  t = performance.now()
  const next = await computeTo(s, SLOTS + 1)
  const restoreSeconds = (performance.now() - t) / 1000
  if ((next as Message)['count'] !== sum(SLOTS + 1)) throw new Error(`restore: count ${String(next['count'])}, expected ${sum(SLOTS + 1)}`)
  return { slots: SLOTS, replaySeconds, restoreSeconds, ratio: replaySeconds / restoreSeconds, setupSeconds }
}

export function printRestore(b: RestoreBench): void {
  console.log(`\nRestore from a snapshot vs replay from slot 0 (${fmt(b.slots)}-slot Lua process; goal ratio ≥ 50)`)
  console.log(`(setup, not timed: signing and scheduling ${fmt(b.slots + 1)} messages, ${b.setupSeconds.toFixed(1)} s)`)
  console.log('| replay to slot N | restore + slot N+1 | ratio | replayed slots/s |')
  console.log('|---:|---:|---:|---:|')
  console.log(`| ${b.replaySeconds.toFixed(2)} s | ${(b.restoreSeconds * 1000).toFixed(1)} ms | ${b.ratio.toFixed(0)} | ${fmt(b.slots / b.replaySeconds)} |`)
}
