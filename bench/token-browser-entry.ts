/**
 * Worker side of bench/token-browser.js, in a Chromium module worker: the
 * tab's node as the app composes it (src/app/tab-node.ts: IndexedDB store,
 * snapshots as blocks in blockstore-idb), hyper-token.lua spawned on
 * lua@5.3a, N transfers signed (httpsig, two senders) and scheduled, slot 0
 * (the spawn) computed, then the timed part: compute&slot=N, i.e. slots
 * 1..N, each one Lua call and its result (with a snapshot every
 * process_cache_frequency slots) written to IndexedDB. `seconds` ends when
 * slot N is answered, `durableSeconds` when every result has landed in
 * IndexedDB (process@1.0 may write behind the computation).
 *
 * Baseline, in the same worker: bare calls into a Lua VM through wasmoon's C
 * API (push a Lua function and an integer, lua_pcallk, pop), which every
 * transfer makes at least once. It does not use the node's Lua code, so the
 * ratio shows how many bare VM calls one computed transfer costs and moves
 * only when the compute path does. A second reference, since each slot also
 * writes to IndexedDB: raw IndexedDB puts of 32 KiB, one transaction each
 * (the floor of one durable write per slot); `storage` splits the timed
 * compute's store and block operations out.
 */
import { LuaFactory } from 'wasmoon'
import { LuaVM } from '../src/lua/vm.ts'
import { message, type Message } from '../src/core/value.ts'
import { commitAll, commitMessage } from '../src/codecs/commitments.ts'
import { messageId } from '../src/core/id.ts'
import { directGet } from '../src/core/resolver.ts'
import { loadJwk, type Wallet } from '../src/crypto/wallet.ts'
import { flushStore, startTabNode, type TabNode } from '../src/app/tab-node.ts'
import { countingDevice, emptyStats } from '../src/app/exec-stats.ts'
import { createNode } from '../src/node/node.ts'
import { preloadedDevices } from '../src/devices/index.ts'
import { Blocks } from '../src/snapshot/blocks.ts'
import { MemoryBlockstore } from 'blockstore-core/memory'
import { luaWasmUrl } from '../src/lua/wasm-url.ts'
import { useWasmHashes } from '../src/crypto/wasm-hashes.ts'

const scope = globalThis as unknown as { postMessage(m: unknown): void; onmessage: ((e: MessageEvent) => void) | null }
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const START = 1_000_000_000n
const RECIPIENTS = Array.from({ length: 5 }, (_, i) => String.fromCharCode(97 + i).repeat(43))

interface Input {
  token: string; jwk1: object; jwk2: object; transfers: number
  /** Diagnostic: the node in memory (MemoryStore, MemoryBlockstore) instead of IndexedDB, to see what storage costs. */
  memory?: boolean
  /** process_cache_frequency for the node (a snapshot every this many slots); the node's default when absent. */
  cacheFrequency?: number
}


/** Bare Lua calls per second: medians over rounds of `batch` calls. */
async function bareLuaCalls(rounds = 15, batch = 20_000): Promise<number> {
  const engine = await new LuaFactory(await luaWasmUrl()).createEngine({ openStandardLibs: true })
  try {
    await engine.doString('function f(n) return n + 1 end')
    const lua = engine.global.lua
    const L = engine.global.address
    const call = (i: number): void => {
      lua.lua_getglobal(L, 'f')
      lua.lua_pushinteger(L, BigInt(i))
      if (lua.lua_pcallk(L, 1, 1, 0, 0, null) !== 0) throw new Error('the bare Lua call failed')
      lua.lua_settop(L, 0)
    }
    for (let i = 0; i < batch; i++) call(i)
    const rates: number[] = []
    for (let r = 0; r < rounds; r++) {
      const t = performance.now()
      for (let i = 0; i < batch; i++) call(i)
      rates.push(batch / ((performance.now() - t) / 1000))
    }
    return median(rates)
  } finally {
    engine.global.close()
  }
}

type Timings = Record<string, { n: number; ms: number }>

