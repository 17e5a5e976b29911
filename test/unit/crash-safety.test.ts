/**
 * Crash safety of scheduling and computing (issue 4): a real `ao serve --store
 * DIR` child (bin/ao.js, filesystem store and blockstore, the node wallet
 * key-1) runs a small Lua counter process while the driver POSTs signed
 * messages and asks for the compute of the newest acknowledged slot; the child
 * is SIGKILLed at a random moment, 20 times, and restarted on the same
 * directory: after a random delay, or (about a third of the rounds) the moment
 * the next message's slot link appears on disk, so that its answer is lost.
 * Messages whose answer was lost are POSTed again (idempotent scheduling
 * answers a message already scheduled with its existing slot). A final clean
 * run schedules what is left and computes the last slot.
 *
 * Then, from the store on disk: slots 0..N contiguous, every message assigned
 * exactly once (by signed ID) and at the slot its acknowledgement named, every
 * assignment signed by the node and the hash chain continuous; and the final
 * result ID and hashpath (the compute answer and the stored
 * `computed/<pid>/slot/<N>`), and every slot result stored along the way,
 * equal those of an uninterrupted in-process run. Assignments carry the
 * scheduler's clock (`timestamp`), so a run that scheduled the messages itself
 * would sign other assignment IDs and so other hashpaths: the uninterrupted run
 * imports the crash run's assignments (importAssignment, which checks each) and
 * computes them without interruption. A second in-process run that schedules
 * the messages itself must reach the same Lua state (count and sum).
 *
 * The kill delays, kill modes and messages per round come from a seeded PRNG;
 * the seed is printed (AO_CRASH_SEED=<seed> replays those choices; where a
 * timed kill lands still depends on the machine's speed). AO_CRASH_DEBUG=1
 * prints each round.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createNode } from '../../src/node/node.ts'
import { FsStore, encodeSegment } from '../../src/store/fs.ts'
import { MemoryStore } from '../../src/store/memory.ts'
import { openFsBlocks } from '../../src/snapshot/fs-blockstore.ts'
import { isMessage, message, type Message, type Value } from '../../src/core/value.ts'
import { commitMessage, verifyMessage } from '../../src/codecs/commitments.ts'
import { messageId } from '../../src/core/id.ts'
import { toB64Url } from '../../src/core/bytes.ts'
import { messageToHttpParts, responseToMessage } from '../../src/devices/relay.ts'
import { assignedMessageId, nextHashChainFromId, readAssignment, storedSlots } from '../../src/devices/scheduler.ts'
import { importAssignment } from '../../src/devices/scheduler-import.ts'
import { readResult } from '../../src/devices/process.ts'
import { committersOf } from '../../src/devices/meta.ts'
import type { Wallet } from '../../src/crypto/wallet.ts'
import { wallets } from './devices/helpers.ts'

const ROOT = resolve(import.meta.dirname, '../..')
const SHARED = process.env['AO_SHARED'] ?? join(ROOT, '../shared')
const KEY1 = join(SHARED, 'hyperbeam-data/test/key-1.json')
const KILLS = 20
/** Messages after the process (slots 1..MESSAGES). */
const MESSAGES = 60
/** New messages POSTed per round at most (so that scheduling and computing spread over all the rounds). */
const PER_ROUND = 4
const MAX_KILL_DELAY_MS = 500
/** The share of rounds that kill right after a POST was applied (else after a random delay). */
const ON_ASSIGN_SHARE = 0.35
const SEED = Number(process.env['AO_CRASH_SEED'] ?? Math.floor(Math.random() * 2 ** 31))
const DEBUG = process.env['AO_CRASH_DEBUG'] !== undefined

const COUNTER = `
Count = 0
Sum = 0
function compute(base, req)
  local body = req.body or {}
  local n = body.n
  if type(n) ~= "number" then n = 0 end
  Count = Count + 1
  Sum = Sum + n
  base.count = Count
  base.sum = Sum
  base.results = { output = "count " .. Count .. " sum " .. Sum }
  return base
end
`

/** mulberry32: a small seeded PRNG, so that a failing run can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

interface Child { proc: ChildProcess; url: string; exited: Promise<void>; stderr: () => string }

/** `node bin/ao.js serve --store DIR --port 0 --wallet key-1`, once it prints its URL. */
async function startChild(dir: string): Promise<Child> {
  const proc = spawn(process.execPath, [join(ROOT, 'bin/ao.js'), 'serve', '--store', dir, '--port', '0', '--wallet', KEY1], {
    cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  proc.stderr!.on('data', (c: Buffer) => { err += c.toString() })
  const exited = new Promise<void>((ok) => proc.once('exit', () => ok()))
  const url = await new Promise<string>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`ao serve did not start in 30 s: ${out} ${err}`)), 30_000)
    proc.stdout!.on('data', (c: Buffer) => {
      out += c.toString()
      const m = /ao serve: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out)
      if (m) { clearTimeout(timer); ok(m[1]!) }
    })
    proc.once('exit', (code) => { clearTimeout(timer); fail(new Error(`ao serve exited (${code}) before starting: ${err}`)) })
  })
  return { proc, url, exited, stderr: () => err }
}

