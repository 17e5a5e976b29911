#!/usr/bin/env node
/**
 * A token process in the tab, on IndexedDB, across a page reload. `vite build`
 * into a temp dir (or AO_DIST=<dir> to reuse a build), served by
 * bin/serve-static.js on 127.0.0.1; in Chromium, through the same HTTP API a
 * dApp uses (same-origin fetch → service worker → the tab's node worker), with
 * messages signed in the page (src/app/dapp.ts, httpsig@1.0, the shared test
 * wallets key-1 and key-2):
 *
 *   0. the build holds glue.wasm as an asset that a script names;
 *   1. hyper-token.lua is spawned on lua@5.3a with the node's wallet as its
 *      scheduler; TRANSFERS signed transfers are scheduled and computed; the
 *      balances are exact; every slot's result is stored, and the snapshots
 *      (every process_cache_frequency slots) are blocks (their CIDs in
 *      computed/<pid>/slot/<n>);
 *   2. the page reloads (a new worker, nothing in memory): the process is still
 *      there (its current slot, its computed balances read from IndexedDB
 *      without running Lua);
 *   3. MORE further transfers are scheduled and computed: the new worker
 *      restores the newest stored snapshot, at slot S > 0 (one `normalize` at
 *      S, no `init`, one `compute` per slot after S: not a replay from slot 0,
 *      as the worker's execution counters show) and the balances are exact.
 *
 * lua@5.3a's glue.wasm must come from the build: every request that leaves
 * 127.0.0.1 is aborted and fails the test.
 *
 * Prints one line per check, then `token: N passed, N failed`; exits 1 on failure.
 * Env: AO_SHARED (shared folder, default ../shared), AO_DIST, CHROMIUM_PATH.
 */
import { spawn } from 'node:child_process'
import { readdir, readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { deadline, launch, oneLine, removeDir, tempDir, run } from './chromium.js'

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..')
const SHARED = resolve(process.env.AO_SHARED ?? resolve(ROOT, '../shared'))
const STEP_MS = 120_000
const TRANSFERS = 100
const MORE = 50
const START = 1_000_000n
const LUA = 'lua@5.3a'
const RECIPIENTS = Array.from({ length: 5 }, (_, i) => String.fromCharCode(97 + i).repeat(43))

const counts = { passed: 0, failed: 0 }
async function check(name, fn) {
  const timer = deadline(STEP_MS, name)
  try {
    const detail = await Promise.race([fn(), timer.promise])
    counts.passed++
    console.log(`ok   ${name}${detail ? `: ${detail}` : ''}`)
  } catch (e) {
    counts.failed++
    console.log(`FAIL ${name}: ${oneLine(e.message)}`)
    throw e
  } finally {
    timer.clear()
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

/** The transfers of slots from..to-1: two senders (alternating) to five recipients; and the balances after them. */
function plan(from, to, balances) {
  const out = []
  for (let i = from; i < to; i++) {
    const sender = i % 2 === 0 ? 'w1' : 'w2'
    const recipient = RECIPIENTS[i % RECIPIENTS.length]
    const quantity = BigInt((i % 7) + 1)
    out.push({ sender, recipient, quantity: String(quantity), nonce: String(i) })
    balances.set(sender, balances.get(sender) - quantity)
    balances.set(recipient, (balances.get(recipient) ?? 0n) + quantity)
  }
  return out
}

// ---- page side (run in the app's page by page.evaluate) ---------------------

/** Loads the dApp helpers and the two wallets into `window.tok`. */
async function pageSetup({ jwk1, jwk2 }) {
  const ao = await aoDapp()
  const [w1, w2] = await Promise.all([ao.loadJwk(jwk1), ao.loadJwk(jwk2)])
  window.tok = { ao, w: { w1, w2 } }
  return { w1: w1.address, w2: w2.address, controlled: navigator.serviceWorker.controller !== null }
}

async function pageSpawn({ token, start, scheduler }) {
  const { ao, w } = window.tok
  const proc = await ao.sign({
    device: 'process@1.0', type: 'Process', 'scheduler-device': 'scheduler@1.0', 'execution-device': 'lua@5.3a',
    scheduler, authority: [scheduler],
    module: ao.message({ 'content-type': 'application/lua', body: token }),
    balance: ao.message({ [w.w1.address]: BigInt(start), [w.w2.address]: BigInt(start) }),
  }, w.w1)
  const r = await ao.post('/~scheduler@1.0/schedule', proc)
  return { status: r.status, text: r.text.slice(0, 500), slot: String(r.msg.slot), process: String(r.msg.process), pid: ao.signedId(proc) }
}

/** Signs the transfers (8 at a time), then schedules them in order; the slot each got. */
async function pageSchedule({ pid, transfers }) {
  const { ao, w } = window.tok
  const signed = new Array(transfers.length)
  let next = 0
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < transfers.length) {
      const i = next++
      const t = transfers[i]
      signed[i] = await ao.sign({ type: 'Message', target: pid, action: 'Transfer', recipient: t.recipient, quantity: BigInt(t.quantity), nonce: BigInt(t.nonce) }, w[t.sender])
    }
  }))
  const slots = []
  for (const m of signed) {
    const r = await ao.post(`/${pid}~process@1.0/schedule`, m)
    if (r.status !== 200) return { error: `schedule: ${r.status} ${r.text.slice(0, 500)}`, slots }
    slots.push(String(r.msg.slot))
  }
  return { slots }
}