/**
 * Times the node's store and block operations from now on: count and summed
 * duration per operation. Results written behind the computation, in
 * batches, overlap, so the sums can exceed the wall time.
 */
function timeStorage(tab: TabNode): Timings {
  const t: Timings = {}
  const wrap = (obj: object, names: string[], prefix: string): void => {
    const o = obj as Record<string, unknown>
    for (const name of names) {
      const f = o[name]
      if (typeof f !== 'function') continue
      const orig = (f as (...a: unknown[]) => Promise<unknown>).bind(obj)
      const k = `${prefix}.${name}`
      o[name] = async (...a: unknown[]) => {
        const start = performance.now()
        try { return await orig(...a) } finally {
          const e = (t[k] ??= { n: 0, ms: 0 })
          e.n++
          e.ms += performance.now() - start
        }
      }
    }
  }
  wrap(tab.node.store, ['read', 'write', 'link', 'list', 'batch'], 'store')
  const blocks = tab.node.context().capabilities.blocks
  if (blocks) wrap(blocks, ['putBlock', 'getBlock', 'has'], 'blocks')
  return t
}

async function memoryNode(wallet: Wallet, config?: Message): Promise<TabNode> {
  const stats = emptyStats()
  const devices = preloadedDevices()
  devices.add(countingDevice(devices.get('lua@5.3a')!, stats))
  const node = await createNode({ wallet, devices, blocks: new Blocks(new MemoryBlockstore()), ...(config && { config }) })
  // The same hashes as the tab node's (startTabNode installs them).
  const hashes = await useWasmHashes()
  return { node, store: node.store.name, blocks: 'memory', stats, hashes, flush: () => flushStore(node.store) }
}

/** Raw IndexedDB puts per second, each of `size` fresh bytes in its own readwrite transaction (no Dexie, no encoding). */
async function rawIdbPuts(count = 300, size = 32 * 1024): Promise<number> {
  const done = <T>(r: IDBRequest<T>): Promise<T> => new Promise((ok, fail) => { r.onsuccess = () => ok(r.result); r.onerror = () => fail(r.error) })
  const open = indexedDB.open('bench-token-raw', 1)
  open.onupgradeneeded = () => open.result.createObjectStore('rows')
  const db = await done(open)
  try {
    const put = (i: number): Promise<unknown> => {
      const bytes = new Uint8Array(size)
      bytes[0] = i & 0xff; bytes[1] = i >> 8
      const tx = db.transaction('rows', 'readwrite')
      tx.objectStore('rows').put(bytes, `row/${i}`)
      return new Promise((ok, fail) => { tx.oncomplete = ok; tx.onerror = () => fail(tx.error); tx.onabort = () => fail(tx.error) })
    }
    for (let i = 0; i < 20; i++) await put(i)
    const t = performance.now()
    for (let i = 0; i < count; i++) await put(i)
    return count / ((performance.now() - t) / 1000)
  } finally {
    db.close()
  }
}