async function answer(r: Response): Promise<{ status: number; msg: Message; text: string }> {
  const body = new Uint8Array(await r.arrayBuffer())
  const headers: Array<[string, string]> = []
  r.headers.forEach((v, k) => headers.push([k, v]))
  return { status: r.status, msg: responseToMessage(r.status, headers, body), text: new TextDecoder().decode(body) }
}

async function post(url: string, path: string, msg: Message) {
  const { headers, body } = messageToHttpParts(msg, { bundle: true })
  return answer(await fetch(new URL(path, url), { method: 'POST', headers, body: body as Uint8Array<ArrayBuffer> | undefined, signal: AbortSignal.timeout(60_000) }))
}

const get = async (url: string, path: string) =>
  answer(await fetch(new URL(path, url), { headers: { 'accept-bundle': 'true' }, signal: AbortSignal.timeout(60_000) }))

const hashpath = (m: Message | undefined): Value | undefined => (isMessage(m?.['priv']) ? (m!['priv'] as Message)['hashpath'] : undefined)
/** A stored result without its snapshot (held as blocks on the server, inline in memory). */
function withoutSnapshot(m: Message): Message {
  const out = message({ ...m })
  delete out['snapshot']
  return out
}
const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms))

/** Resolves as soon as a file exists (polled every millisecond), or when `stopped`. */
async function whenExists(file: string, stopped: () => boolean): Promise<void> {
  while (!stopped()) {
    if (existsSync(file)) return
    await sleep(1)
  }
}

let w1: Wallet
let w2: Wallet
let dir: string
let live: Child | undefined

beforeAll(async () => {
  ;[w1, w2] = await wallets()
  dir = mkdtempSync(join(tmpdir(), 'ao-tab-crash-'))
})

afterAll(async () => {
  if (live && live.proc.exitCode === null) { live.proc.kill('SIGKILL'); await live.exited }
  if (dir) rmSync(dir, { recursive: true, force: true })
})

