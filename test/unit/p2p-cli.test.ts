/**
 * `ao relay` and `ao serve --bootstrap` as child processes on 127.0.0.1: the
 * relay prints its multiaddrs, a served node joins through it, and a third
 * node that knows only the relay receives the served node's announcement.
 * The relay stops cleanly on SIGTERM and, with --store, keeps its peer ID
 * across restarts. Two served nodes are wired: a transfer POSTed to the one
 * that is not the scheduler is forwarded, scheduled, computed by both, and a
 * quorum-2 read over HTTP is verified at each.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { readFileSync } from 'node:fs'
import { loadJwk } from '../../src/crypto/wallet.ts'
import { message, type Message } from '../../src/core/value.ts'
import { commitMessage } from '../../src/codecs/commitments.ts'
import { messageId } from '../../src/core/id.ts'
import { messageToHttpParts, responseToMessage } from '../../src/devices/relay.ts'
import { SHARED, nodeFixtures } from './node-fixtures.ts'
import { peer, waitFor, type TestPeer } from './p2p-helpers.ts'

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..')
const KEY1 = join(SHARED, 'hyperbeam-data/test/key-1.json')
const KEY2 = join(SHARED, 'hyperbeam-data/test/key-2.json')

async function http(base: string, path: string, body?: Message): Promise<{ status: number; msg: Message; text: string }> {
  const init: RequestInit = { headers: { 'accept-bundle': 'true' } }
  if (body) {
    const parts = messageToHttpParts(body, { bundle: true })
    Object.assign(init, { method: 'POST', headers: { ...parts.headers, 'accept-bundle': 'true' }, body: parts.body })
  }
  const r = await fetch(new URL(path, base), init)
  const bytes = new Uint8Array(await r.arrayBuffer())
  const headers: Array<[string, string]> = []
  r.headers.forEach((v, k) => headers.push([k, v]))
  return { status: r.status, msg: responseToMessage(r.status, headers, bytes), text: new TextDecoder().decode(bytes) }
}

interface Child { proc: ChildProcess; out: () => string; err: () => string; exit: Promise<number | null> }

function start(args: string[]): Child {
  const proc = spawn(process.execPath, [join(ROOT, 'bin/ao.js'), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  proc.stdout!.on('data', (c: Buffer) => { out += c.toString() })
  proc.stderr!.on('data', (c: Buffer) => { err += c.toString() })
  const exit = new Promise<number | null>((ok) => proc.once('exit', (code) => ok(code)))
  return { proc, out: () => out, err: () => err, exit }
}

/** The relay's multiaddrs once it has printed both (TCP and WebSockets). */
async function relayAddrs(c: Child): Promise<string[]> {
  return waitFor(`ao relay's multiaddrs (stderr: ${c.err()})`, () => {
    const lines = c.out().split('\n').filter((l) => l.startsWith('/'))
    return lines.length >= 2 ? lines : undefined
  }, 30_000)
}

