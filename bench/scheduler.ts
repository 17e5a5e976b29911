/**
 * The scheduler alone (no network): N signed messages POSTed to one node's
 * scheduler@1.0 for one process, 64 in flight, memory store, until every
 * one is answered with its assignment: per second, with one RSA signature in
 * flight at a time (`scheduler_signatures` 1, this 2-core machine's default)
 * and with no practical limit (64). Baseline, in the same run: the same
 * number of assignment-sized messages signed one after another with the node
 * wallet (commitMessage), the rate a scheduler that signs in series cannot
 * beat.
 */
import { createNode } from '../src/node/node.ts'
import { message, type Message } from '../src/core/value.ts'
import { commitAll, commitMessage } from '../src/codecs/commitments.ts'
import { messageId } from '../src/core/id.ts'
import { testWallets } from './process-setup.ts'
import { fmt } from './harness.ts'

const N = Number(process.env['AO_BENCH_SCHEDULED'] ?? 600)

export interface SchedulerBench { serialSignsPerSecond: number; rows: { limit: number; perSecond: number }[] }

async function scheduleAllWith(limit: number, msgsFor: (pid: string) => Promise<Message[]>): Promise<number> {
  const [w1] = await testWallets()
  const node = await createNode({ wallet: w1, config: message({ scheduler_signatures: BigInt(limit) }) })
  const proc = await commitMessage(message({ type: 'Process', 'scheduler-device': 'scheduler@1.0', scheduler: w1.address, 'bench-seed': String(Math.random()) }), { wallet: w1 })
  await node.resolve(message({ device: 'scheduler@1.0' }), message({ path: 'schedule', method: 'POST', body: proc }))
  const msgs = await msgsFor(messageId(proc, 'signed'))
  const t0 = performance.now()
  let next = 0
  await Promise.all(Array.from({ length: 64 }, async () => {
    while (next < msgs.length) {
      const o = await node.resolve(message({ device: 'scheduler@1.0' }), message({ path: 'schedule', method: 'POST', body: msgs[next++]! }))
      if (o.status !== 'ok') throw new Error(`schedule: ${o.status}`)
    }
  }))
  return msgs.length / ((performance.now() - t0) / 1000)
}

export async function benchScheduler(): Promise<SchedulerBench> {
  const [w1, w2] = await testWallets()
  const msgsFor = (pid: string) => commitAll(Array.from({ length: N }, (_, i) => ({ wallet: w2, msg: message({ target: pid, n: BigInt(i) }) })))
  const rows = []
  for (const limit of [1, 64]) rows.push({ limit, perSecond: await scheduleAllWith(limit, msgsFor) })
  const sample = message({ path: 'compute', 'data-protocol': 'ao', variant: 'ao.N.1', process: 'p'.repeat(43), slot: 1n, 'hash-chain': 'h'.repeat(43), body: message({ target: 'p'.repeat(43), n: 1n }) })
  const t0 = performance.now()
  for (let i = 0; i < 200; i++) await commitMessage(sample, { wallet: w1 })
  return { serialSignsPerSecond: 200 / ((performance.now() - t0) / 1000), rows }
}

export function printScheduler(b: SchedulerBench): void {
  console.log(`\nThe scheduler alone: ${N} messages POSTed, 64 in flight, memory store, one process`)
  console.log('| RSA signatures in flight (scheduler_signatures) | assignments/s | baseline: assignments signed one after another/s | ratio |')
  console.log('|---|---:|---:|---:|')
  for (const r of b.rows) console.log(`| ${r.limit === 1 ? '1 (default on 2 cores)' : String(r.limit)} | ${fmt(r.perSecond)} | ${fmt(b.serialSignsPerSecond)} | ${(r.perSecond / b.serialSignsPerSecond).toFixed(2)} |`)
}
