#!/usr/bin/env node
/**
 * Browser pages on the network (issue 5, the browser host): the relay
 * (`ao relay`) and three pages of the built PWA in Chromium, each in its own
 * browser context (its own IndexedDB: wallet, store, peer key), joined through
 * `?bootstrap=<the relay's ws multiaddr>`.
 *
 * Chromium gathers no loopback ICE candidates, so the test runs in a private
 * network namespace it creates itself (re-exec under `unshare -n` with a veth
 * pair and a default route, ../shared/notes/stack.md §3; needs root or
 * CAP_SYS_ADMIN). Only ICE uses the namespace's 10.250.0.1; the relay, the
 * static server and every dial are on 127.0.0.1, and nothing can leave the
 * namespace. Requests from the pages to any other origin are aborted and fail
 * the test.
 *
 * Checks (each one a real assertion; see the steps below for the details):
 *   1. every page reserves a slot on the relay (a /p2p-circuit/webrtc address)
 *   2. every page's node (in its worker) accepted the other pages' announcements
 *   3. every pair of pages is connected directly over WebRTC (a connection
 *      without limits whose address is /webrtc), besides the relay
 *   4. gossip flows page → page over those connections: the relay is not
 *      subscribed to the topic, and the receivers got it from the publisher
 *   5. a process's messages gossip through the nodes' validation: a message
 *      committed in page A, published on the process's messages topic, is
 *      accepted by B's and C's nodes in their workers; a forged one is refused
 *   6. the relay restarts (same key, same port): the pages reconnect and
 *      reserve again by themselves
 *
 * Prints one line per check, then `p2p: N passed, N failed`; exits 1 on failure.
 * Env: AO_DIST (reuse a build), CHROMIUM_PATH, AO_P2P_NETNS (set inside the namespace).
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { CHROMIUM, deadline, oneLine, removeDir, tempDir, run, sleep, until } from './chromium.js'
import { inPrivateNetwork } from './netns.js'
import { pageSetup, pageSpawn } from './page-dapp.js'

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..')
const SELF = fileURLToPath(import.meta.url)
const SHARED = resolve(process.env.AO_SHARED ?? resolve(ROOT, '../shared'))

inPrivateNetwork(SELF, 'p2p')

// ---- inside it ------------------------------------------------------------------

const STEP_MS = 45_000
const RELAY_TCP = 9090 // the namespace is ours: fixed ports, so a restarted relay keeps its addresses
const RELAY_WS = 9091
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']

const counts = { passed: 0, failed: 0 }
async function check(name, fn, ms = STEP_MS) {
  const timer = deadline(ms, name)
  const t = Date.now()
  try {
    const detail = await Promise.race([fn(), timer.promise])
    counts.passed++
    console.log(`ok   ${name} (${Date.now() - t} ms)${detail ? `: ${detail}` : ''}`)
  } catch (e) {
    counts.failed++
    console.log(`FAIL ${name}: ${oneLine(e.message)}`)
    throw e
  } finally {
    timer.clear()
  }
}


/** A child process; resolves once `pattern` matches its output (the match). */
function start(args, pattern, env = {}) {
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  return new Promise((ok, fail) => {
    let out = ''
    const seen = (d) => {
      out += d
      const m = pattern.exec(out)
      if (m) ok({ child, match: m, out: () => out })
    }
    child.stdout.on('data', seen)
    child.stderr.on('data', seen)
    child.on('error', fail)
    child.on('exit', (code) => fail(new Error(`${args.join(' ')} exited ${code}: ${out}`)))
  })
}

const startRelay = (store) => start(['bin/ao.js', 'relay', '--port', String(RELAY_TCP), '--ws-port', String(RELAY_WS), '--store', store], /(\/ip4\/127\.0\.0\.1\/tcp\/\d+\/ws\/p2p\/\S+)\n/)

function stopChild(child) {
  if (!child || child.exitCode !== null) return Promise.resolve()
  return new Promise((r) => { child.once('exit', r); child.kill('SIGTERM') })
}

