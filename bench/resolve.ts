/**
 * In-process resolutions per second of a 3-step HyperPATH, each against a
 * baseline measured in the same run (interleaved rounds, medians):
 *
 *   resolvePath   parse + resolve (hashpath of every step), no cache
 *                 vs parsePath alone on the same request
 *   HTTP handler  Request → message → meta@1.0 pipeline (cache [always],
 *                 hooks, status) → httpsig reply, no sockets
 *                 vs resolvePath of the same path
 */
import { fmt } from './harness.ts'
import { createNode } from '../src/node/node.ts'
import { handleHttpReply } from '../src/node/http.ts'
import { parsePath } from '../src/core/path.ts'
import { message } from '../src/core/value.ts'

export const PATH = '/~message@1.0&a=1&b=2/set&c=3/c'

async function round(fn: () => unknown, ms: number): Promise<number> {
  let n = 0
  const start = performance.now()
  const end = start + ms
  let now = start
  while (now < end) {
    for (let i = 0; i < 8; i++) await fn()
    n += 8
    now = performance.now()
  }
  return (n * 1000) / (now - start)
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

export async function compareAsync(subject: () => unknown, baseline: () => unknown, { rounds = 7, ms = 200 } = {}) {
  await round(subject, ms)
  await round(baseline, ms)
  const s: number[] = []
  const b: number[] = []
  const r: number[] = []
  for (let i = 0; i < rounds; i++) {
    const x = await round(subject, ms)
    const y = await round(baseline, ms)
    s.push(x); b.push(y); r.push(x / y)
  }
  return { subject: median(s), baseline: median(b), ratio: median(r) }
}

export interface ResolveRow { name: string; rate: number; baselineName: string; baseline: number; ratio: number }

export async function benchResolve(): Promise<ResolveRow[]> {
  const node = await createNode()
  const check = await node.resolvePath(PATH)
  if (check.status !== 'ok' || check.value !== '3') throw new Error(`bench path does not resolve to "3": ${check.status}`)
  const rows: ResolveRow[] = []
  const parsed = compareAsync(() => node.resolvePath(PATH), () => parsePath(message({ path: PATH })))
  const p = await parsed
  rows.push({ name: `resolvePath \`${PATH}\``, rate: p.subject, baselineName: 'parsePath alone', baseline: p.baseline, ratio: p.ratio })
  const url = 'http://127.0.0.1:8734' + PATH
  const headers = { host: '127.0.0.1:8734', accept: '*/*', 'user-agent': 'bench' }
  const h = await compareAsync(() => handleHttpReply(node, new Request(url, { headers })), () => node.resolvePath(PATH))
  rows.push({ name: 'HTTP handler in process (Request → httpsig reply)', rate: h.subject, baselineName: 'resolvePath', baseline: h.baseline, ratio: h.ratio })
  return rows
}

export function printResolve(rows: ResolveRow[]): void {
  console.log('\nIn-process resolutions per second (3-step HyperPATH) vs a baseline in the same run')
  console.log('| subject | per second | baseline | baseline per second | ratio |')
  console.log('|---|---:|---|---:|---:|')
  for (const r of rows) console.log(`| ${r.name} | ${fmt(r.rate)} | ${r.baselineName} | ${fmt(r.baseline)} | ${r.ratio.toFixed(3)} |`)
}