/** compute&slot=N through HTTP, then each holder's balance at N; the worker's execution counters. */
async function pageCompute({ pid, slot, holders }) {
  const { ao } = window.tok
  const base = `/${pid}~process@1.0/compute&slot+integer=${slot}`
  const t = performance.now()
  const c = await ao.get(base)
  const ms = performance.now() - t
  if (c.status !== 200) return { error: `compute: ${c.status} ${c.text.slice(0, 1000)}` }
  const balances = {}
  for (const h of holders) {
    const b = await ao.get(`${base}/balance/${h}`)
    balances[h] = b.status === 200 ? b.text : `${b.status} ${b.text.slice(0, 200)}`
  }
  return { ms, atSlot: String(c.msg['at-slot']), balances, stats: await aoNode.stats() }
}

/** The stored result of a slot (computed/<pid>/slot/<n>) as typed JSON. */
async function pageStored({ pid, slot }) {
  const target = encodeURIComponent(`computed/${pid}/slot/${slot}`)
  return aoNode.resolvePath(`/~cache@1.0/read?target=${target}`)
}

// ---- the test ----------------------------------------------------------------

const nameOf = (addresses) => (h) => (h === 'w1' ? addresses.w1 : h === 'w2' ? addresses.w2 : h)

function expectBalances(got, expected, addresses) {
  const name = nameOf(addresses)
  for (const [h, bal] of expected) {
    const who = name(h)
    if (got[who] !== String(bal)) throw new Error(`balance of ${h} (${who}): ${got[who]}, expected ${bal}`)
  }
  let total = 0n
  for (const v of expected.values()) total += v
  if (total !== 2n * START) throw new Error(`the plan does not conserve the supply: ${total}`)
}

const luaCalls = (stats) => stats.calls[LUA] ?? {}
const describeCalls = (calls) => Object.entries(calls).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ') || 'none'