// ---- page side (page.evaluate) --------------------------------------------------

/** The page's network as its host and its node see it. */
async function pageNet() {
  if (globalThis.aoNetError) return { error: globalThis.aoNetError }
  const net = globalThis.aoNet
  if (!net) return { joined: false }
  const info = await net.info()
  return {
    joined: true,
    peerId: net.host.peerId,
    multiaddrs: net.host.multiaddrs(),
    connections: net.host.connections(),
    nodes: info.nodes,
    gossip: info.gossip,
    address: info.address,
  }
}

/** Subscribe the page's host to a raw test topic; what arrives is kept in window.rawGot. */
function pageSubscribeRaw(topic) {
  const ps = globalThis.aoNet.host.pubsub
  window.rawGot = []
  ps.addEventListener('gossipsub:message', (e) => {
    if (e.detail.msg.topic !== topic) return
    window.rawGot.push({ text: new TextDecoder().decode(e.detail.msg.data), from: e.detail.msg.from.toString(), via: e.detail.propagationSource.toString() })
  })
  ps.subscribe(topic)
}

async function pagePublishRaw({ topic, text }) {
  const r = await globalThis.aoNet.host.pubsub.publish(topic, new TextEncoder().encode(text))
  return r.recipients.map(String)
}

/** Transfers signed here and POSTed to this tab's node: forwarded (202) when another node schedules. */
async function pageTransfers({ pid, recipients, from }) {
  const { ao, w, post } = window.page
  const out = []
  for (const [i, r] of recipients.entries()) {
    const m = await ao.sign({ type: 'Message', target: pid, action: 'Transfer', recipient: r, quantity: 1n, nonce: BigInt(from + i) }, w)
    const res = await post(`/${pid}~process@1.0/schedule`, m)
    out.push({ status: res.status, text: res.status >= 300 ? res.text.slice(0, 300) : '' })
  }
  return out
}

/** Whether this page's node attested `slot` itself (it computed it). */
async function pageAttested({ pid, slot }) {
  const a = await aoNode.resolvePath(`/~p2p@1.0/attestations&process=${pid}&slot+integer=${slot}`)
  if (a.status !== 'ok') return { error: a.value.slice(0, 300) }
  const list = JSON.parse(a.value).attestations ?? []
  return { own: list.some((e) => e.own === true), attestations: list }
}

/** A quorum read of `slot` and the holders' balances there. */
async function pageQuorum({ pid, slot, quorum, holders, addresses }) {
  const { get } = window.page
  const q = await get(`/${pid}~process@1.0/compute&slot+integer=${slot}&quorum+integer=${quorum}`)
  const balances = {}
  for (const h of holders) {
    const b = await get(`/${pid}~process@1.0/compute&slot+integer=${slot}/balance/${h}`)
    balances[h] = b.status === 200 ? b.text : `${b.status}`
  }
  // The 200 names the attesting wallets.
  const attesters = addresses.filter((a) => q.text.includes(a))
  return { status: q.status, text: q.text.slice(0, 400), attesters, balances }
}

// ---- the test ----------------------------------------------------------------------

