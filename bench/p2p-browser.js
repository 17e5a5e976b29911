#!/usr/bin/env node
/**
 * The network in the browser (issue 5): the relay (`ao relay`) and 5 pages of
 * the built PWA in Chromium (A = the scheduler, B..E), each in its own browser
 * context, joined through `?bootstrap=<the relay's ws multiaddr>` and connected
 * to each other over WebRTC. The setup is test/browser/p2p.e2e.js's: Chromium
 * gathers no loopback ICE candidates, so this re-executes itself in a private
 * network namespace (`unshare -n`, a veth pair, a default route; needs root or
 * CAP_SYS_ADMIN). The relay, the static server and every dial are on 127.0.0.1.
 *
 *   latency      a transfer to hyper-token.lua (spawned at A), signed in a page
 *                that is not the scheduler beforehand, POSTed to that page's node
 *                (202: forwarded by gossip to A, scheduled there, the assignment
 *                gossiped back, computed and attested by the pages), until a
 *                quorum-3 read of its slot AT THAT PAGE answers 200 (the read
 *                waits for the verdict: quorum-wait 10 s); sequential,
 *                the pages B..E in turn; timed in the page: p50 and p95.
 *                Goal p50 ≤ 150 ms.
 *                Baseline: a raw gossipsub publish (a payload of BASE_BYTES) from
 *                one page until the four others have it (the time in each page).
 *   throughput   M transfers signed in A beforehand, POSTed to A's node (the
 *                scheduler) with 64 in flight, until the four other pages have
 *                stored all M assignments (their scheduler head, networkInfo's
 *                processes[pid].head, reaches the last slot): per second. The
 *                pages follow the process, so they also compute it meanwhile.
 *                Goal ≥ 500/s.
 *                Baseline: M raw gossipsub payloads of BASE_BYTES published at A,
 *                until the four others have them all: per second. Also: the
 *                scheduler alone (M transfers to a second process at A that no
 *                other page follows: POSTs answered, per second) and the rate at
 *                which page A signs the client transfers (not timed above).
 *
 * Prints one JSON line; exits 1 when the run fails (not on speed).
 * Env: AO_DIST (reuse a build), CHROMIUM_PATH, AO_BENCH_LATENCY_N (24),
 * AO_BENCH_M (200), AO_P2P_NETNS (set inside the namespace).
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { CHROMIUM, deadline, oneLine, removeDir, tempDir, run, sleep, until } from '../test/browser/chromium.js'
import { inPrivateNetwork } from '../test/browser/netns.js'
import { pageSetup, pageSpawn } from '../test/browser/page-dapp.js'

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..')
const SELF = fileURLToPath(import.meta.url)
const SHARED = resolve(process.env.AO_SHARED ?? resolve(ROOT, '../shared'))

inPrivateNetwork(SELF, 'bench:p2p-browser')

const N = Number(process.env.AO_BENCH_LATENCY_N ?? 24)
const M = Number(process.env.AO_BENCH_M ?? 200)
const IN_FLIGHT = 64
const BASE_BYTES = 3000 // about a gossiped assignment of a transfer (the message and two RSA-4096 signatures)
const LIMIT_MS = 600_000
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
const NAMES = ['A', 'B', 'C', 'D', 'E']

const log = (s) => console.error(`bench:p2p-browser: ${s}`)


function start(args, pattern, env = {}) {
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  return new Promise((ok, fail) => {
    let out = ''
    const seen = (d) => {
      out += d
      const m = pattern.exec(out)
      if (m) ok({ child, match: m })
    }
    child.stdout.on('data', seen)
    child.stderr.on('data', seen)
    child.on('error', fail)
    child.on('exit', (code) => fail(new Error(`${args.join(' ')} exited ${code}: ${out}`)))
  })
}

function stopChild(child) {
  if (!child || child.exitCode !== null) return Promise.resolve()
  return new Promise((r) => { child.once('exit', r); child.kill('SIGTERM') })
}

function percentiles(xs) {
  const s = [...xs].sort((a, b) => a - b)
  const at = (q) => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]
  const r = (x) => Math.round(x * 10) / 10
  return { samples: s.length, p50: r(at(0.5)), p95: r(at(0.95)), mean: r(s.reduce((a, b) => a + b, 0) / s.length) }
}

// ---- page side (page.evaluate) --------------------------------------------------

async function pageNet() {
  if (globalThis.aoNetError) return { error: globalThis.aoNetError }
  const net = globalThis.aoNet
  if (!net) return { joined: false }
  const info = await net.info()
  return { joined: true, peerId: net.host.peerId, multiaddrs: net.host.multiaddrs(), connections: net.host.connections(), nodes: info.nodes, address: info.address }
}

/** Raw test topic: what arrives is counted, with the time of the last one (ms, the common clock). */
function pageSubscribeRaw(topic) {
  const ps = globalThis.aoNet.host.pubsub
  window.raw = { n: 0, last: 0, times: [] }
  ps.addEventListener('gossipsub:message', (e) => {
    if (e.detail.msg.topic !== topic) return
    const t = performance.timeOrigin + performance.now()
    window.raw.n++
    window.raw.last = t
    window.raw.times.push(t)
  })
  ps.subscribe(topic)
}