describe('crash safety: a node killed at random moments while it schedules and computes', () => {
  it(`${KILLS} SIGKILLs and restarts: no assignment lost or duplicated; the final result equals an uninterrupted run's`, async () => {
    console.log(`crash-safety seed ${SEED} (replay: AO_CRASH_SEED=${SEED})`)
    const rand = prng(SEED)
    const t0 = performance.now()

    const proc = await commitMessage(message({
      device: 'process@1.0', type: 'Process', 'scheduler-device': 'scheduler@1.0', 'execution-device': 'lua@5.3a',
      scheduler: w1.address, authority: [w1.address], module: message({ 'content-type': 'application/lua', body: COUNTER }),
      nonce: `crash-${SEED}`,
    }), { wallet: w2 })
    const pid = messageId(proc, 'signed')
    const msgs: Message[] = [proc]
    for (let i = 1; i <= MESSAGES; i++) {
      msgs.push(await commitMessage(message({ type: 'Message', target: pid, action: 'Add', n: BigInt(i), nonce: BigInt(i) }), { wallet: i % 2 ? w1 : w2 }))
    }
    const ids = msgs.map((m) => messageId(m, 'signed'))
    const N = BigInt(MESSAGES)
    const slotFile = (slot: number): string => join(dir, 'assignments', encodeSegment(pid), `${slot}.e`)

    /** The slot each message's acknowledgement named (every answer for it, retries included). */
    const acked = new Map<number, bigint[]>()
    const attempts = new Array<number>(msgs.length).fill(0)
    let next = 0 // the first message not yet acknowledged
    const failures: string[] = []
    const stats = { computes: 0, computeErrors: 0, killedDuringPost: 0, killedDuringCompute: 0, retriedAfterApplied: 0 }

    /** POST messages in order from the first unacknowledged one, at most `limit` new ones. */
    async function poster(url: string, stopped: () => boolean, limit: number): Promise<void> {
      const end = Math.min(msgs.length, next + limit)
      while (!stopped() && next < end) {
        const i = next
        const path = i === 0 ? '/~scheduler@1.0/schedule' : `/${pid}~process@1.0/schedule`
        attempts[i]!++
        const sentAt = BigInt(Date.now())
        let r
        try { r = await post(url, path, msgs[i]!) } catch { if (!stopped()) failures.push(`POST ${i}: connection failed before the kill`); stats.killedDuringPost++; return }
        if (r.status !== 200) { if (!stopped()) failures.push(`POST ${i}: ${r.status} ${r.text.slice(0, 300)}`); return }
        const slot = r.msg['slot'] as bigint
        acked.set(i, [...(acked.get(i) ?? []), slot])
        // A retry answered with an assignment signed before it was sent: the lost answer's.
        if (attempts[i]! > 1 && (r.msg['timestamp'] as bigint) < sentAt) stats.retriedAfterApplied++
        next++
      }
    }

    /** Compute the newest acknowledged slot, again and again. */
    async function computer(url: string, stopped: () => boolean): Promise<void> {
      let last = -1
      while (!stopped()) {
        const target = next - 1
        if (target < 0 || target === last) { await sleep(10); continue }
        let r
        try { r = await get(url, `/${pid}~process@1.0/compute&slot+integer=${target}`) } catch { if (stopped()) stats.killedDuringCompute++; return }
        if (r.status !== 200) {
          if (stopped()) return
          stats.computeErrors++
          failures.push(`compute ${target}: ${r.status} ${r.text.slice(0, 300)}`)
          return
        }
        stats.computes++
        if (r.msg['count'] !== BigInt(target + 1)) failures.push(`compute ${target}: count ${String(r.msg['count'])}, expected ${target + 1}`)
        last = target
      }
    }

    for (let k = 0; k < KILLS; k++) {
      const child = await startChild(dir)
      live = child
      let killed = false
      const stop = (): void => { if (!killed) { killed = true; child.proc.kill('SIGKILL') } }
      const delay = Math.floor(rand() * MAX_KILL_DELAY_MS)
      // Some rounds kill the moment the next message's slot link appears on disk, before its answer is
      // read: the client never learns the slot and must retry a message that is already scheduled.
      const onAssign = rand() < ON_ASSIGN_SHARE && next < msgs.length
      // The first slot not yet on disk (a message applied before the last kill is already there).
      let fresh = next
      while (existsSync(slotFile(fresh))) fresh++
      const limit = Math.max(1 + Math.floor(rand() * PER_ROUND * 2), fresh - next + 1)
      const before = next
      // (With a timer as well, in case the poster stops before that slot.)
      const kill = onAssign ? Promise.race([whenExists(slotFile(fresh), () => killed), sleep(5_000)]).then(stop) : sleep(delay).then(stop)
      await Promise.all([poster(child.url, () => killed, limit), computer(child.url, () => killed), kill])
      await child.exited
      if (DEBUG) console.log(`round ${k}: killed ${onAssign ? `when slot ${fresh} was linked` : `after ${delay} ms`}; acknowledged ${before}..${next - 1}`)
      expect(failures, `round ${k} (seed ${SEED})`).toEqual([])
    }
    const tKills = performance.now()

    // The final clean run: what is left, then the compute of the last slot.
    const child = await startChild(dir)
    live = child
    await poster(child.url, () => false, msgs.length)
    expect(failures, `final run (seed ${SEED})`).toEqual([])
    expect(next).toBe(msgs.length)
    const last = await get(child.url, `/${pid}~process@1.0/compute&slot+integer=${N}`)
    // A node may write results behind its answers: stop it once slot N's result is on disk.
    const resultFile = join(dir, 'computed', encodeSegment(pid), 'slot', `${N}.e`)
    await Promise.race([whenExists(resultFile, () => false), sleep(15_000)])
    child.proc.kill('SIGTERM')
    await child.exited
    const tFinal = performance.now()

    // ---- the schedule on disk
    const store = new FsStore(dir)
    const slots = await storedSlots(store, pid)
    expect(slots, `seed ${SEED}`).toEqual(Array.from({ length: msgs.length }, (_, i) => BigInt(i)))
    const assignments: Message[] = []
    const slotOfId = new Map<string, bigint>()
    let chain: Uint8Array = new Uint8Array(0)
    for (const s of slots) {
      const a = (await readAssignment(store, pid, s))!
      expect(a['slot']).toBe(s)
      expect(a['process']).toBe(pid)
      expect(committersOf(a)).toEqual([w1.address])
      expect((await verifyMessage(a)).verified).toBe(true)
      const id = assignedMessageId(a)!
      expect(slotOfId.has(id), `message ${id} assigned twice (slots ${slotOfId.get(id)} and ${s}), seed ${SEED}`).toBe(false)
      slotOfId.set(id, s)
      chain = nextHashChainFromId(chain, id)
      expect(a['hash-chain'], `hash chain at slot ${s}, seed ${SEED}`).toBe(toB64Url(chain))
      assignments.push(a)
    }
    // Every message exactly once, at the slot every acknowledgement of it named.
    expect(new Set(slotOfId.keys())).toEqual(new Set(ids))
    for (let i = 0; i < msgs.length; i++) {
      for (const s of acked.get(i)!) expect(s, `message ${i}: acknowledged slot vs stored, seed ${SEED}`).toBe(slotOfId.get(ids[i]!))
    }

    // The final compute over HTTP.
    expect(last.status, last.text.slice(0, 500)).toBe(200)
    expect(last.msg['count']).toBe(N + 1n)
    expect(last.msg['sum']).toBe((N * (N + 1n)) / 2n)

    // ---- the uninterrupted run over the same assignments
    const ref = await createNode({ wallet: w1, store: new MemoryStore() })
    for (const a of assignments) expect((await importAssignment(ref.store, proc, a)).imported).toBe(true)
    const refAnswer = await ref.resolvePath(`/${pid}~process@1.0/compute&slot+integer=${N}`)
    expect(refAnswer.status).toBe('ok')
    const refResult = refAnswer.value as Message

    // The crashed node's answer and stored results (read in process from its directory).
    const crashed = await createNode({ wallet: w1, store, blocks: await openFsBlocks(join(dir, 'blocks')) })
    const crashAnswer = await crashed.resolvePath(`/${pid}~process@1.0/compute&slot+integer=${N}`)
    expect(crashAnswer.status).toBe('ok')
    const crashResult = crashAnswer.value as Message
    expect(crashResult['count']).toBe(N + 1n)
    // FAILS IF a restart changed the computation: the result ID and hashpath of an uninterrupted run.
    expect(messageId(crashResult), `final result ID, seed ${SEED}`).toBe(messageId(refResult))
    expect(hashpath(crashResult), `final hashpath, seed ${SEED}`).toBe(hashpath(refResult))
    const storedCrash = (await store.read(`computed/${pid}/slot/${N}`)) as Message | undefined
    expect(storedCrash, `computed/<pid>/slot/${N} on disk after the final run, seed ${SEED}`).toBeDefined()
    const storedRef = await readResult(ref.store, pid, N)
    expect(hashpath(storedCrash)).toBe(hashpath(storedRef))
    expect(typeof hashpath(storedCrash)).toBe('string')
    expect(isMessage(await store.read(`computed/${pid}/${messageId(refResult)}`))).toBe(true)
    // Every slot result on disk (computed between kills, or again after one) equals the uninterrupted run's.
    const computed = (await store.list(`computed/${pid}/slot`)).filter((s) => /^\d+$/.test(s))
    for (const s of computed) {
      const c = (await store.read(`computed/${pid}/slot/${s}`)) as Message
      const r = (await readResult(ref.store, pid, BigInt(s)))!
      expect(hashpath(c), `stored hashpath of slot ${s}, seed ${SEED}`).toBe(hashpath(r))
      expect(messageId(withoutSnapshot(c)), `stored result of slot ${s}, seed ${SEED}`).toBe(messageId(withoutSnapshot(r)))
    }

    // A run that schedules the messages itself (other timestamps) reaches the same Lua state.
    const own = await createNode({ wallet: w1, store: new MemoryStore() })
    for (const m of msgs) expect((await own.resolve(message({ device: 'scheduler@1.0' }), message({ path: 'schedule', method: 'POST', body: m }))).status).toBe('ok')
    const ownResult = (await own.resolvePath(`/${pid}~process@1.0/compute&slot+integer=${N}`)).value as Message
    expect(ownResult['count']).toBe(crashResult['count'])
    expect(ownResult['sum']).toBe(crashResult['sum'])

    const retries = attempts.filter((a) => a > 1).length
    console.log(`crash-safety seed ${SEED}: ${KILLS} kills in ${((tKills - t0) / 1000).toFixed(1)} s, final run ${((tFinal - tKills) / 1000).toFixed(1)} s, ` +
      `checks ${((performance.now() - tFinal) / 1000).toFixed(1)} s; ${msgs.length} messages, ${retries} POSTed more than once ` +
      `(${stats.retriedAfterApplied} of them answered with a slot assigned before the kill), ${stats.computes} computes answered, ` +
      `${stats.killedDuringCompute} kills during a compute request, ${stats.killedDuringPost} during a POST, ` +
      `${computed.length} slot results on disk`)
  }, 180_000)
})