describe('ao relay / ao serve --bootstrap', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ao-relay-'))
  const children: Child[] = []
  let observer: TestPeer | undefined

  afterAll(async () => {
    await observer?.net.stop()
    for (const c of children) if (c.proc.exitCode === null) c.proc.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  })

  it('prints multiaddrs that a served node joins; others see its announcement through the relay', async () => {
    const relay = start(['relay', '--port', '0', '--ws-port', '0', '--store', dir])
    children.push(relay)
    const addrs = await relayAddrs(relay)
    expect(addrs).toHaveLength(2)
    for (const a of addrs) expect(a).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+(\/ws)?\/p2p\/12D3Koo\w+$/)
    const tcp = addrs.find((a) => !a.includes('/ws'))!
    expect(addrs.some((a) => a.includes('/ws/'))).toBe(true)
    const relayId = tcp.split('/p2p/')[1]!
    expect(statSync(join(dir, 'peer-key')).mode & 0o777).toBe(0o600)

    const serve = start(['serve', '--port', '0', '--wallet', KEY1, '--bootstrap', tcp])
    children.push(serve)
    const m = await waitFor(`ao serve to join (stdout: ${serve.out()} stderr: ${serve.err()})`, () => /p2p: peer (\w+), joining through/.exec(serve.out()), 30_000)
    const servePeer = m[1]!
    const address = /node address: ([\w-]{43})/.exec(serve.out())![1]!

    // A node that knows only the relay learns the served node's wallet address ↔ peer ID.
    observer = await peer(await loadJwk(await nodeFixtures.json('hyperbeam-data/test/key-2.json')), { net: { bootstrap: [tcp] } })
    const seen = await waitFor('the served node\'s announcement', () => observer!.net.nodes.byAddress(address), 30_000)
    expect(seen.peerId).toBe(servePeer)
    expect((await waitFor('the relay\'s announcement', () => observer!.net.nodes.byPeer(relayId), 30_000)).capabilities).toContain('relay')

    serve.proc.kill('SIGTERM')
    relay.proc.kill('SIGTERM')
    expect(await serve.exit).toBe(0)
    expect(await relay.exit).toBe(0)
  })

  it('a relay restarted on the same store keeps its peer ID', async () => {
    const before = statSync(join(dir, 'peer-key')).mtimeMs
    const relay = start(['relay', '--port', '0', '--ws-port', '0', '--store', dir])
    children.push(relay)
    const addrs = await relayAddrs(relay)
    const first = children[0]!.out().split('\n').find((l) => l.startsWith('/'))!.split('/p2p/')[1]
    expect(addrs[0]!.split('/p2p/')[1]).toBe(first)
    expect(statSync(join(dir, 'peer-key')).mtimeMs).toBe(before)
    relay.proc.kill('SIGINT')
    expect(await relay.exit).toBe(0)
  })

  it('ao serve --relay is the node and the relay/bootstrap peer in one process (npm start)', async () => {
    const serve = start(['serve', '--port', '0', '--wallet', KEY1, '--relay', '--p2p-port', '0', '--p2p-ws-port', '0'])
    children.push(serve)
    await waitFor(`ao serve --relay to print its multiaddrs (${serve.err()})`, () => /p2p: peer \w+ \(relay\)/.test(serve.out()) && serve.out().includes('/ws/p2p/'), 30_000)
    const tcp = serve.out().split('\n').map((l) => l.trim()).find((l) => /^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\//.test(l))!
    const address = /node address: ([\w-]{43})/.exec(serve.out())![1]!
    await observer!.net.stop()
    observer = await peer(await loadJwk(await nodeFixtures.json('hyperbeam-data/test/key-2.json')), { net: { bootstrap: [tcp] } })
    const a = await waitFor('the served relay\'s announcement', () => observer!.net.nodes.byAddress(address), 30_000)
    expect(a.capabilities).toContain('relay')
    expect(tcp.endsWith(`/p2p/${a.peerId}`)).toBe(true)
    // Pages of the app it serves find the relay's WebSockets addresses here.
    const url = /ao serve: (http:\/\/\S+)/.exec(serve.out())![1]!
    const served = (await (await fetch(new URL('/.well-known/ao-tab-bootstrap.json', url))).json()) as { bootstrap: string[] }
    const ws = serve.out().split('\n').map((l) => l.trim()).filter((l) => /^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/ws\/p2p\//.test(l))
    expect(ws.length).toBeGreaterThan(0)
    expect(served.bootstrap).toEqual(ws)
    serve.proc.kill('SIGTERM')
    expect(await serve.exit).toBe(0)
  })

  it('two served nodes, wired: a transfer POSTed at the non-scheduler is forwarded (202), scheduled, computed by both; quorum 2 is verified over HTTP at each', async () => {
    const a = start(['serve', '--port', '0', '--wallet', KEY1, '--relay', '--p2p-port', '0', '--p2p-ws-port', '0'])
    children.push(a)
    await waitFor(`node A (${a.err()})`, () => a.out().includes('/ws/p2p/'), 30_000)
    const tcp = a.out().split('\n').map((l) => l.trim()).find((l) => /^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\//.test(l))!
    const urlA = /ao serve: (http:\/\/\S+)/.exec(a.out())![1]!
    const b = start(['serve', '--port', '0', '--wallet', KEY2, '--bootstrap', tcp])
    children.push(b)
    await waitFor(`node B (${b.err()})`, () => /joining through/.test(b.out()), 30_000)
    const urlB = /ao serve: (http:\/\/\S+)/.exec(b.out())![1]!
    const [w1, w2] = await Promise.all([KEY1, KEY2].map((f) => loadJwk(JSON.parse(readFileSync(f, 'utf8')))))
    await waitFor('A and B to see each other', async () => (await http(urlB, '/~p2p@1.0/peers')).text.includes(w1!.address), 30_000)
    const proc = await commitMessage(message({
      device: 'process@1.0', type: 'Process', 'scheduler-device': 'scheduler@1.0', 'execution-device': 'lua@5.3a',
      scheduler: w1!.address, authority: [w1!.address],
      module: message({ 'content-type': 'application/lua', body: readFileSync(join(SHARED, 'hyperbeam-data/scripts/hyper-token.lua'), 'utf8') }),
      balance: message({ [w2!.address]: 100n }), 'test-seed': String(Math.random()),
    }), { wallet: w1! })
    const pid = messageId(proc, 'signed')
    expect((await http(urlA, '/~scheduler@1.0/schedule', proc)).status).toBe(200)
    expect((await http(urlB, `/~p2p@1.0/subscribe?process=${pid}`)).status).toBe(200)
    const m = await commitMessage(message({ type: 'Message', target: pid, action: 'Transfer', recipient: 'r'.repeat(43), quantity: 5n }), { wallet: w2! })
    const sent = await waitFor('B to forward the transfer', async () => {
      const r = await http(urlB, `/${pid}~process@1.0/schedule`, m)
      return r.status === 202 || r.status === 200 ? r : undefined
    }, 30_000, 200)
    expect(sent.status, sent.text).toBe(202)
    for (const url of [urlB, urlA]) {
      const q = await waitFor(`quorum 2 at ${url}`, async () => {
        const r = await http(url, `/${pid}~process@1.0/compute&slot+integer=1&quorum+integer=2&quorum-wait+integer=2000`)
        return r.status === 200 ? r : undefined
      }, 30_000, 100)
      expect(q.text).toContain(w1!.address)
      expect(q.text).toContain(w2!.address)
    }
    const bal = await http(urlB, `/${pid}~process@1.0/compute&slot+integer=1/balance/${w2!.address}`)
    expect(bal.text).toBe('95')
    a.proc.kill('SIGTERM')
    b.proc.kill('SIGTERM')
    expect(await a.exit).toBe(0)
    expect(await b.exit).toBe(0)
  })
})