async function main() {
  let dist, statik, browser
  const outside = []
  try {
    const token = await readFile(join(SHARED, 'hyperbeam-data/scripts/hyper-token.lua'), 'utf8')
    const jwk1 = JSON.parse(await readFile(join(SHARED, 'hyperbeam-data/test/key-1.json'), 'utf8'))
    const jwk2 = JSON.parse(await readFile(join(SHARED, 'hyperbeam-data/test/key-2.json'), 'utf8'))
    if (process.env.AO_DIST) dist = resolve(process.env.AO_DIST)
    else {
      dist = await tempDir('token-dist')
      await check('vite build', async () => { await run(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--outDir', dist, '--emptyOutDir', '--logLevel', 'warn']) })
    }
    await check('the build bundles lua@5.3a\'s glue.wasm and its URL', async () => {
      const assets = await readdir(join(dist, 'assets'))
      const wasm = assets.find((f) => /^glue-.*\.wasm$/.test(f))
      if (!wasm) throw new Error(`no glue-*.wasm in ${dist}/assets`)
      const js = await Promise.all(assets.filter((f) => f.endsWith('.js')).map((f) => readFile(join(dist, 'assets', f), 'utf8')))
      if (!js.some((t) => t.includes(wasm))) throw new Error(`no script names assets/${wasm}`)
      return `assets/${wasm}`
    })
    statik = await startStatic(dist)
    const origin = new URL(statik.url).origin
    browser = await launch()
    // Nothing may leave 127.0.0.1 (in particular no glue.wasm from unpkg).
    await browser.context.route((url) => url.origin !== origin, (route) => {
      outside.push(route.request().url())
      return route.abort()
    })
    const app = browser.context.pages()[0] ?? (await browser.context.newPage())
    app.on('pageerror', (e) => console.error(`[chromium] page error: ${oneLine(e.message)}`))
    app.on('console', (m) => { if (m.type() === 'error') console.error(`[chromium] ${oneLine(m.text())}`) })

    /** The node is ready on IndexedDB with a blockstore, and the service worker controls the page. */
    const up = async () => {
      await app.waitForFunction(() => document.querySelector('#ingress-status')?.dataset.state === 'ready'
        || document.querySelector('#node-status')?.dataset.state === 'error', null, { timeout: STEP_MS })
      const info = await app.evaluate(() => aoNode.ready())
      if (!info.ready) throw new Error(`the node did not start: ${info.error}`)
      if (info.store !== 'idb:ao-tab-store') throw new Error(`the node's store is ${info.store} (${info.storeError ?? 'no error'})`)
      if (info.blocks !== 'idb:ao-tab-blocks') throw new Error(`the node has no IndexedDB blockstore (${info.blocksError ?? 'no error'})`)
      const setup = await app.evaluate(pageSetup, { jwk1, jwk2 })
      if (!setup.controlled) throw new Error('the service worker does not control the page')
      return { info, addresses: setup }
    }

    let node, addresses, pid
    const expected = new Map([['w1', START], ['w2', START]])
    const holders = () => [...expected.keys()].map(nameOf(addresses))

    await check('the app starts its node on IndexedDB with a blockstore; the service worker controls the page', async () => {
      await app.goto(statik.url)
      ;({ info: node, addresses } = await up())
      return `node ${node.address}, store ${node.store}, blocks ${node.blocks}`
    })

    await check('spawn hyper-token.lua (lua@5.3a) with the tab\'s node as scheduler, by POST /~scheduler@1.0/schedule', async () => {
      const r = await app.evaluate(pageSpawn, { token, start: String(START), scheduler: node.address })
      if (r.status !== 200 || r.slot !== '0' || r.process !== r.pid) throw new Error(`spawn: ${r.status} slot ${r.slot} process ${r.process} (pid ${r.pid}): ${r.text}`)
      pid = r.pid
      return `process ${pid}`
    })

    await check(`${TRANSFERS} transfers signed in the page and scheduled through the service worker get slots 1..${TRANSFERS}`, async () => {
      const r = await app.evaluate(pageSchedule, { pid, transfers: plan(0, TRANSFERS, expected) })
      if (r.error) throw new Error(`${r.error} (after ${r.slots.length})`)
      const bad = r.slots.findIndex((s, i) => s !== String(i + 1))
      if (r.slots.length !== TRANSFERS || bad >= 0) throw new Error(`slots: ${r.slots.slice(Math.max(0, bad - 2), bad + 3).join(', ')} at ${bad}`)
    })

    let snapshotSlot, snapshotCid
    await check(`compute&slot=${TRANSFERS} in the worker: exact balances; snapshots stored as blocks`, async () => {
      const r = await app.evaluate(pageCompute, { pid, slot: TRANSFERS, holders: holders() })
      if (r.error) throw new Error(r.error)
      if (r.atSlot !== String(TRANSFERS)) throw new Error(`the state is at slot ${r.atSlot}`)
      expectBalances(r.balances, expected, addresses)
      const calls = luaCalls(r.stats)
      if (calls.init !== 1 || calls.compute !== TRANSFERS + 1 || (calls.normalize ?? 0) !== 0) throw new Error(`${LUA} calls: ${describeCalls(calls)}`)
      // process@1.0 may write results behind the computation: wait for them, as a clean shutdown would.
      await app.evaluate(() => aoNode.flush())
      // Every slot's result is stored; those with a snapshot (every process_cache_frequency slots) name its block's CID.
      const withSnapshot = []
      for (let slot = 0; slot <= TRANSFERS; slot++) {
        const s = await app.evaluate(pageStored, { pid, slot })
        if (s.status !== 'ok') throw new Error(`computed/${pid}/slot/${slot}: ${s.status} ${s.value.slice(0, 500)}`)
        const stored = JSON.parse(s.value)
        if (String(stored['at-slot']) !== String(slot)) throw new Error(`computed/${pid}/slot/${slot} is at slot ${stored['at-slot']}`)
        if (stored.snapshot === undefined) continue
        const cid = stored.snapshot['snapshot-cid']
        if (typeof cid !== 'string' || !/^baf[a-z2-7]+$/.test(cid)) throw new Error(`slot ${slot}'s snapshot is not a block: ${JSON.stringify(stored.snapshot).slice(0, 300)}`)
        withSnapshot.push([slot, cid])
      }
      if (withSnapshot.length === 0) throw new Error(`no slot in 0..${TRANSFERS} has a snapshot`)
      ;[snapshotSlot, snapshotCid] = withSnapshot[withSnapshot.length - 1]
      if (snapshotSlot === 0) throw new Error(`the only snapshot in 0..${TRANSFERS} is slot 0's (process_cache_frequency > ${TRANSFERS}?): a restore could not be told from a fresh start`)
      return `${(TRANSFERS / (r.ms / 1000)).toFixed(0)} transfers/s over HTTP; ${LUA} calls: ${describeCalls(calls)}; snapshots at slots ${withSnapshot.map(([n]) => n).join(', ')}, the newest ${snapshotCid}`
    })

    await check('after a page reload, the process is still there: its current slot and balances, read without running Lua', async () => {
      await app.reload()
      await up()
      const r = await app.evaluate(async (pid) => {
        const s = await window.tok.ao.get(`/${pid}~process@1.0/slot`)
        return { status: s.status, current: String(s.msg.current), text: s.text.slice(0, 300) }
      }, pid)
      if (r.status !== 200 || r.current !== String(TRANSFERS)) throw new Error(`slot: ${r.status} current ${r.current}: ${r.text}`)
      const c = await app.evaluate(pageCompute, { pid, slot: TRANSFERS, holders: holders() })
      if (c.error) throw new Error(c.error)
      expectBalances(c.balances, expected, addresses)
      const calls = luaCalls(c.stats)
      if (Object.values(calls).some((n) => n > 0)) throw new Error(`reading slot ${TRANSFERS} ran ${LUA}: ${describeCalls(calls)}`)
      return `current slot ${r.current}`
    })

    await check(`${MORE} more transfers after the reload continue from the newest snapshot, not from slot 0`, async () => {
      const s = await app.evaluate(pageSchedule, { pid, transfers: plan(TRANSFERS, TRANSFERS + MORE, expected) })
      if (s.error) throw new Error(`${s.error} (after ${s.slots.length})`)
      const bad = s.slots.findIndex((x, i) => x !== String(TRANSFERS + i + 1))
      if (s.slots.length !== MORE || bad >= 0) throw new Error(`slots after the reload: ${s.slots.slice(0, 5).join(', ')}…`)
      const end = TRANSFERS + MORE
      const r = await app.evaluate(pageCompute, { pid, slot: end, holders: holders() })
      if (r.error) throw new Error(r.error)
      if (r.atSlot !== String(end)) throw new Error(`the state is at slot ${r.atSlot}`)
      expectBalances(r.balances, expected, addresses)
      // One restore, at the newest snapshot; Lua computes only the slots after it.
      const calls = luaCalls(r.stats)
      const restores = r.stats.restores.map((x) => x.slot)
      if ((calls.init ?? 0) !== 0 || calls.normalize !== 1 || calls.compute !== end - snapshotSlot || restores.join() !== String(snapshotSlot)) {
        throw new Error(`${LUA} calls: ${describeCalls(calls)}; restored at slots [${restores.join(', ')}]; expected one restore at slot ${snapshotSlot} and ${end - snapshotSlot} computes`)
      }
      return `restored at slot ${restores[0]} (block ${snapshotCid}), then ${calls.compute} compute calls; balances exact`
    })

    await check('nothing was requested outside 127.0.0.1 (glue.wasm came from the build)', async () => {
      if (outside.length) throw new Error(`requested: ${[...new Set(outside)].join(', ')}`)
    })
    return null
  } catch (e) {
    return e
  } finally {
    await browser?.close()
    statik?.child.kill()
    if (!process.env.AO_DIST) await removeDir(dist)
  }
}

const error = await main()
if (error && counts.failed === 0) console.log(`token: error: ${oneLine(error.message)}`)
console.log(`token: ${counts.passed} passed, ${counts.failed} failed`)
process.exit(error || counts.failed > 0 ? 1 : 0)
