#!/usr/bin/env node
/**
 * Persistent storage in Chromium, on real IndexedDB, across page reloads:
 *
 *   1. stores: a module worker (test/browser/store-worker-entry.ts, bundled with
 *      esbuild) checks a fresh origin is empty, writes exact values, a link and a
 *      chunked snapshot (IdbStore + blockstore-idb); after a reload a new worker
 *      reads them all back exactly and restores the snapshot by its CID;
 *   2. the app: `vite build`, served by bin/serve-static.js; the node in the tab's
 *      worker caches a computed result (cache-control: always) in its IndexedDB
 *      store; after a reload the new node reads it back through ~cache@1.0/read.
 *
 * Prints one line per check, then `store: N passed, N failed`; exits 1 on failure.
 */
import { spawn } from 'node:child_process'
import { createServer } from 'node:http'
import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { deadline, launch, oneLine, removeDir, tempDir, run } from './chromium.js'

const HERE = fileURLToPath(new URL('.', import.meta.url))
const ROOT = resolve(HERE, '../..')
const STEP_MS = 60_000

const PAGE = `<!doctype html>
<meta charset="utf-8"><title>ao-tab store e2e</title><link rel="icon" href="data:,">
<script type="module">
  const phase = new URLSearchParams(location.search).get('phase')
  const worker = new Worker('/store-worker.js?phase=' + phase, { type: 'module' })
  worker.onmessage = (e) => aoStoreReport(e.data)
  worker.onerror = (e) => { e.preventDefault(); aoStoreReport({ ok: false, phase, error: 'worker error: ' + (e.message || 'failed to load') }) }
</script>
`

const counts = { passed: 0, failed: 0 }
async function check(name, fn) {
  try {
    const detail = await fn()
    counts.passed++
    console.log(`ok   ${name}${detail ? `: ${detail}` : ''}`)
  } catch (e) {
    counts.failed++
    console.log(`FAIL ${name}: ${oneLine(e.message)}`)
    throw e
  }
}

function startStatic(dir) {
  const child = spawn(process.execPath, ['bin/serve-static.js', dir], { cwd: ROOT, env: { ...process.env, PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] })
  return new Promise((ok, fail) => {
    let out = ''
    const seen = (d) => {
      out += d
      const url = /http:\/\/127\.0\.0\.1:\d+\//.exec(out)?.[0]
      if (url) ok({ child, url })
    }
    child.stdout.on('data', seen)
    child.stderr.on('data', seen)
    child.on('error', fail)
    child.on('exit', (code) => fail(new Error(`serve-static exited ${code}: ${out}`)))
  })
}