/** Publishes `count` payloads of `bytes`; returns the time before the first. */
async function pagePublishRaw({ topic, bytes, count }) {
  const ps = globalThis.aoNet.host.pubsub
  const payloads = Array.from({ length: count }, (_, i) => {
    const b = new Uint8Array(bytes)
    crypto.getRandomValues(b.subarray(0, Math.min(bytes, 65536)))
    new DataView(b.buffer).setUint32(0, i)
    return b
  })
  const t0 = performance.timeOrigin + performance.now()
  await Promise.all(payloads.map((p) => ps.publish(topic, p)))
  return t0
}

/** Signs `count` transfers now (not timed) and keeps them in window.signed. */
async function pageSign({ pid, count, from }) {
  const { ao, w } = window.page
  window.signed = []
  for (let i = 0; i < count; i++) {
    window.signed.push(await ao.sign({ type: 'Message', target: pid, action: 'Transfer', recipient: 'b'.repeat(43), quantity: 1n, nonce: BigInt(from + i) }, w))
  }
  return window.signed.length
}

/**
 * One presigned transfer POSTed here, then a quorum-3 read of `slot` here that
 * waits for the verdict (quorum-wait, as bench/p2p.ts reads; again while 202): ms.
 */
async function pageLatency({ pid, index, slot }) {
  const { post, get } = window.page
  const m = window.signed[index]
  const t0 = performance.now()
  const r = await post(`/${pid}~process@1.0/schedule`, m)
  if (r.status !== 202 && r.status !== 200) return { error: `schedule: ${r.status} ${r.text.slice(0, 300)}` }
  for (;;) {
    const q = await get(`/${pid}~process@1.0/compute&slot+integer=${slot}&quorum+integer=3&quorum-wait+integer=10000`)
    if (q.status === 200) return { ms: performance.now() - t0, status: r.status }
    if (q.status !== 202) return { error: `quorum read of slot ${slot}: ${q.status} ${q.text.slice(0, 300)}` }
    if (performance.now() - t0 > 20_000) return { error: `quorum read of slot ${slot}: still 202 after 20 s: ${q.text.slice(0, 300)}` }
    await new Promise((r) => setTimeout(r, 2))
  }
}

/** All presigned transfers POSTed here with `inFlight` at a time; returns the time before the first. */
async function pageSubmitAll({ pid, inFlight }) {
  const { post } = window.page
  const queue = [...window.signed]
  const bad = []
  const t0 = performance.timeOrigin + performance.now()
  await Promise.all(Array.from({ length: inFlight }, async () => {
    for (let m = queue.shift(); m; m = queue.shift()) {
      const r = await post(`/${pid}~process@1.0/schedule`, m)
      if (r.status !== 200 && r.status !== 202) bad.push(`${r.status} ${r.text.slice(0, 200)}`)
    }
  }))
  return { t0, tDone: performance.timeOrigin + performance.now(), bad }
}

