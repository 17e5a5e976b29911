#!/usr/bin/env node
/**
 * `npm start`'s promise: a tab opened on `ao serve --static dist --relay`
 * joins the network by itself. The server publishes its WebSockets
 * multiaddrs at /.well-known/ao-tab-bootstrap.json; the page (no ?bootstrap
 * in its URL) reads them and connects to the relay. Everything on 127.0.0.1.
 * `vite build` into a temp dir (or AO_DIST=<dir> to reuse a build).
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { launch, oneLine, tempDir, removeDir } from './chromium.js'

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..')
let failed = 0
const check = (ok, what, detail = '') => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}${detail ? `: ${detail}` : ''}`)
  if (!ok) failed++
}

const run = (args) => new Promise((ok, fail) => {
  const p = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] })
  p.once('exit', (code) => (code === 0 ? ok() : fail(new Error(`${args.join(' ')} exited ${code}`))))
})
const built = !process.env.AO_DIST
const dist = built ? await tempDir('join-dist') : resolve(process.env.AO_DIST)
if (built) await run(['node_modules/vite/bin/vite.js', 'build', '--outDir', dist, '--emptyOutDir', '--logLevel', 'warn'])
check(existsSync(resolve(dist, 'index.html')), 'vite build', dist)
const child = spawn(process.execPath, ['bin/ao.js', 'serve', '--port', '0', '--static', dist, '--relay', '--p2p-port', '0', '--p2p-ws-port', '0'], { cwd: ROOT })
let out = ''
child.stdout.on('data', (d) => { out += d })
child.stderr.on('data', (d) => { out += d })
const exited = new Promise((ok) => child.once('exit', ok))
let browser
try {
  for (let i = 0; i < 150 && !/\/ws\/p2p\//.test(out); i++) await new Promise((r) => setTimeout(r, 200))
  const url = /ao serve: (http:\/\/\S+)/.exec(out)?.[1]
  const relayId = /p2p: peer (\w+) \(relay\)/.exec(out)?.[1]
  check(Boolean(url && relayId), 'ao serve --relay prints its URL and peer ID', oneLine(out).slice(0, 300))
  const served = await (await fetch(new URL('/.well-known/ao-tab-bootstrap.json', url))).json()
  check(served.bootstrap.length > 0 && served.bootstrap.every((a) => a.includes('/ws/') && a.endsWith(`/p2p/${relayId}`)),
    'the server publishes its WebSockets multiaddrs for pages', served.bootstrap.join(' '))
  browser = await launch()
  const page = await browser.context.newPage()
  await page.route((u) => !/^https?:\/\/127\.0\.0\.1[:/]/.test(u.toString()) && !u.toString().startsWith('ws://127.0.0.1'), (r) => { check(false, 'no request leaves 127.0.0.1', r.request().url()); return r.abort() })
  await page.goto(url)
  const peers = await (await page.waitForFunction(() => {
    const conns = globalThis.aoNet?.host.connections() ?? []
    return conns.length > 0 ? conns.map((c) => String(c.remotePeer ?? c.peer ?? '')) : undefined
  }, null, { timeout: 30_000 })).jsonValue()
  check(peers.includes(relayId), 'the page, opened without ?bootstrap, joined the relay by itself', peers.join(' '))
} catch (e) {
  check(false, 'join', oneLine(e?.stack ?? e))
} finally {
  await browser?.close()
  child.kill('SIGTERM')
  await exited
  if (built) await removeDir(dist)
}
console.log(`join: ${failed === 0 ? 'all passed' : `${failed} failed`}`)
process.exit(failed === 0 ? 0 : 1)
