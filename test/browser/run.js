#!/usr/bin/env node
/**
 * Runs every vector suite of test/vectors in a Chromium module Web Worker.
 *
 *   1. bundles test/browser/worker-entry.ts with esbuild into a temp dir;
 *   2. serves it on 127.0.0.1 (free port) with the shared folder read-only under
 *      /shared/ and directory listings (JSON arrays of sorted names) under /list/;
 *   3. opens a page in Chromium that starts the worker and relays its reports.
 *
 * Prints one line per failing case, then `browser: N passed, N failed`.
 * Exits 1 on any failure, when no case ran, or when the worker errors or times out.
 * Env: AO_SHARED (shared folder, default ../shared beside the repo),
 *      AO_BROWSER_TIMEOUT_MS (default 300000), CHROMIUM_PATH (default /usr/bin/chromium).
 */
import { createServer } from 'node:http'
import { readFile, readdir, realpath, stat } from 'node:fs/promises'
import { extname, join, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { deadline, launch, oneLine, removeDir, tempDir } from './chromium.js'

const HERE = fileURLToPath(new URL('.', import.meta.url))
const ROOT = resolve(HERE, '../..')
const SHARED = resolve(process.env.AO_SHARED ?? resolve(ROOT, '../shared'))
const TIMEOUT_MS = Number(process.env.AO_BROWSER_TIMEOUT_MS ?? 300_000)

const PAGE = `<!doctype html>
<meta charset="utf-8"><title>ao-tab vectors</title><link rel="icon" href="data:,">
<script type="module">
  const worker = new Worker('/worker.js', { type: 'module' })
  worker.onmessage = (e) => aoReport(e.data)
  worker.onerror = (e) => {
    e.preventDefault()
    const where = e.filename ? ' at ' + e.filename + ':' + e.lineno : ''
    aoReport({ type: 'fatal', error: 'worker error: ' + (e.message || 'the worker script failed to load') + where })
  }
  worker.onmessageerror = () => aoReport({ type: 'fatal', error: 'a worker message could not be deserialized' })
</script>
`

const TYPES = { '.js': 'text/javascript', '.json': 'application/json', '.map': 'application/json', '.html': 'text/html' }

/** The absolute path of `rel` inside `root`, or null when it would leave root (403), undefined when absent (404). */
async function inside(root, rel) {
  if (rel.includes('\0') || rel.includes('\\')) return null
  const parts = rel.split('/').filter(Boolean)
  if (parts.some((p) => p === '..' || p === '.')) return null
  let real
  try {
    real = await realpath(join(root, ...parts))
  } catch {
    return undefined
  }
  return real === root || real.startsWith(root + sep) ? real : null
}

function send(res, status, body, type = 'text/plain; charset=utf-8') {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' })
  res.end(body)
}

async function handle(req, res, bundleDir, sharedRoot) {
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'read-only\n')
  const { pathname } = new URL(req.url, 'http://127.0.0.1')
  if (pathname === '/') return send(res, 200, PAGE, 'text/html; charset=utf-8')
  if (pathname === '/worker.js' || pathname === '/worker.js.map') {
    return send(res, 200, await readFile(join(bundleDir, pathname.slice(1))), TYPES[extname(pathname)])
  }
  const route = pathname.startsWith('/shared/') ? 'shared' : pathname.startsWith('/list/') ? 'list' : null
  if (!route) return send(res, 404, 'not found\n')
  let rel
  try {
    rel = decodeURIComponent(pathname.slice(route.length + 2))
  } catch {
    return send(res, 400, 'bad path\n')
  }
  const file = await inside(sharedRoot, rel)
  if (file === null) return send(res, 403, 'outside the shared folder\n')
  if (file === undefined) return send(res, 404, `no such fixture: ${rel}\n`)
  const isDir = (await stat(file)).isDirectory()
  if (route === 'list') {
    if (!isDir) return send(res, 404, `not a folder: ${rel}\n`)
    // Sorted as test/unit/node-fixtures.ts sorts them, so both runs see the same order.
    return send(res, 200, JSON.stringify((await readdir(file)).sort()), TYPES['.json'])
  }
  if (isDir) return send(res, 404, `a folder, not a file: ${rel}\n`)
  return send(res, 200, await readFile(file), TYPES[extname(file)] ?? 'application/octet-stream')
}

async function serve(bundleDir, sharedRoot) {
  const server = createServer((req, res) => {
    handle(req, res, bundleDir, sharedRoot).catch((e) => send(res, 500, `${e.message}\n`))
  })
  await new Promise((ok, fail) => server.once('error', fail).listen(0, '127.0.0.1', ok))
  return server
}

async function main() {
  const counts = { passed: 0, failed: 0 }
  let bundleDir, server, browser
  try {
    const sharedRoot = await realpath(SHARED).catch(() => {
      throw new Error(`shared folder not found: ${SHARED} (set AO_SHARED)`)
    })
    bundleDir = await tempDir('browser-vectors')
    await build({
      entryPoints: [join(HERE, 'worker-entry.ts')],
      outfile: join(bundleDir, 'worker.js'),
      bundle: true, format: 'esm', platform: 'browser', target: 'es2022',
      sourcemap: 'linked', logLevel: 'warning',
    })
    server = await serve(bundleDir, sharedRoot)
    const origin = `http://127.0.0.1:${server.address().port}`

    browser = await launch()
    const page = browser.context.pages()[0] ?? (await browser.context.newPage())
    console.log('browser: running the vector suites in a Chromium module worker')

    let finish, abort
    const finished = new Promise((ok, fail) => { finish = ok; abort = fail })
    finished.catch(() => {}) // may reject before it is awaited; awaited below
    let last = 'before the first case'
    await page.exposeFunction('aoReport', (r) => {
      if (r.type === 'case') {
        last = `after ${r.suite} › ${r.name}`
        if (r.ok) counts.passed++
        else {
          counts.failed++
          console.log(`FAIL ${r.suite} › ${r.name}: ${oneLine(r.error)}`)
        }
      } else if (r.type === 'done') finish()
      else abort(new Error(oneLine(r.error)))
    })
    page.on('pageerror', (e) => abort(new Error(`page error: ${oneLine(e.message)}`)))
    page.on('crash', () => abort(new Error('the page crashed')))
    page.on('console', (m) => { if (m.type() === 'error') console.error(`[chromium] ${oneLine(m.text())}`) })

    await page.goto(`${origin}/`)
    const timer = deadline(TIMEOUT_MS, 'the worker')
    try {
      await Promise.race([finished, timer.promise])
    } catch (e) {
      throw new Error(`${e.message} (${last})`)
    } finally {
      timer.clear()
    }
    return { ...counts, error: null }
  } catch (e) {
    return { ...counts, error: e }
  } finally {
    await browser?.close()
    if (server) {
      server.closeAllConnections()
      await new Promise((ok) => server.close(ok))
    }
    await removeDir(bundleDir)
  }
}

const { passed, failed, error } = await main()
if (error) console.log(`browser: error: ${oneLine(error.message)}`)
else if (passed + failed === 0) console.log('browser: no vector case ran (is test/vectors/index.ts empty?)')
console.log(`browser: ${passed} passed, ${failed} failed`)
process.exit(error || failed > 0 || passed === 0 ? 1 : 0)
