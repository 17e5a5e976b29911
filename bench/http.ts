/**
 * HTTP resolves per second against `ao serve` (a child process, as a user
 * runs it) with one client on loopback: autocannon, 1 connection, rounds of
 * a few seconds interleaved with a baseline measured in the same run — a bare
 * node:http server (another child process) answering a constant. HyperBEAM's
 * own HTTP benchmark floor was 400 unsigned resolves/s with one client
 * (hb_http_benchmark_tests, commented out in edge); our goal is ≥ 4,000/s.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createRequire } from 'node:module'
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { fmt } from './harness.ts'
import { PATH } from './resolve.ts'

interface AutocannonResult { requests: { average: number; total: number }; duration: number; non2xx: number; errors: number }
type Autocannon = (opts: { url: string; connections: number; duration: number; pipelining?: number }) => Promise<AutocannonResult>
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..')
const SHARED = process.env.AO_SHARED ?? resolve(ROOT, '../shared')
const KEY = resolve(SHARED, 'hyperbeam-data/test/key-1.json')

const BARE = `require('node:http').createServer((q, s) => s.end('ok')).listen(0, '127.0.0.1', function () { console.log('bare: http://127.0.0.1:' + this.address().port + '/') })`

function startChild(args: string[], pattern: RegExp): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => { child.kill(); fail(new Error(`server did not start: ${out}`)) }, 60_000)
    child.stdout!.on('data', (d) => {
      out += d
      const m = pattern.exec(out)
      if (m) { clearTimeout(timer); ok({ child, url: m[1]! }) }
    })
    child.stderr!.on('data', (d) => { out += d })
    child.on('exit', (code) => { clearTimeout(timer); fail(new Error(`server exited ${code}: ${out}`)) })
  })
}

const stopChild = (c: ChildProcess): Promise<void> =>
  new Promise((ok) => { if (c.exitCode !== null) return ok(); c.once('exit', () => ok()); c.kill('SIGTERM') })

async function rate(url: string, seconds: number): Promise<number> {
  const r = await autocannon({ url, connections: 1, duration: seconds })
  if (r.errors > 0 || r.non2xx > 0) throw new Error(`${url}: ${r.errors} errors, ${r.non2xx} non-2xx answers`)
  return r.requests.total / r.duration
}

export interface HttpRow { name: string; rate: number; baseline: number; ratio: number }

export async function benchHttp({ seconds = 3, rounds = 3 } = {}): Promise<HttpRow[]> {
  const args = [resolve(ROOT, 'bin/ao.js'), 'serve', '--port', '0', ...(existsSync(KEY) ? ['--wallet', KEY] : [])]
  const ao = await startChild(args, /ao serve: (http:\/\/\S+)/)
  const bare = await startChild(['-e', BARE], /bare: (http:\/\/\S+)/)
  try {
    const targets: Array<[string, string]> = [
      [`\`${PATH}\` (3 steps, result cache [always])`, ao.url.replace(/\/$/, '') + PATH],
      ['`/~meta@1.0/info` (node message, not cached)', ao.url + '~meta@1.0/info'],
    ]
    const rows: HttpRow[] = []
    for (const [name, url] of targets) {
      await rate(url, 1) // warm-up: JIT
      await rate(bare.url, 1)
      const s: number[] = []
      const b: number[] = []
      for (let i = 0; i < rounds; i++) {
        s.push(await rate(url, seconds))
        b.push(await rate(bare.url, seconds))
      }
      const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length
      rows.push({ name, rate: mean(s), baseline: mean(b), ratio: mean(s) / mean(b) })
    }
    return rows
  } finally {
    await stopChild(ao.child)
    await stopChild(bare.child)
  }
}

export function printHttp(rows: HttpRow[]): void {
  console.log('\nHTTP resolves per second, `ao serve` with one client on loopback (autocannon, 1 connection) vs a bare node:http server answering a constant')
  console.log('| request | resolves/s | bare node:http req/s (baseline) | ratio | vs HyperBEAM floor (400/s) |')
  console.log('|---|---:|---:|---:|---:|')
  for (const r of rows) console.log(`| ${r.name} | ${fmt(r.rate)} | ${fmt(r.baseline)} | ${r.ratio.toFixed(2)} | ${(r.rate / 400).toFixed(1)}× |`)
}
