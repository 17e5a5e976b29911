/**
 * A token process (hyper-token.lua on lua@5.3a) over HTTP against a real
 * `ao serve` server (startServer on 127.0.0.1, a random port, a filesystem
 * store in a temp dir): spawn by POSTing the signed process to the scheduler,
 * 1,000 scheduled transfers from two senders, the balances, and every slot's
 * result cached at computed/<pid>/slot/<n> with its hashpath.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { readFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createNode } from '../../src/node/node.ts'
import { flushResults, readResult } from '../../src/devices/process.ts'
import { startServer, type RunningServer } from '../../src/cli/serve.ts'
import { FsStore } from '../../src/store/fs.ts'
import { isMessage, Link, message, type Message } from '../../src/core/value.ts'
import { commitAll, commitMessage } from '../../src/codecs/commitments.ts'
import { messageId } from '../../src/core/id.ts'
import { messageToHttpParts, responseToMessage } from '../../src/devices/relay.ts'
import type { Wallet } from '../../src/crypto/wallet.ts'
import { wallets } from './devices/helpers.ts'

const SHARED = process.env['AO_SHARED'] ?? join(import.meta.dirname, '../../../shared')
const TOKEN = readFileSync(join(SHARED, 'hyperbeam-data/scripts/hyper-token.lua'), 'utf8')
const TRANSFERS = 1000
const START = 1_000_000n

let dir: string
let server: RunningServer
let w1: Wallet
let w2: Wallet

beforeAll(async () => {
  ;[w1, w2] = await wallets()
  dir = mkdtempSync(join(tmpdir(), 'ao-tab-token-http-'))
  const node = await createNode({ wallet: w1, store: new FsStore(dir) })
  server = await startServer({ node, port: 0, host: '127.0.0.1' })
})

afterAll(async () => {
  await server?.close()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

async function reply(r: Response): Promise<{ status: number; msg: Message; text: string }> {
  const body = new Uint8Array(await r.arrayBuffer())
  const headers: Array<[string, string]> = []
  r.headers.forEach((v, k) => headers.push([k, v]))
  return { status: r.status, msg: responseToMessage(r.status, headers, body), text: new TextDecoder().decode(body) }
}

async function post(path: string, msg: Message) {
  const { headers, body } = messageToHttpParts(msg, { bundle: true })
  return reply(await fetch(new URL(path, server.url), { method: 'POST', headers, body: body as Uint8Array<ArrayBuffer> | undefined }))
}

const get = async (path: string) => reply(await fetch(new URL(path, server.url), { headers: { 'accept-bundle': 'true' } }))


describe('hyper-token.lua over HTTP (ao serve)', () => {
  it(`spawn, ${TRANSFERS} scheduled transfers, balances, every slot cached with its hashpath`, async () => {
    const t0 = performance.now()
    const proc = await commitMessage(message({
      device: 'process@1.0', type: 'Process', 'scheduler-device': 'scheduler@1.0', 'execution-device': 'lua@5.3a',
      scheduler: w1.address, authority: [w1.address],
      module: message({ 'content-type': 'application/lua', body: TOKEN }),
      balance: message({ [w1.address]: START, [w2.address]: START }),
    }), { wallet: w1 })
    const pid = messageId(proc, 'signed')
    const spawned = await post('/~scheduler@1.0/schedule', proc)
    expect(spawned.status, spawned.text).toBe(200)
    expect(spawned.msg['slot']).toBe(0n)
    expect(spawned.msg['process']).toBe(pid)

    // 1,000 transfers: two senders to five recipients, each signed by its sender.
    const recipients = Array.from({ length: 5 }, (_, i) => String.fromCharCode(97 + i).repeat(43))
    const expected = new Map<string, bigint>([[w1.address, START], [w2.address, START]])
    const specs = Array.from({ length: TRANSFERS }, (_, i) => {
      const wallet = i % 2 === 0 ? w1 : w2
      const recipient = recipients[i % recipients.length]!
      const quantity = BigInt((i % 7) + 1)
      expected.set(wallet.address, expected.get(wallet.address)! - quantity)
      expected.set(recipient, (expected.get(recipient) ?? 0n) + quantity)
      return { wallet, msg: message({ type: 'Message', target: pid, action: 'Transfer', recipient, quantity, nonce: BigInt(i) }) }
    })
    const signed = await commitAll(specs)
    const t1 = performance.now()
    for (let i = 0; i < signed.length; i++) {
      const r = await post(`/${pid}~process@1.0/schedule`, signed[i]!)
      if (r.status !== 200 || r.msg['slot'] !== BigInt(i + 1)) expect.fail(`transfer ${i}: ${r.status} ${r.text}`)
    }
    const t2 = performance.now()
    const last = await get(`/${pid}~process@1.0/compute&slot+integer=${TRANSFERS}`)
    expect(last.status, last.text.slice(0, 2000)).toBe(200)
    const t3 = performance.now()

    // Balances, over HTTP.
    for (const [who, bal] of expected) {
      const b = await get(`/${pid}~process@1.0/compute&slot+integer=${TRANSFERS}/balance/${who}`)
      expect(b.status, b.text).toBe(200)
      expect(b.text, who).toBe(String(bal))
    }
    let total = 0n
    for (const v of expected.values()) total += v
    expect(total).toBe(2n * START)

    // Every slot's result is in the server's store, with its hashpath; the
    // hashpaths are all different (each slot extends the chain).
    const store = server.node.store
    await flushResults(store)
    const hashpaths = new Set<string>()
    // Stored with its unchanging parts (the process message, the module) linked by ID, written once.
    const raw = await store.read(`computed/${pid}/slot/${TRANSFERS}`)
    if (!isMessage(raw)) expect.fail('no raw entry for the last slot')
    expect(raw['process']).toBeInstanceOf(Link)
    expect(isMessage(await store.read((raw['process'] as Link).id))).toBe(true)
    for (let n = 0; n <= TRANSFERS; n++) {
      const stored = await readResult(store, pid, BigInt(n))
      if (!isMessage(stored)) expect.fail(`slot ${n}: no cached result`)
      const hp = (stored['priv'] as Message | undefined)?.['hashpath']
      if (typeof hp !== 'string' || hp.length === 0) expect.fail(`slot ${n}: no hashpath`)
      hashpaths.add(hp)
      // hyper-token logs a successful transfer with status "ok" (log_result), a refused one with "error".
      if (n > 0 && (stored['results'] as Message | undefined)?.['status'] !== 'ok') expect.fail(`slot ${n}: status ${String((stored['results'] as Message | undefined)?.['status'])}`)
    }
    expect(hashpaths.size).toBe(TRANSFERS + 1)
    // A cached slot read through HTTP gives the stored balance of that slot.
    const mid = await get(`/${pid}~process@1.0/compute&slot+integer=2/balance/${recipients[1]}`)
    expect(mid.text).toBe('2')
    const t4 = performance.now()
    console.log(`token-http: sign ${TRANSFERS} ${(t1 - t0).toFixed(0)} ms, schedule ${(t2 - t1).toFixed(0)} ms, compute ${(t3 - t2).toFixed(0)} ms (${(TRANSFERS / ((t3 - t2) / 1000)).toFixed(0)} transfers/s), checks ${(t4 - t3).toFixed(0)} ms`)
  }, 180_000)
})
