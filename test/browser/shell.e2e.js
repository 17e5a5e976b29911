#!/usr/bin/env node
/**
 * End-to-end test of the PWA: `vite build` into a temp dir, serve it with
 * bin/serve-static.js on a free port behind a recording proxy (so the test
 * knows which requests reached the server), and in Chromium check that
 *
 *   - the node starts in the page's worker and shows its address;
 *   - the worker computes HyperBEAM's known unsigned ID of {"a":"b"}, and typed errors;
 *   - the service worker activates and takes control;
 *   - a page's fetch('/~message@1.0&hello=world/hello') is answered `world` by the
 *     node in the tab (through the service worker: the request never reaches the server);
 *   - offline (context.setOffline), after a reload, the app starts from the
 *     cache, the node has the same address (its wallet persisted) and still answers;
 *   - another same-origin page that is not the app is answered by the app's tab,
 *     and gets a clear 503 once no app tab is open.
 *
 * Prints one line per check, then `shell: N passed, N failed`; exits 1 on failure.
 * A failing check stops the run, except the ones marked soft (the answers of the node's HTTP API),
 * whose later checks do not depend on them.
 * Env: AO_SHELL_SCREENSHOT=<file.png> saves a screenshot of the page.
 */
import { spawn } from 'node:child_process'
import { createServer, request as httpRequest } from 'node:http'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { deadline, launch, oneLine, removeDir, tempDir, run } from './chromium.js'

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..')
const TITLE = 'ao-tab: an AO-Core node in your browser tab'
const KNOWN = { message: '{"a":"b"}', id: 'UfSqKA58Hwk99Jg5fsYGY4iKDfnnUAW9MQdMv2-Fw40' } // HyperBEAM's answer
const HELLO = { path: '/~message@1.0&hello=world/hello', body: 'world' }
const STEP_MS = 30_000

/** Runs a command to completion; rejects with its output when it fails. */
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

