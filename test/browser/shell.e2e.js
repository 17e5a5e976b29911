#!/usr/bin/env node
/**
 * End-to-end test of the PWA shell: `vite build` into a temp dir, serve it with
 * bin/serve-static.js on a free port, open it in Chromium and check that the
 * worker computes HyperBEAM's known unsigned ID of {"a":"b"}.
 *
 * Prints one line per check, then `shell: N passed, N failed`; exits 1 on failure.
 * Env: AO_SHELL_SCREENSHOT=<file.png> saves a screenshot of the page.
 */
import { spawn } from 'node:child_process'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { deadline, launch, oneLine, removeDir, tempDir } from './chromium.js'

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..')
const TITLE = 'ao-tab: an AO-Core node in your browser tab'
const KNOWN = { message: '{"a":"b"}', id: 'UfSqKA58Hwk99Jg5fsYGY4iKDfnnUAW9MQdMv2-Fw40' } // HyperBEAM's answer
const STEP_MS = 30_000

/** Runs a command to completion; rejects with its output when it fails. */
function run(cmd, args) {
  return new Promise((ok, fail) => {
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d) => { out += d })
    child.stderr.on('data', (d) => { out += d })
    child.on('error', fail)
    child.on('close', (code) => (code === 0 ? ok(out) : fail(new Error(`${args.join(' ')} exited ${code}:\n${out}`))))
  })
}

/** Starts bin/serve-static.js on a free port; resolves with the child and the URL it prints. */
function startServer(dir) {
  const child = spawn(process.execPath, ['bin/serve-static.js', dir], {
    cwd: ROOT, env: { ...process.env, PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'],
  })
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

async function expectHttp(url, status, type) {
  const res = await fetch(url)
  await res.arrayBuffer()
  const got = res.headers.get('content-type') ?? ''
  if (res.status !== status || (type && !got.startsWith(type))) {
    throw new Error(`${url}: expected ${status} ${type ?? ''}, got ${res.status} ${got}`)
  }
}

const checks = []
const check = (name, f) => checks.push({ name, f })

let url, page
check('vite build', async (ctx) => {
  await run(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--outDir', ctx.dist, '--emptyOutDir', '--logLevel', 'warn'])
})
check('serve-static: types, SPA fallback, 404 and traversal', async (ctx) => {
  ctx.server = await startServer(ctx.dist)
  url = ctx.server.url
  await expectHttp(url, 200, 'text/html')
  await expectHttp(`${url}some/app/route`, 200, 'text/html')
  await expectHttp(`${url}manifest.webmanifest`, 200, 'application/manifest+json')
  await expectHttp(`${url}icon.svg`, 200, 'image/svg+xml')
  await expectHttp(`${url}sw.js`, 200, 'text/javascript')
  await expectHttp(`${url}assets/missing.js`, 404)
  await expectHttp(`${url}..%2f..%2fetc%2fpasswd`, 403)
})
check('page loads with its title', async (ctx) => {
  ctx.browser = await launch()
  page = ctx.browser.context.pages()[0] ?? (await ctx.browser.context.newPage())
  page.on('pageerror', (e) => console.error(`[chromium] page error: ${oneLine(e.message)}`))
  await page.goto(url)
  const h1 = (await page.textContent('h1'))?.trim()
  if (h1 !== TITLE) throw new Error(`h1 is ${JSON.stringify(h1)}`)
})
check('worker becomes ready', async () => {
  const el = page.locator('#worker-status')
  await page.waitForFunction(() => document.querySelector('#worker-status')?.dataset.state !== 'starting', null, { timeout: STEP_MS })
  const state = await el.getAttribute('data-state')
  if (state !== 'ready') throw new Error(`worker status is ${state}: ${await el.textContent()}`)
})
/** Types a message, submits, and returns the result's state and text. */
async function compute(text) {
  await page.fill('#message', text)
  await page.click('#compute')
  await page.waitForFunction(() => ['ok', 'error'].includes(document.querySelector('#result')?.dataset.state ?? ''), null, { timeout: STEP_MS })
  return { state: await page.getAttribute('#result', 'data-state'), text: (await page.textContent('#result'))?.trim() }
}
check(`ID of ${KNOWN.message} is HyperBEAM's ${KNOWN.id}`, async () => {
  const r = await compute(KNOWN.message)
  if (r.state !== 'ok' || r.text !== KNOWN.id) throw new Error(`shown: ${r.state}: ${r.text}`)
})
check('a bad message shows a typed error', async () => {
  const r = await compute('{"a":1.5}')
  if (r.state !== 'error' || !r.text?.startsWith('InvalidTypedJson')) throw new Error(`shown: ${r.state}: ${r.text}`)
})
check('service worker activates', async () => {
  await page.waitForFunction(() => document.querySelector('#sw-status')?.dataset.state !== 'starting', null, { timeout: STEP_MS })
  const state = await page.getAttribute('#sw-status', 'data-state')
  if (state !== 'ready') throw new Error(`service worker status is ${state}: ${await page.textContent('#sw-status')}`)
  if (process.env.AO_SHELL_SCREENSHOT) {
    await compute(KNOWN.message)
    await page.screenshot({ path: process.env.AO_SHELL_SCREENSHOT, fullPage: true })
  }
})

async function main() {
  const ctx = { dist: join(await tempDir('shell'), 'dist') }
  let passed = 0
  let failed = 0
  try {
    for (const { name, f } of checks) {
      const timer = deadline(3 * STEP_MS, name)
      try {
        await Promise.race([f(ctx), timer.promise])
        passed++
        console.log(`ok   ${name}`)
      } catch (e) {
        failed++
        console.log(`FAIL ${name}: ${oneLine(e.message)}`)
        break // later checks depend on this one
      } finally {
        timer.clear()
      }
    }
  } finally {
    await ctx.browser?.close()
    ctx.server?.child.kill()
    await removeDir(resolve(ctx.dist, '..'))
  }
  console.log(`shell: ${passed} passed, ${failed} failed`)
  return failed === 0 && passed === checks.length
}

process.exit((await main()) ? 0 : 1)