/** Polls the node's scheduler head of `pid` until it is ≥ `slot`: the time it was seen (ms, the common clock). */
async function pageWaitHead({ pid, slot, ms }) {
  const end = performance.now() + ms
  for (;;) {
    const n = await aoNode.networkInfo()
    const head = n.processes?.[pid]?.head
    if (head !== undefined && head !== '?' && BigInt(head) >= BigInt(slot)) return { t: performance.timeOrigin + performance.now(), head }
    if (performance.now() > end) return { error: `head ${head} < ${slot} after ${ms} ms`, wiring: n.wiring }
    await new Promise((r) => setTimeout(r, 10))
  }
}

// ---- the bench ---------------------------------------------------------------------

async function main() {
  let dist, statik, relay, browser, relayStore
  const pages = []
  try {
    if (process.env.AO_DIST) dist = resolve(process.env.AO_DIST)
    else {
      dist = await tempDir('p2pb-dist')
      log('vite build')
      await run(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--outDir', dist, '--emptyOutDir', '--logLevel', 'warn'])
    }
    relayStore = await tempDir('p2pb-relay')
    const [s, r] = await Promise.all([
      start(['bin/serve-static.js', dist], /http:\/\/127\.0\.0\.1:\d+\//, { PORT: '0' }),
      start(['bin/ao.js', 'relay', '--port', '9090', '--ws-port', '9091', '--store', relayStore], /(\/ip4\/127\.0\.0\.1\/tcp\/\d+\/ws\/p2p\/\S+)\n/),
    ])
    statik = s
    relay = r
    const relayAddr = r.match[1]
    const relayPeer = relayAddr.split('/p2p/')[1]
    const origin = new URL(statik.match[0]).origin
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found`)
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS })
    const outside = []
    const open = async (name) => {
      const context = await browser.newContext()
      await context.route((url) => url.origin !== origin, (route) => { outside.push(route.request().url()); return route.abort() })
      const page = await context.newPage()
      page.on('pageerror', (e) => log(`[${name}] page error: ${oneLine(e.message)}`))
      await page.goto(`${origin}/?bootstrap=${encodeURIComponent(relayAddr)}`)
      return { name, context, page }
    }
    const net = (p) => p.page.evaluate(pageNet)

    // ---- 5 pages, joined, connected pairwise over WebRTC
    const t0 = Date.now()
    pages.push(...await Promise.all(NAMES.map(open)))
    const infos = await Promise.all(pages.map((p) => until(async () => {
      const n = await net(p)
      if (n.error) throw new Error(`${p.name}: ${n.error}`)
      return n.joined ? n : { wait: n }
    }, `${p.name} joins`, 60_000)))
    for (const [i, n] of infos.entries()) Object.assign(pages[i], { peerId: n.peerId, address: n.address })
    if (new Set(infos.map((n) => n.peerId)).size !== pages.length) throw new Error('the pages share a peer ID')
    const direct = (n, peer) => n.connections.find((c) => c.peer === peer && !c.limited && c.webrtc)
    for (const p of pages) {
      await until(async () => {
        const n = await net(p)
        const missing = pages.filter((q) => q !== p && (!direct(n, q.peerId) || n.nodes[q.address] !== q.peerId))
        return missing.length === 0 ? true : { wait: { missing: missing.map((q) => q.name) } }
      }, `${p.name}'s WebRTC connections and node table`, 60_000)
    }
    log(`5 pages connected pairwise over WebRTC in ${Date.now() - t0} ms`)
    const [A, ...others] = pages

    // ---- baseline: raw gossip page → the four others
    const topic = `/ao-tab/bench/${Date.now()}`
    await Promise.all(pages.map((p) => p.page.evaluate(pageSubscribeRaw, topic)))
    await until(async () => {
      for (const p of pages) {
        const subs = await p.page.evaluate((t) => globalThis.aoNet.host.pubsub.getSubscribers(t).map(String), topic)
        if (pages.some((q) => q !== p && !subs.includes(q.peerId))) return { wait: `${p.name}: ${subs.length} subscribers` }
        if (subs.includes(relayPeer)) throw new Error('the relay is on the test topic')
      }
      return true
    }, 'the pages see each other on the test topic')
    await sleep(1500) // a heartbeat or so: the mesh forms
    const rawCount = async () => Promise.all(pages.map((p) => p.page.evaluate(() => ({ n: window.raw.n, last: window.raw.last }))))
    const baseLat = []
    for (let i = 0; i < N; i++) {
      const from = pages[i % pages.length]
      const rest = pages.filter((p) => p !== from)
      const before = await rawCount()
      const tp = await from.page.evaluate(pagePublishRaw, { topic, bytes: BASE_BYTES, count: 1 })
      const got = await until(async () => {
        const c = await rawCount()
        return rest.every((p) => c[pages.indexOf(p)].n > before[pages.indexOf(p)].n) ? c : { wait: c.map((x) => x.n) }
      }, `raw gossip ${i} from ${from.name}`, 10_000, 5)
      baseLat.push(Math.max(...rest.map((p) => got[pages.indexOf(p)].last)) - tp)
    }
    const baselineLatency = percentiles(baseLat)
    log(`baseline latency ${JSON.stringify(baselineLatency)}`)

    {
      const before = await rawCount()
      const tp = await A.page.evaluate(pagePublishRaw, { topic, bytes: BASE_BYTES, count: M })
      const got = await until(async () => {
        const c = await rawCount()
        return others.every((p) => c[pages.indexOf(p)].n >= before[pages.indexOf(p)].n + M) ? c : { wait: c.map((x, i) => x.n - before[i].n) }
      }, `${M} raw payloads reach the four others`, 60_000, 10)
      var baselineDelivery = { count: M, seconds: (Math.max(...others.map((p) => got[pages.indexOf(p)].last)) - tp) / 1000 }
      baselineDelivery.perSecond = Math.round(M / baselineDelivery.seconds)
      log(`baseline delivery ${JSON.stringify(baselineDelivery)}`)
    }

    // ---- hyper-token.lua at A; B..E follow it
    const lua = await readFile(join(SHARED, 'hyperbeam-data/scripts/hyper-token.lua'), 'utf8')
    const jwk = JSON.parse(await readFile(join(SHARED, 'hyperbeam-data/test/key-1.json'), 'utf8'))
    await Promise.all(pages.map((p) => p.page.evaluate(pageSetup, { jwk })))
    const sp = await A.page.evaluate(pageSpawn, { lua, start: 1_000_000_000, scheduler: A.address })
    if (sp.status !== 200 || sp.slot !== '0') throw new Error(`spawn: ${sp.status} slot ${sp.slot}: ${sp.text}`)
    const pid = sp.pid
    for (const p of others) {
      const s = await p.page.evaluate((pid) => aoNode.resolvePath(`/~p2p@1.0/subscribe&process=${pid}`), pid)
      if (s.status !== 'ok') throw new Error(`${p.name} subscribe: ${s.value}`)
    }
    await Promise.all(others.map((p) => p.page.evaluate(pageWaitHead, { pid, slot: 0, ms: 30_000 }).then((r) => { if (r.error) throw new Error(`${p.name}: ${r.error}`) })))
    // Every page has computed and attested slot 0 (a first quorum read, not timed: Lua loads).
    for (const p of pages) {
      await until(async () => {
        const q = await p.page.evaluate(({ pid }) => window.page.get(`/${pid}~process@1.0/compute&slot+integer=0&quorum+integer=3&quorum-wait+integer=500`).then((q) => ({ status: q.status, text: q.text.slice(0, 300) })), { pid })
        if (q.status === 409 || q.status >= 400) throw new Error(`${p.name} quorum read of slot 0: ${q.status} ${q.text}`)
        return q.status === 200 ? true : { wait: q }
      }, `${p.name}'s quorum read of slot 0`, 30_000, 200)
    }
    log(`process ${pid} spawned at A, followed by B..E`)

    // ---- latency: transfers at B..E in turn
    const per = Math.ceil(N / others.length)
    await Promise.all(others.map((p, i) => p.page.evaluate(pageSign, { pid, count: per, from: 10_000 * (i + 1) })))
    const lat = []
    let slot = 0
    for (let i = 0; i < N; i++) {
      const p = others[i % others.length]
      slot++
      const r = await p.page.evaluate(pageLatency, { pid, index: Math.floor(i / others.length), slot })
      if (r.error) throw new Error(`latency sample ${i} at ${p.name}: ${r.error}`)
      lat.push(r.ms)
    }
    const latency = percentiles(lat)
    log(`latency ${JSON.stringify(latency)}`)

    // ---- throughput: M transfers at A, until the four others hold the last slot
    const tSign = Date.now()
    await A.page.evaluate(pageSign, { pid, count: M, from: 1_000_000 })
    const clientSignSeconds = (Date.now() - tSign) / 1000
    const target = slot + M
    const waits = others.map((p) => p.page.evaluate(pageWaitHead, { pid, slot: target, ms: 240_000 }))
    const sub = await A.page.evaluate(pageSubmitAll, { pid, inFlight: IN_FLIGHT })
    if (sub.bad.length) throw new Error(`schedule at A: ${sub.bad.length} of ${M} failed: ${sub.bad[0]}`)
    const seen = await Promise.all(waits)
    for (const [i, w] of seen.entries()) if (w.error) throw new Error(`${others[i].name}: ${w.error} ${JSON.stringify(w.wiring ?? {}).slice(0, 400)}`)
    const seconds = (Math.max(...seen.map((w) => w.t)) - sub.t0) / 1000
    const assignments = { count: M, seconds: Math.round(seconds * 1000) / 1000, perSecond: Math.round(M / seconds), schedulerSeconds: Math.round(sub.tDone - sub.t0) / 1000 }
    log(`assignments ${JSON.stringify(assignments)}`)

    // ---- the scheduler alone: a second process at A that no other page follows
    const sp2 = await A.page.evaluate(pageSpawn, { lua, start: 1_000_000_000, scheduler: A.address })
    if (sp2.status !== 200) throw new Error(`second spawn: ${sp2.status}: ${sp2.text}`)
    await A.page.evaluate(pageSign, { pid: sp2.pid, count: M, from: 2_000_000 })
    const alone = await A.page.evaluate(pageSubmitAll, { pid: sp2.pid, inFlight: IN_FLIGHT })
    if (alone.bad.length) throw new Error(`schedule at A (alone): ${alone.bad.length} of ${M} failed: ${alone.bad[0]}`)
    const schedulerOnly = { count: M, seconds: Math.round(alone.tDone - alone.t0) / 1000 }
    schedulerOnly.perSecond = Math.round(M / schedulerOnly.seconds)
    log(`scheduler only ${JSON.stringify(schedulerOnly)}`)

    if (outside.length) throw new Error(`requested outside 127.0.0.1: ${[...new Set(outside)].join(', ')}`)
    const ua = await A.page.evaluate(() => navigator.userAgent)
    console.log(JSON.stringify({
      bench: 'p2p-browser',
      pages: pages.length,
      latency,
      baselineLatency,
      assignmentsPerSecond: assignments.perSecond,
      assignments,
      baselineDeliveryPerSecond: baselineDelivery.perSecond,
      baselineDelivery: { count: M, seconds: Math.round(baselineDelivery.seconds * 1000) / 1000, perSecond: baselineDelivery.perSecond },
      schedulerOnly,
      clientSignPerSecond: Math.round(M / clientSignSeconds),
      baselineBytes: BASE_BYTES,
      inFlight: IN_FLIGHT,
      goals: { p50Ms: 150, assignmentsPerSecond: 500 },
      chromium: /Chrome\/([\d.]+)/.exec(ua)?.[1] ?? 'unknown',
    }))
    return null
  } catch (e) {
    return e
  } finally {
    await browser?.close().catch(() => undefined)
    await stopChild(relay?.child)
    await stopChild(statik?.child)
    await removeDir(relayStore)
    if (!process.env.AO_DIST) await removeDir(dist)
  }
}

const timer = deadline(LIMIT_MS, 'the p2p browser bench')
const error = await Promise.race([main(), timer.promise.catch((e) => e)])
timer.clear()
if (error) { console.error(`bench:p2p-browser: FAIL ${oneLine(error.stack ?? error.message)}`); process.exit(1) }
process.exit(0)