/** A pass-through proxy on a free 127.0.0.1 port that records every request path it forwards to `target`. */
async function startProxy(target) {
  const seen = []
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`)
    const up = httpRequest(new URL(req.url, target), { method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers)
      r.pipe(res)
    })
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502)
      res.end()
    })
    req.pipe(up)
  })
  await new Promise((ok, fail) => server.once('error', fail).listen(0, '127.0.0.1', ok))
  return { server, seen, url: `http://127.0.0.1:${server.address().port}/` }
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
const check = (name, f, opts = {}) => checks.push({ name, f, soft: opts.soft ?? false })

let url, page, address
const reached = (ctx, from = 0) => ctx.proxy.seen.slice(from)
const nodeRequests = (ctx, from = 0) => reached(ctx, from).filter((r) => r.split(' ')[1].startsWith('/~'))

/** Waits until #id's data-state leaves the given states; throws unless it is `ready`. */
async function waitState(p, id, leave = ['starting']) {
  await p.waitForFunction(([sel, states]) => !states.includes(document.querySelector(sel)?.dataset.state ?? 'starting'),
    [`#${id}`, leave], { timeout: STEP_MS })
  const state = await p.getAttribute(`#${id}`, 'data-state')
  if (state !== 'ready') throw new Error(`#${id} is ${state}: ${(await p.textContent(`#${id}`))?.trim()}`)
}

/** The node is ready and the service worker controls the page; the address shown. */
async function nodeUp(p) {
  await waitState(p, 'node-status')
  await waitState(p, 'ingress-status')
  return (await p.textContent('#node-address'))?.trim()
}

/** fetch() in the page; status, body and headers, and whether Chromium saw a service worker answer it. */
async function fetchIn(p, path) {
  const [response, r] = await Promise.all([
    p.waitForResponse((res) => new URL(res.url()).pathname === new URL(path, 'http://x').pathname, { timeout: STEP_MS }),
    p.evaluate(async (path) => {
      const res = await fetch(path)
      return { status: res.status, text: await res.text(), headers: Object.fromEntries(res.headers) }
    }, path),
  ])
  return { ...r, fromServiceWorker: response.fromServiceWorker() }
}

/** The page answered `world` through its service worker, and no request for it reached the server. */
async function expectHello(ctx, p, from) {
  const r = await fetchIn(p, HELLO.path)
  const leaked = nodeRequests(ctx, from)
  if (leaked.length) throw new Error(`reached the static server: ${leaked.join(', ')}`)
  if (!r.fromServiceWorker) throw new Error('the response did not come from the service worker')
  if (r.status !== 200 || r.text !== HELLO.body) {
    throw new Error(`expected 200 ${JSON.stringify(HELLO.body)}, got ${r.status} ${JSON.stringify(r.text)} (${JSON.stringify(r.headers)})`)
  }
}

check('vite build', async (ctx) => {
  await run(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--outDir', ctx.dist, '--emptyOutDir', '--logLevel', 'warn'])
})
check('serve-static: types, SPA fallback, 404 and traversal', async (ctx) => {
  ctx.server = await startServer(ctx.dist)
  const direct = ctx.server.url
  await expectHttp(direct, 200, 'text/html')
  await expectHttp(`${direct}some/app/route`, 200, 'text/html')
  await expectHttp(`${direct}manifest.webmanifest`, 200, 'application/manifest+json')
  await expectHttp(`${direct}icon.svg`, 200, 'image/svg+xml')
  await expectHttp(`${direct}sw.js`, 200, 'text/javascript')
  await expectHttp(`${direct}assets/missing.js`, 404)
  await expectHttp(`${direct}..%2f..%2fetc%2fpasswd`, 403)
  ctx.proxy = await startProxy(direct)
  url = ctx.proxy.url
})
check('page loads with its title', async (ctx) => {
  ctx.browser = await launch()
  page = ctx.browser.context.pages()[0] ?? (await ctx.browser.context.newPage())
  page.on('pageerror', (e) => console.error(`[chromium] page error: ${oneLine(e.message)}`))
  await page.goto(url)
  const h1 = (await page.textContent('h1'))?.trim()
  if (h1 !== TITLE) throw new Error(`h1 is ${JSON.stringify(h1)}`)
})
check('node starts in the worker and shows its address', async () => {
  await waitState(page, 'node-status')
  address = (await page.textContent('#node-address'))?.trim()
  if (!/^[A-Za-z0-9_-]{43}$/.test(address ?? '')) throw new Error(`address shown: ${JSON.stringify(address)}`)
})
check('the page\'s client resolves a path in the worker node (aoNode.resolvePath, info)', async () => {
  const r = await page.evaluate(async (path) => ({ info: await aoNode.info(), out: await aoNode.resolvePath(path) }), HELLO.path)
  if (r.info.address !== address || r.info.ready !== true) throw new Error(`info: ${JSON.stringify(r.info)}`)
  if (r.out.status !== 'ok' || r.out.value !== JSON.stringify(HELLO.body)) throw new Error(`resolvePath: ${JSON.stringify(r.out)}`)
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
check('service worker activates and controls the page', async () => {
  await waitState(page, 'sw-status')
  await waitState(page, 'ingress-status')
})
check(`fetch('${HELLO.path}') is answered '${HELLO.body}' by the node in the tab`, async (ctx) => {
  await expectHello(ctx, page, 0)
}, { soft: true })
check('offline: after a reload the app starts from the cache, with the same address', async (ctx) => {
  if (process.env.AO_SHELL_SCREENSHOT) {
    await compute(KNOWN.message)
    await page.click('#fetch')
    await page.waitForFunction(() => !['idle', 'busy'].includes(document.querySelector('#path-result')?.dataset.state ?? ''), null, { timeout: STEP_MS })
    await page.screenshot({ path: process.env.AO_SHELL_SCREENSHOT, fullPage: true })
  }
  await ctx.browser.context.setOffline(true)
  ctx.offlineFrom = ctx.proxy.seen.length
  await page.reload()
  const again = await nodeUp(page)
  if (again !== address) throw new Error(`address was ${address}, after the reload ${again}`)
  const leaked = reached(ctx, ctx.offlineFrom)
  if (leaked.length) throw new Error(`offline, yet these reached the server: ${leaked.join(', ')}`)
})
check(`offline: fetch('${HELLO.path}') is still answered '${HELLO.body}'`, async (ctx) => {
  await expectHello(ctx, page, ctx.offlineFrom)
}, { soft: true })
check('another same-origin page (not the app) is answered by the app\'s tab', async (ctx) => {
  await ctx.browser.context.setOffline(false)
  ctx.other = await ctx.browser.context.newPage()
  await ctx.other.goto(`${url}icon.svg`) // a document of this origin that does not run the app
  await ctx.other.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: STEP_MS })
  await expectHello(ctx, ctx.other, 0)
}, { soft: true })
check('with no app tab open, node paths answer 503 with a clear body', async (ctx) => {
  await page.close()
  const r = await fetchIn(ctx.other, HELLO.path)
  if (r.status !== 503 || !/no page of .* is open/.test(r.text)) throw new Error(`got ${r.status} ${JSON.stringify(r.text)}`)
  const leaked = nodeRequests(ctx)
  if (leaked.length) throw new Error(`reached the static server: ${leaked.join(', ')}`)
})

async function main() {
  const ctx = { dist: join(await tempDir('shell'), 'dist') }
  let passed = 0
  let failed = 0
  try {
    for (const { name, f, soft } of checks) {
      const timer = deadline(3 * STEP_MS, name)
      try {
        await Promise.race([f(ctx), timer.promise])
        passed++
        console.log(`ok   ${name}`)
      } catch (e) {
        failed++
        console.log(`FAIL ${name}: ${oneLine(e.message)}`)
        if (!soft) break // later checks depend on this one
      } finally {
        timer.clear()
      }
    }
  } finally {
    await ctx.browser?.close()
    ctx.proxy?.server.closeAllConnections()
    ctx.proxy?.server.close()
    ctx.server?.child.kill()
    await removeDir(resolve(ctx.dist, '..'))
  }
  console.log(`shell: ${passed} passed, ${failed} failed`)
  return failed === 0 && passed === checks.length
}

process.exit((await main()) ? 0 : 1)
