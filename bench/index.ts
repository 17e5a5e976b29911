/**
 * `npm run bench`: every benchmark, each against a baseline measured in the
 * same run. `npm run bench -- p2p token` runs only the sections named (ids,
 * resolve, http, token, restore, scheduler, p2p, token-browser).
 */
import '../test/setup.ts'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { benchIds, printIds } from './ids.ts'
import { benchResolve, printResolve } from './resolve.ts'
import { benchHttp, printHttp } from './http.ts'
import { benchToken, printToken } from './token.ts'
import { benchRestore, printRestore } from './restore.ts'
import { benchP2p, printP2p } from './p2p.ts'
import { benchScheduler, printScheduler } from './scheduler.ts'

const SECTIONS = ['ids', 'resolve', 'http', 'token', 'restore', 'scheduler', 'p2p', 'token-browser']
const asked = process.argv.slice(2)
for (const a of asked) if (!SECTIONS.includes(a)) throw new Error(`unknown bench section ${a}: one of ${SECTIONS.join(', ')}`)
const run = (name: string): boolean => asked.length === 0 || asked.includes(name)

console.log(`node ${process.version}, ${new Date().toISOString()}`)
if (run('ids')) printIds(benchIds())
if (run('resolve')) printResolve(await benchResolve())
if (run('http')) printHttp(await benchHttp())
if (run('token')) printToken(await benchToken())
if (run('restore')) printRestore(await benchRestore())
if (run('scheduler')) printScheduler(await benchScheduler())
if (run('p2p')) printP2p(await benchP2p())
if (run('token-browser')) tokenBrowser()

// The same token run in Chromium's worker (a child: Playwright and a browser).
function tokenBrowser(): void {
  const browser = spawnSync(process.execPath, [fileURLToPath(new URL('./token-browser.js', import.meta.url))], { encoding: 'utf8', timeout: 600_000 })
  const line = browser.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop()
  if (browser.status !== 0 || !line) {
    console.log(`\nChromium token bench failed (exit ${browser.status}): ${(browser.stderr || browser.stdout).slice(-2000)}`)
    process.exitCode = 1
  } else {
    const r = JSON.parse(line) as { transfers: number; seconds: number; perSecond: number; durablePerSecond?: number; baseline: { what: string; perSecond: number }; chromium?: string }
    console.log(`\nToken transfers computed per second in Chromium's worker (IndexedDB, blockstore-idb; goal ≥ 1,000/s)${r.chromium ? `, Chromium ${r.chromium}` : ''}`)
    console.log('| transfers | transfers/s | until every result is in IndexedDB | baseline | baseline/s | bare calls per transfer |')
    console.log('|---:|---:|---:|---|---:|---:|')
    console.log(`| ${r.transfers} | ${Math.round(r.perSecond).toLocaleString('en-US')} | ${r.durablePerSecond ? Math.round(r.durablePerSecond).toLocaleString('en-US') + '/s' : '—'} | ${r.baseline.what} | ${Math.round(r.baseline.perSecond).toLocaleString('en-US')} | ${(r.baseline.perSecond / r.perSecond).toFixed(1)} |`)
  }
}