async function serveBundle(dir) {
  const server = createServer((req, res) => {
    const { pathname } = new URL(req.url, 'http://127.0.0.1')
    const send = (status, body, type) => { res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' }); res.end(body) }
    if (pathname === '/') return send(200, PAGE, 'text/html; charset=utf-8')
    if (pathname === '/store-worker.js' || pathname === '/store-worker.js.map') {
      return readFile(join(dir, pathname.slice(1))).then((b) => send(200, b, 'text/javascript'), (e) => send(500, e.message, 'text/plain'))
    }
    send(404, 'not found', 'text/plain')
  })
  await new Promise((ok, fail) => server.once('error', fail).listen(0, '127.0.0.1', ok))
  return server
}

/** Loads (or reloads) the store page in `phase` and waits for the worker's report. */
async function workerPhase(page, origin, phase, how) {
  let settle
  const report = new Promise((ok) => { settle = ok })
  page.__aoSettle = settle
  if (how === 'reload') {
    await page.evaluate((p) => history.replaceState(null, '', `/?phase=${p}`), phase)
    await page.reload()
  } else await page.goto(`${origin}/?phase=${phase}`)
  const timer = deadline(STEP_MS, `the ${phase} phase`)
  try {
    const r = await Promise.race([report, timer.promise])
    if (!r.ok) throw new Error(r.error)
    if (r.phase !== phase) throw new Error(`the worker ran phase ${r.phase}, not ${phase}`)
    return r.detail
  } finally {
    timer.clear()
  }
}

async function main() {
  let bundleDir, dist, server, statik, browser
  try {
    bundleDir = await tempDir('store-e2e')
    await build({
      entryPoints: [join(HERE, 'store-worker-entry.ts')], outfile: join(bundleDir, 'store-worker.js'),
      bundle: true, format: 'esm', platform: 'browser', target: 'es2022', sourcemap: 'linked', logLevel: 'warning',
    })
    server = await serveBundle(bundleDir)
    const origin = `http://127.0.0.1:${server.address().port}`
    browser = await launch()
    const page = browser.context.pages()[0] ?? (await browser.context.newPage())
    await page.exposeFunction('aoStoreReport', (r) => page.__aoSettle?.(r))
    page.on('console', (m) => { if (m.type() === 'error') console.error(`[chromium] ${oneLine(m.text())}`) })

    await check('worker: a fresh origin has nothing stored', () => workerPhase(page, origin, 'empty', 'goto'))
    await check('worker: IdbStore and blockstore-idb write exact values and a snapshot', () => workerPhase(page, origin, 'write', 'goto'))
    await check('worker: after a page reload, everything reads back exactly and the snapshot restores by CID', () => workerPhase(page, origin, 'check', 'reload'))

    dist = await tempDir('store-dist')
    await check('vite build', async () => { await run(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--outDir', dist, '--emptyOutDir', '--logLevel', 'warn']) })
    statik = await startStatic(dist)
    const app = await browser.context.newPage()
    const ready = async () => {
      await app.waitForFunction(() => typeof globalThis.aoNode !== 'undefined', null, { timeout: STEP_MS })
      return app.evaluate(() => aoNode.ready())
    }
    const token = `t${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`
    let hashpath
    await check('app: the node in the tab stores in IndexedDB and caches a computed result', async () => {
      await app.goto(statik.url)
      const info = await ready()
      if (!info.ready) throw new Error(`the node did not start: ${info.error}`)
      if (info.store !== 'idb:ao-tab-store') throw new Error(`the node's store is ${info.store} (${info.storeError ?? 'no error'})`)
      const out = await app.evaluate((t) => aoNode.resolvePath(`/~message@1.0&hello=world/set?token=${t}&cache-control=always`), token)
      hashpath = /"hashpath":"([^"]+)"/.exec(out.value)?.[1]
      if (out.status !== 'ok' || !hashpath) throw new Error(`unexpected result ${out.status} ${out.value}`)
      return `computed/${hashpath}`
    })
    await check('app: after a reload, the new node reads the cached result from IndexedDB', async () => {
      await app.reload()
      const info = await ready()
      if (!info.ready || info.store !== 'idb:ao-tab-store') throw new Error(`after the reload: ${JSON.stringify(info)}`)
      const target = encodeURIComponent(`computed/${hashpath}`)
      const out = await app.evaluate((t) => aoNode.resolvePath(`/~cache@1.0/read?target=${t}`), target)
      if (out.status !== 'ok' || !out.value.includes(`"token":"${token}"`)) throw new Error(`read gave ${out.status} ${out.value}`)
      return 'found, with its token'
    })
    return null
  } catch (e) {
    return e
  } finally {
    await browser?.close()
    if (server) { server.closeAllConnections(); await new Promise((ok) => server.close(ok)) }
    statik?.child.kill()
    await removeDir(bundleDir)
    await removeDir(dist)
  }
}

const error = await main()
if (error && counts.failed === 0) console.log(`store: error: ${oneLine(error.message)}`)
console.log(`store: ${counts.passed} passed, ${counts.failed} failed`)
process.exit(error || counts.failed > 0 ? 1 : 0)