async function run({ token, jwk1, jwk2, transfers, memory, cacheFrequency }: Input): Promise<Record<string, unknown>> {
  const [w1, w2] = await Promise.all([loadJwk(jwk1), loadJwk(jwk2)])
  const config = cacheFrequency === undefined ? undefined : message({ process_cache_frequency: BigInt(cacheFrequency) })
  const tab = memory
    ? await memoryNode(w1, config)
    : await startTabNode({ wallet: w1, storeDb: 'bench-token-store', blocksDb: 'bench-token-blocks', ...(config && { config }) })
  if (tab.storeError || tab.blocksError) throw new Error(`IndexedDB: ${tab.storeError ?? tab.blocksError}`)
  const { node } = tab
  const proc = await commitMessage(message({
    device: 'process@1.0', type: 'Process', 'scheduler-device': 'scheduler@1.0', 'execution-device': 'lua@5.3a',
    scheduler: w1.address, authority: [w1.address],
    module: message({ 'content-type': 'application/lua', body: token }),
    balance: message({ [w1.address]: START, [w2.address]: START }),
  }), { wallet: w1 })
  const pid = messageId(proc, 'signed')
  const spawned = await node.resolve(message({ device: 'scheduler@1.0' }), message({ path: 'schedule', method: 'POST', body: proc }))
  if (spawned.status !== 'ok') throw new Error(`spawn: ${spawned.status}`)

  const expected = new Map<string, bigint>([[w1.address, START], [w2.address, START]])
  const specs = Array.from({ length: transfers }, (_, i) => {
    const wallet = i % 2 === 0 ? w1 : w2
    const recipient = RECIPIENTS[i % RECIPIENTS.length]!
    const quantity = BigInt((i % 7) + 1)
    expected.set(wallet.address, expected.get(wallet.address)! - quantity)
    expected.set(recipient, (expected.get(recipient) ?? 0n) + quantity)
    return { wallet, msg: message({ type: 'Message', target: pid, action: 'Transfer', recipient, quantity, nonce: BigInt(i) }) }
  })
  let t = performance.now()
  const signed = await commitAll(specs)
  const signSeconds = (performance.now() - t) / 1000
  t = performance.now()
  for (let i = 0; i < signed.length; i++) {
    const o = await node.resolve(proc, message({ path: 'schedule', method: 'POST', body: signed[i]! }))
    if (o.status !== 'ok') throw new Error(`schedule ${i + 1}: ${o.status}`)
  }
  const scheduleSeconds = (performance.now() - t) / 1000

  // The spawn state (init, slot 0) is not timed; slots 1..N are.
  const zero = await node.resolvePath(`/${pid}~process@1.0/compute&slot+integer=0`)
  if (zero.status !== 'ok') throw new Error(`compute slot 0: ${zero.status}`)
  const storage = timeStorage(tab)
  t = performance.now()
  const out = await node.resolvePath(`/${pid}~process@1.0/compute&slot+integer=${transfers}`)
  const seconds = (performance.now() - t) / 1000
  await tab.flush()
  const durableSeconds = (performance.now() - t) / 1000
  if (out.status !== 'ok' || directGet(out.value as Message, 'at-slot') !== BigInt(transfers)) throw new Error(`compute slot ${transfers}: ${out.status}`)
  const balance = directGet(out.value as Message, 'balance') as Message
  for (const [who, bal] of expected) {
    if (directGet(balance, who) !== bal) throw new Error(`after ${transfers} transfers the balance of ${who} is ${String(directGet(balance, who))}, not ${bal}`)
  }
  const calls = tab.stats.calls['lua@5.3a'] ?? {}
  if (calls['compute'] !== transfers + 1) throw new Error(`lua@5.3a computed ${String(calls['compute'])} times, not ${transfers + 1}`)

  const bare = await bareLuaCalls()
  // Whether this browser's Lua VMs run on the fast paths (raw exports, table memory).
  const luaFastPaths = (await LuaVM.create()).fastPaths
  const idb = await rawIdbPuts()
  const perSecond = transfers / seconds
  return {
    transfers, seconds, perSecond, durableSeconds, signSeconds, scheduleSeconds,
    store: tab.store, blocks: tab.blocks, hashes: tab.hashes, luaFastPaths, cacheFrequency: String(directGet(node.config, 'process_cache_frequency') ?? 'process@1.0 default'),
    storage: Object.fromEntries(Object.entries(storage).map(([k, v]) => [k, { n: v.n, seconds: v.ms / 1000 }])),
    baseline: { what: 'bare Lua calls through wasmoon (lua_pcallk), same worker', perSecond: bare },
    ratio: perSecond / bare,
    idbBaseline: { what: 'raw IndexedDB puts of 32 KiB, one transaction each, same worker', perSecond: idb },
  }
}

scope.onmessage = async (e: MessageEvent) => {
  try {
    const r = await run(e.data as Input)
    scope.postMessage({ ok: true, ...r, worker: typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== 'undefined', ua: navigator.userAgent })
  } catch (err) {
    scope.postMessage({ ok: false, error: String((err as Error)?.stack ?? err) })
  }
}