async function main() {
  let dist, statik, relay, browser, relayStore
  const outside = []
  const pages = []
  try {
    if (process.env.AO_DIST) dist = resolve(process.env.AO_DIST)
    else {
      dist = await tempDir('p2p-dist')
      await check('vite build', async () => { await run(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--outDir', dist, '--emptyOutDir', '--logLevel', 'warn']) }, 120_000)
    }
    relayStore = await tempDir('p2p-relay')
    let relayAddr
    await check('the relay starts (ao relay, TCP and WebSockets on 127.0.0.1)', async () => {
      const [s, r] = await Promise.all([
        start(['bin/serve-static.js', dist], /http:\/\/127\.0\.0\.1:\d+\//, { PORT: '0' }),
        startRelay(relayStore),
      ])
      statik = s
      relay = r
      relayAddr = r.match[1]
      return relayAddr
    })
    const origin = new URL(statik.match[0]).origin
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found`)
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS })

    const open = async (name) => {
      const context = await browser.newContext()
      await context.route((url) => url.origin !== origin, (route) => { outside.push(route.request().url()); return route.abort() })
      const page = await context.newPage()
      page.on('pageerror', (e) => console.error(`[${name}] page error: ${oneLine(e.message)}`))
      page.on('console', (m) => { if (m.type() === 'error') console.error(`[${name}] ${oneLine(m.text())}`) })
      await page.goto(`${origin}/?bootstrap=${encodeURIComponent(relayAddr)}`)
      return { name, context, page }
    }
    const net = (p) => p.page.evaluate(pageNet)

    await check('three pages (separate contexts) start their nodes and join through the relay', async () => {
      pages.push(...await Promise.all(['A', 'B', 'C'].map(open)))
      const infos = await Promise.all(pages.map((p) => until(async () => {
        const n = await net(p)
        if (n.error) throw new Error(`${p.name}: ${n.error}`)
        return n.joined ? n : { wait: n }
      }, `${p.name} joins`, 40_000)))
      for (const [i, n] of infos.entries()) Object.assign(pages[i], { peerId: n.peerId, address: n.address })
      if (new Set(infos.map((n) => n.peerId)).size !== 3 || new Set(infos.map((n) => n.address)).size !== 3) throw new Error('the pages share a peer ID or a wallet')
      return infos.map((n, i) => `${pages[i].name} ${n.peerId.slice(-6)}`).join(', ')
    }, 60_000)

    const relayPeer = relayAddr.split('/p2p/')[1]
    const reserved = (p) => until(async () => {
      const n = await net(p)
      const rtc = n.multiaddrs.filter((a) => a.includes(`/p2p/${relayPeer}/p2p-circuit/webrtc/p2p/${p.peerId}`))
      return rtc.length > 0 ? rtc : { wait: n.multiaddrs }
    }, `${p.name}'s reservation`)

    await check('every page reserves a slot on the relay: it listens on /p2p-circuit/webrtc through it', async () => {
      const r = await Promise.all(pages.map(reserved))
      return r[0][0]
    })

    await check('every page\'s node (in its worker) accepted the other pages\' announcements: wallet ↔ peer ID', async () => {
      for (const p of pages) {
        await until(async () => {
          const n = await net(p)
          const missing = pages.filter((q) => q !== p && n.nodes[q.address] !== q.peerId)
          return missing.length === 0 ? true : { wait: { missing: missing.map((q) => q.name), nodes: n.nodes } }
        }, `${p.name}'s table`)
      }
    })

    const direct = (n, peer) => n.connections.find((c) => c.peer === peer && !c.limited && c.webrtc)
    await check('every pair of pages is connected directly over WebRTC (no limits, a /webrtc address), not only through the relay', async () => {
      const t0 = Date.now()
      for (const p of pages) {
        await until(async () => {
          const n = await net(p)
          const missing = pages.filter((q) => q !== p && !direct(n, q.peerId))
          return missing.length === 0 ? true : { wait: { missing: missing.map((q) => q.name), connections: n.connections } }
        }, `${p.name}'s WebRTC connections`)
      }
      const a = await net(pages[0])
      return `within ${Date.now() - t0} ms; A → B: ${direct(a, pages[1].peerId).addr}`
    })

    await check('gossip flows page → page over WebRTC: the relay is not on the topic; B and C get A\'s message from A', async () => {
      const topic = `/ao-tab/e2e/${Date.now()}`
      await Promise.all(pages.map((p) => p.page.evaluate(pageSubscribeRaw, topic)))
      const [A, B, C] = pages
      // Wait until A sees B and C on the topic (subscriptions travel over the direct connections).
      await until(async () => {
        const subs = await A.page.evaluate((t) => globalThis.aoNet.host.pubsub.getSubscribers(t).map(String), topic)
        return subs.includes(B.peerId) && subs.includes(C.peerId) && !subs.includes(relayPeer) ? true : { wait: subs }
      }, 'A sees B and C subscribed')
      const t = Date.now()
      const recipients = await A.page.evaluate(pagePublishRaw, { topic, text: 'hello from A' })
      if (recipients.includes(relayPeer)) throw new Error('the relay got the message')
      const got = await Promise.all([B, C].map((p) => until(async () => {
        const g = await p.page.evaluate(() => window.rawGot)
        return g.length > 0 ? g : undefined
      }, `${p.name} receives`, 10_000, 10)))
      const ms = Date.now() - t
      for (const [i, g] of got.entries()) {
        const p = [B, C][i]
        if (g[0].text !== 'hello from A' || g[0].from !== A.peerId) throw new Error(`${p.name} got ${JSON.stringify(g)}`)
        const n = await net(p)
        if (!direct(n, g[0].via)) throw new Error(`${p.name} got it via ${g[0].via}, which is not a direct WebRTC peer`)
      }
      return `delivered to B and C in ${ms} ms (publish → both seen, including polling)`
    })

    // ---- a Lua process across the pages (src/p2p/wiring.ts over the bridge)
    const lua = await readFile(join(SHARED, 'hyperbeam-data/scripts/hyper-token.lua'), 'utf8')
    const jwk = JSON.parse(await readFile(join(SHARED, 'hyperbeam-data/test/key-1.json'), 'utf8'))
    const [A, B, C] = pages
    let holder, pid
    await Promise.all(pages.map(async (p) => { holder = await p.page.evaluate(pageSetup, { jwk }) }))
    /** The page computed `slot` (its own attestation of it exists). */
    const reaches = (p, slot, ms = 30_000) => until(async () => {
      const v = await p.page.evaluate(pageAttested, { pid, slot })
      if (v.own) return true
      const n = await p.page.evaluate(() => aoNode.networkInfo())
      const h = await net(p)
      return { wait: { ...v, wiring: n.wiring, processes: n.processes, gossip: n.gossip, connections: h.connections.map((c) => `${c.peer.slice(-6)}${c.limited ? ' limited' : ''}${c.webrtc ? ' webrtc' : ''}`) } }
    }, `${p.name} computes slot ${slot}`, ms)
    const RECIPIENTS = Array.from({ length: 3 }, (_, i) => String.fromCharCode(97 + i).repeat(43))
    const START = 1_000_000
    const N = 10

    const expected = { [holder]: String(START - N), [RECIPIENTS[0]]: String(Math.ceil(N / 3)), [RECIPIENTS[1]]: String(Math.ceil((N - 1) / 3)), [RECIPIENTS[2]]: String(Math.ceil((N - 2) / 3)) }
    const sameHashpaths = async (from, to) => {
      for (let slot = from; slot <= to; slot++) {
        const hp = new Set()
        for (const p of pages) {
          const v = await until(async () => {
            const v = await p.page.evaluate(pageAttested, { pid, slot })
            return v.own ? v : { wait: v }
          }, `${p.name} attests slot ${slot}`)
          hp.add(v.attestations.find((e) => e.own).hashpath)
        }
        if (hp.size !== 1) throw new Error(`slot ${slot}: hashpaths ${[...hp].join(' ≠ ')}`)
      }
    }

    await check('A spawns hyper-token.lua (lua@5.3a) with its own node as the scheduler; B and C follow it (p2p@1.0 subscribe) and catch up slot 0', async () => {
      const r = await A.page.evaluate(pageSpawn, { lua, start: START, scheduler: A.address })
      if (r.status !== 200 || r.slot !== '0') throw new Error(`spawn: ${r.status} slot ${r.slot}: ${r.text}`)
      pid = r.pid
      for (const p of [B, C]) {
        const s = await p.page.evaluate((pid) => aoNode.resolvePath(`/~p2p@1.0/subscribe&process=${pid}`), pid)
        if (s.status !== 'ok') throw new Error(`${p.name} subscribe: ${s.value}`)
      }
      await Promise.all([B, C].map((p) => reaches(p, 0)))
      return `process ${pid}`
    })

    await check(`${N} transfers signed in B, POSTed to B's node: forwarded by gossip to A, scheduled there, the assignments gossiped back to B and C`, async () => {
      const rs = await B.page.evaluate(pageTransfers, { pid, recipients: Array.from({ length: N }, (_, i) => RECIPIENTS[i % 3]), from: 0 })
      const bad = rs.filter((r) => r.status !== 202 && r.status !== 200)
      if (bad.length) throw new Error(`schedule at B: ${JSON.stringify(bad[0])} (${bad.length} of ${N})`)
      const forwarded = rs.filter((r) => r.status === 202).length
      await Promise.all(pages.map((p) => reaches(p, N)))
      return `${forwarded} of ${N} answered 202 (forwarded)`
    })

    const M = 10
    let atSlot = N

    await check(`every page computes the same hashpaths: each page's own attestation of slots 0..${N} has one hashpath across the pages; quorum-3 reads of slots 0 and ${N} answer 200 on every page with the three wallets; balances exact`, async () => {
      await sameHashpaths(0, N)
      for (const p of pages) {
        for (const slot of [0, N]) {
          // 202 while fewer than 3 have attested here (missed attestations are pulled from peers): ask again; 409 fails.
          const q = await until(async () => {
            const q = await p.page.evaluate(pageQuorum, { pid, slot, quorum: 3, holders: slot === N ? Object.keys(expected) : [], addresses: pages.map((x) => x.address) })
            return q.status === 202 ? { wait: q } : q
          }, `${p.name}'s quorum read of slot ${slot}`, 15_000, 250)
          if (q.status !== 200) throw new Error(`${p.name} quorum read of slot ${slot}: ${q.status} ${q.text}`)
          const missing = pages.filter((x) => !q.attesters.includes(x.address))
          if (missing.length) throw new Error(`${p.name} quorum read of slot ${slot} lacks ${missing.map((x) => x.name)}: ${q.attesters.join(', ')}`)
          if (slot === N) for (const [h, b] of Object.entries(expected)) if (q.balances[h] !== b) throw new Error(`${p.name}: balance of ${h} is ${q.balances[h]}, expected ${b}`)
        }
      }
      const hp = await A.page.evaluate(pageAttested, { pid, slot: N })
      return `slot ${N}: ${hp.attestations.find((e) => e.own).hashpath}`
    }, 60_000)

    await check(`C reloads while B submits ${M} more transfers: C comes back with the same peer ID, reconnects over WebRTC, catches up and computes the same hashpaths`, async () => {
      const sending = B.page.evaluate(pageTransfers, { pid, recipients: Array.from({ length: M }, (_, i) => RECIPIENTS[i % 3]), from: 1000 })
      await sleep(150)
      await C.page.reload()
      const rs = await sending
      const bad = rs.filter((r) => r.status !== 202 && r.status !== 200)
      if (bad.length) throw new Error(`schedule at B: ${JSON.stringify(bad[0])}`)
      const n = await until(async () => {
        const n = await net(C)
        if (n.error) throw new Error(n.error)
        return n.joined ? n : { wait: n }
      }, 'C joins again')
      if (n.peerId !== C.peerId) throw new Error(`C's peer ID changed: ${C.peerId} → ${n.peerId}`)
      await C.page.evaluate(pageSetup, { jwk })
      const t = Date.now()
      for (const q of [A, B]) {
        await until(async () => direct(await net(C), q.peerId) ? true : { wait: (await net(C)).connections }, `C ↔ ${q.name} over WebRTC again`)
      }
      const rtcMs = Date.now() - t
      // The wiring catches up once, on following, from peers it sees on the topic (src/p2p/wiring.ts initialCatchUp).
      await until(async () => {
        const subs = await C.page.evaluate((t) => globalThis.aoNet.host.pubsub.getSubscribers(t).map(String), `/ao-tab/process/1.0.0/${pid}/assignments`)
        return subs.includes(A.peerId) ? true : { wait: subs }
      }, 'C sees A on the process\'s topic', 10_000)
      const s = await C.page.evaluate((pid) => aoNode.resolvePath(`/~p2p@1.0/subscribe&process=${pid}`), pid)
      if (s.status !== 'ok') throw new Error(`C subscribe: ${s.value}`)
      try {
        await reaches(C, N + M, 40_000) // past the wiring's 30 s catch-up timeout, so a stuck one shows its error
      } catch (e) {
        // Diagnosis only (the check has failed): what a catch-up now would get from each peer.
        const again = await C.page.evaluate((pid) => aoNode.catchUpNow(pid), pid).catch((x) => String(x))
        throw new Error(`${e.message}; a catch-up now: ${JSON.stringify(again)}`)
      }
      await sameHashpaths(N + 1, N + M)
      atSlot = N + M
      return `WebRTC to A and B again ${rtcMs} ms after C joined; slots ${N + 1}..${N + M} equal on all three`
    }, 90_000)

    await check('the relay restarts (same key and port): the pages\' WebRTC connections stay up and carry the process meanwhile; the pages reconnect and reserve again by themselves', async () => {
      await stopChild(relay.child)
      await Promise.all(pages.map((p) => until(async () => {
        const n = await net(p)
        return n.connections.some((c) => c.peer === relayPeer) ? { wait: 'still connected to the relay' } : true
      }, `${p.name} notices the relay is gone`, 15_000)))
      // Relay down: the process goes on over the pages' direct connections.
      const rs = await B.page.evaluate(pageTransfers, { pid, recipients: [RECIPIENTS[0], RECIPIENTS[1]], from: 2000 })
      if (rs.some((r) => r.status !== 202 && r.status !== 200)) throw new Error(`schedule with the relay down: ${JSON.stringify(rs)}`)
      await Promise.all(pages.map((p) => reaches(p, atSlot + 2)))
      await sameHashpaths(atSlot + 1, atSlot + 2)
      atSlot += 2
      relay = await startRelay(relayStore)
      if (relay.match[1] !== relayAddr) throw new Error(`the relay came back as ${relay.match[1]}`)
      const t = Date.now()
      await Promise.all(pages.map(reserved))
      return `2 slots computed on all pages with the relay down; reservations renewed ${Date.now() - t} ms after the restart`
    }, 60_000)

    await check('C goes offline and back (the browser\'s offline mode): it loses the relay, then on the `online` event dials it again and renews its reservation', async () => {
      await C.context.setOffline(true)
      const lost = await until(async () => {
        const n = await net(C)
        return n.connections.some((c) => c.peer === relayPeer) ? { wait: n.connections } : n
      }, 'C loses the relay', 20_000).catch((e) => e)
      await C.context.setOffline(false)
      if (lost instanceof Error) throw lost
      const t = Date.now()
      await until(async () => (await net(C)).connections.some((c) => c.peer === relayPeer && !c.limited) ? true : { wait: (await net(C)).connections }, 'C reconnects to the relay', 15_000)
      const back = Date.now() - t
      await reserved(C)
      return `relay connection back ${back} ms after going online; reservation renewed ${Date.now() - t} ms after`
    })

    await check('a page opened late (D) starts from a snapshot fetched by CID: an offer backed by the other pages\' attestations, the blocks by bitswap, then Lua runs only the slots after it, with the same hashpaths', async () => {
      // process@1.0 snapshots every 100 slots: go past slot 100.
      const head = 103
      const rs = await B.page.evaluate(pageTransfers, { pid, recipients: Array.from({ length: head - atSlot }, (_, i) => RECIPIENTS[i % 3]), from: 3000 })
      if (rs.some((r) => r.status !== 202 && r.status !== 200)) throw new Error(`schedule: ${JSON.stringify(rs.find((r) => r.status !== 202 && r.status !== 200))}`)
      await Promise.all(pages.map((p) => reaches(p, head)))
      await until(async () => ((await A.page.evaluate(pageAttested, { pid, slot: 100 })).attestations?.length ?? 0) >= 3 ? true : undefined, 'A holds three attestations of slot 100')
      const D = await open('D')
      const n = await until(async () => { const n = await net(D); if (n.error) throw new Error(n.error); return n.joined ? n : { wait: n } }, 'D joins', 40_000)
      Object.assign(D, { peerId: n.peerId, address: n.address })
      await until(async () => { const d = await net(D); return pages.some((q) => direct(d, q.peerId)) ? true : { wait: d.connections } }, 'D connects to a page')
      await D.page.evaluate(pageSetup, { jwk })
      const r = await D.page.evaluate((pid) => aoNode.startFromSnapshot(pid, 2), pid)
      if (r.slot !== 100n) throw new Error(`D started from slot ${r.slot}`)
      pages.push(D)
      await reaches(D, head)
      await sameHashpaths(101, head)
      const stats = await D.page.evaluate(() => aoNode.stats())
      const calls = stats.calls['lua@5.3a'] ?? {}
      const restores = stats.restores.map((x) => String(x.slot))
      if ((calls.init ?? 0) !== 0 || restores.join() !== '100' || calls.compute !== head - 100) throw new Error(`D's Lua: ${JSON.stringify(calls)}, restores at [${restores}]`)
      return `snapshot ${r.cid} of slot 100 from ${r.peer.slice(-6)}, backed by ${r.attesters.length} wallets; offer ${r.ms.offer} ms, blocks ${r.ms.blocks} ms, ${r.caughtUp} assignments ${r.ms.catchUp} ms; Lua: restore at 100, ${calls.compute} computes, no init`
    }, 90_000)

    await check('validation is the node\'s, in the worker: garbage A\'s page host publishes (last: it costs A its standing) on the process\'s assignments topic is rejected by B\'s and C\'s nodes, not delivered, and A\'s score drops', async () => {
      const before = await Promise.all([B, C].map((p) => p.page.evaluate(() => aoNode.networkInfo())))
      await A.page.evaluate(async (topic) => {
        for (let i = 0; i < 3; i++) await globalThis.aoNet.host.pubsub.publish(topic, new TextEncoder().encode(`not a message ${i}`))
      }, `/ao-tab/process/1.0.0/${pid}/assignments`)
      const out = []
      for (const [i, p] of [B, C].entries()) {
        const r = await until(async () => {
          const n = await p.page.evaluate(() => aoNode.networkInfo())
          const rejected = n.gossip.assignments.reject - before[i].gossip.assignments.reject
          return rejected >= 3 ? { rejected, n } : { wait: n.gossip.assignments }
        }, `${p.name} rejects`, 10_000)
        if (r.n.gossip.assignments.accept !== before[i].gossip.assignments.accept) throw new Error(`${p.name} accepted something`)
        // gossipsub caches scores for a heartbeat or so.
        const score = await until(async () => {
          const v = await p.page.evaluate((peer) => globalThis.aoNet.host.pubsub.getScore(peer), A.peerId)
          return v < 0 ? v : { wait: v }
        }, `${p.name}'s score of A drops`, 5_000)
        out.push(`${p.name}: ${r.rejected} rejected, A's score ${score.toFixed(1)}`)
      }
      return out.join('; ')
    })

    await check('nothing was requested outside 127.0.0.1', async () => {
      if (outside.length) throw new Error(`requested: ${[...new Set(outside)].join(', ')}`)
    })
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

const t0 = Date.now()
const error = await main()
console.log(`p2p: ${counts.passed} passed, ${counts.failed} failed (${((Date.now() - t0) / 1000).toFixed(1)} s)`)
if (error && counts.failed === 0) console.log(`FAIL ${oneLine(error.stack ?? error.message)}`)
process.exit(error || counts.failed ? 1 : 0)
