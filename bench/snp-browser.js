#!/usr/bin/env node
/**
 * `npm run bench:browser`: snp@1.0 report verification in a Chromium module
 * worker (Debian's /usr/bin/chromium through playwright-core), against one
 * raw WebCrypto ECDSA P-384 verify measured in the same run. Prints markdown
 * rows; exits 1 if verifying one report (cold, first in a fresh tab) takes
 * 50 ms or more.
 *
 * Env: AO_SHARED (shared folder, default ../shared), CHROMIUM_PATH.
 */
import { createServer } from 'node:http'
import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { launch, tempDir, removeDir } from '../test/browser/chromium.js'

const HERE = fileURLToPath(new URL('.', import.meta.url))
const ROOT = resolve(HERE, '..')
const SHARED = resolve(process.env.AO_SHARED ?? resolve(ROOT, '../shared'))
const REPORT = join(SHARED, 'vectors/sev-snp/reports/gosev-milan-vcek-v2')
const LIMIT_MS = 50

const PAGE = `<!doctype html><meta charset="utf-8"><title>snp bench</title><link rel="icon" href="data:,">
<script type="module">
  window.runBench = (data) => new Promise((ok) => {
    const w = new Worker('/bench.js', { type: 'module' })
    w.onmessage = (e) => { ok(e.data); w.terminate() }
    w.onerror = (e) => ok({ ok: false, error: 'worker error: ' + e.message })
    w.postMessage(data)
  })
</script>`

const fmt = (ms) => ms.toFixed(ms < 1 ? 3 : 2)

let dir, server, browser
try {
  dir = await tempDir('snp-bench')
  await build({ entryPoints: [join(HERE, 'snp-browser-entry.ts')], outfile: join(dir, 'bench.js'), bundle: true, format: 'esm', platform: 'browser', target: 'es2022', logLevel: 'warning' })
  const js = await readFile(join(dir, 'bench.js'))
  server = createServer((req, res) => {
    const body = req.url === '/bench.js' ? js : PAGE
    res.writeHead(req.url === '/bench.js' || req.url === '/' ? 200 : 404, { 'content-type': req.url === '/bench.js' ? 'text/javascript' : 'text/html' })
    res.end(req.url === '/bench.js' || req.url === '/' ? body : '')
  })
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok))
  browser = await launch()
  const page = browser.context.pages()[0] ?? await browser.context.newPage()
  page.on('console', (m) => console.log('[chromium]', m.text()))
  await page.goto(`http://127.0.0.1:${server.address().port}/`)
  const report = [...await readFile(join(REPORT, 'report.bin'))]
  const cert = [...await readFile(join(REPORT, 'vcek.der'))]
  const r = await page.evaluate(({ report, cert }) => window.runBench({ report: new Uint8Array(report), cert: new Uint8Array(cert), at: '2026-01-01T00:00:00Z' }), { report, cert })
  if (!r.ok) throw new Error(r.error)
  const chromium = /Chrome\/([\d.]+)/.exec(r.ua)?.[1] ?? 'unknown'
  console.log(`Chromium ${chromium} module worker (${r.worker ? 'WorkerGlobalScope' : 'not a worker!'}), ${new Date().toISOString()}, report gosev-milan-vcek-v2`)
  console.log('')
  console.log('| verifying one SEV-SNP report in Chromium | ms | baseline: one ECDSA P-384 verify (ms) | ratio |')
  console.log('|---|---:|---:|---:|')
  console.log(`| first verification in a fresh tab (parse + check AMD roots, import keys) | ${fmt(r.firstMs)} | ${fmt(r.baseline)} | ${(r.firstMs / r.baseline).toFixed(1)} |`)
  console.log(`| cold: fresh trust store each time (median) | ${fmt(r.cold)} | ${fmt(r.baseline)} | ${(r.cold / r.baseline).toFixed(1)} |`)
  console.log(`| warm: AMD roots already checked (median) | ${fmt(r.warm)} | ${fmt(r.baseline)} | ${(r.warm / r.baseline).toFixed(1)} |`)
  const worst = Math.max(r.firstMs, r.cold, r.warm)
  console.log('')
  console.log(worst < LIMIT_MS ? `ok: every figure under ${LIMIT_MS} ms` : `FAIL: ${fmt(worst)} ms is not under ${LIMIT_MS} ms`)
  process.exitCode = worst < LIMIT_MS ? 0 : 1
} catch (e) {
  console.error(`bench:browser: ${e.message}`)
  process.exitCode = 1
} finally {
  await browser?.close()
  server?.close()
  await removeDir(dir)
}
