#!/usr/bin/env node
/**
 * `npm run bench:token-browser`: token transfers computed per second in a
 * Chromium module worker (Debian's /usr/bin/chromium through playwright-core)
 * on the tab's node as the app composes it (IndexedDB store, snapshots as
 * blocks in blockstore-idb): hyper-token.lua on lua@5.3a, N transfers
 * scheduled, then compute&slot=N from the spawn state timed
 * (bench/token-browser-entry.ts), against bare Lua calls measured in the same
 * worker. Prints ONE JSON line:
 *
 *   {"bench":"token-browser","transfers":N,"seconds":s,"perSecond":x,
 *    "baseline":{"what":…,"perSecond":y},"ratio":x/y,"bareCallsPerTransfer":y/x,
 *    "durableSeconds","durablePerSecond" (until every result is in IndexedDB),
 *    "idbBaseline":{…},"signSeconds","scheduleSeconds","storage":{op:{n,seconds}},"chromium",…}
 *
 * The baseline is bare Lua calls (wasmoon's C API) in the same worker: every
 * transfer enters the VM at least once, the baseline does not use the node's
 * code, so y/x reads as "one transfer costs this many bare VM calls" and falls
 * only when the compute path gets faster. idbBaseline (raw 32 KiB IndexedDB
 * puts, one transaction each) and storage (the timed compute's store and
 * block operations) show how much of a slot is IndexedDB.
 *
 * Exits 1 when the run fails (a wrong balance counts as failing), not on speed.
 * Env: AO_BENCH_TRANSFERS (default 1000), AO_SHARED (default ../shared), CHROMIUM_PATH;
 * diagnostics: AO_BENCH_STORE=memory (the node in memory instead of IndexedDB, to see what
 * storage costs), AO_BENCH_CACHE_FREQUENCY=<n> (a snapshot every n slots instead of the node's default).
 */
import { createServer } from 'node:http'
import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { launch, tempDir, removeDir, deadline } from '../test/browser/chromium.js'

const HERE = fileURLToPath(new URL('.', import.meta.url))
const ROOT = resolve(HERE, '..')
const SHARED = resolve(process.env.AO_SHARED ?? resolve(ROOT, '../shared'))
const TRANSFERS = Number(process.env.AO_BENCH_TRANSFERS ?? 1000)
const LIMIT_MS = 300_000
const GLUE = join(ROOT, 'node_modules/wasmoon/dist/glue.wasm')

const PAGE = `<!doctype html><meta charset="utf-8"><title>token bench</title><link rel="icon" href="data:,">
<script type="module">
  window.runBench = (data) => new Promise((ok) => {
    const w = new Worker('/bench.js', { type: 'module' })
    w.onmessage = (e) => { ok(e.data); w.terminate() }
    w.onerror = (e) => ok({ ok: false, error: 'worker error: ' + e.message })
    w.postMessage(data)
  })
</script>`

/** Vite's `?url` import of glue.wasm (src/lua/wasm-url.ts) is this server's /glue.wasm here; Node-only imports stay out. */
const browserBundle = {
  name: 'token-bench',
  setup(b) {
    b.onResolve({ filter: /glue\.wasm\?url$/ }, () => ({ path: 'glue-url', namespace: 'token-bench' }))
    b.onLoad({ filter: /.*/, namespace: 'token-bench' }, () => ({ contents: 'export default "/glue.wasm"', loader: 'js' }))
  },
}

let dir, server, browser
try {
  if (!Number.isSafeInteger(TRANSFERS) || TRANSFERS < 1) throw new Error(`AO_BENCH_TRANSFERS=${process.env.AO_BENCH_TRANSFERS} is not a positive integer`)
  dir = await tempDir('token-bench')
  await build({
    entryPoints: [join(HERE, 'token-browser-entry.ts')], outfile: join(dir, 'bench.js'), bundle: true, format: 'esm',
    platform: 'browser', target: 'es2022', logLevel: 'error', external: ['module', 'url'], plugins: [browserBundle],
  })
  const files = {
    '/': [PAGE, 'text/html; charset=utf-8'],
    '/bench.js': [await readFile(join(dir, 'bench.js')), 'text/javascript'],
    '/glue.wasm': [await readFile(GLUE), 'application/wasm'],
  }
  server = createServer((req, res) => {
    const f = files[new URL(req.url, 'http://127.0.0.1').pathname]
    res.writeHead(f ? 200 : 404, { 'content-type': f ? f[1] : 'text/plain', 'cache-control': 'no-store' })
    res.end(f ? f[0] : 'not found')
  })
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok))
  const origin = `http://127.0.0.1:${server.address().port}`
  browser = await launch()
  await browser.context.route((url) => url.origin !== origin, (route) => route.abort())
  const page = browser.context.pages()[0] ?? await browser.context.newPage()
  page.on('console', (m) => { if (m.type() === 'error') console.error('[chromium]', m.text()) })
  await page.goto(`${origin}/`)
  const data = {
    token: await readFile(join(SHARED, 'hyperbeam-data/scripts/hyper-token.lua'), 'utf8'),
    jwk1: JSON.parse(await readFile(join(SHARED, 'hyperbeam-data/test/key-1.json'), 'utf8')),
    jwk2: JSON.parse(await readFile(join(SHARED, 'hyperbeam-data/test/key-2.json'), 'utf8')),
    transfers: TRANSFERS,
    memory: process.env.AO_BENCH_STORE === 'memory',
    ...(process.env.AO_BENCH_CACHE_FREQUENCY && { cacheFrequency: Number(process.env.AO_BENCH_CACHE_FREQUENCY) }),
  }
  const timer = deadline(LIMIT_MS, 'the token bench')
  let r
  try {
    r = await Promise.race([page.evaluate((d) => window.runBench(d), data), timer.promise])
  } finally {
    timer.clear()
  }
  if (!r.ok) throw new Error(r.error)
  if (!r.worker) throw new Error('the bench did not run in a worker')
  const round = (x, d) => Number(x.toPrecision(d))
  console.log(JSON.stringify({
    bench: 'token-browser',
    transfers: r.transfers,
    seconds: round(r.seconds, 4),
    perSecond: Math.round(r.perSecond),
    durableSeconds: round(r.durableSeconds, 4),
    durablePerSecond: Math.round(r.transfers / r.durableSeconds),
    baseline: { what: r.baseline.what, perSecond: Math.round(r.baseline.perSecond) },
    ratio: round(r.ratio, 3),
    bareCallsPerTransfer: Math.round(r.baseline.perSecond / r.perSecond),
    idbBaseline: { what: r.idbBaseline.what, perSecond: Math.round(r.idbBaseline.perSecond) },
    signSeconds: round(r.signSeconds, 3),
    scheduleSeconds: round(r.scheduleSeconds, 3),
    store: r.store,
    blocks: r.blocks,
    hashes: r.hashes,
    luaFastPaths: r.luaFastPaths,
    cacheFrequency: r.cacheFrequency,
    storage: Object.fromEntries(Object.entries(r.storage).map(([k, v]) => [k, { n: v.n, seconds: round(v.seconds, 3) }])),
    chromium: /Chrome\/([\d.]+)/.exec(r.ua)?.[1] ?? 'unknown',
  }))
} catch (e) {
  console.error(`bench:token-browser: ${e.message}`)
  process.exitCode = 1
} finally {
  await browser?.close()
  server?.close()
  await removeDir(dir)
}
