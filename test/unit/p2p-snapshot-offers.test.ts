/**
 * Headless nodes start a process from a peer's snapshot (src/p2p/snapshot-offers.ts
 * through p2p@1.0 `from-snapshot`): the offer must be backed by attesting
 * wallets, the snapshot's blocks come by CID over bitswap, and the node then
 * computes only the slots after it — with the network's hashpaths.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isMessage, message, type Message } from '../../src/core/value.ts'
import { commitMessage } from '../../src/codecs/commitments.ts'
import { messageId } from '../../src/core/id.ts'
import { generateWallet, type Wallet } from '../../src/crypto/wallet.ts'
import { flushResults } from '../../src/devices/process.ts'
import { peer, tcpAddr, waitFor, type TestPeer, http } from './p2p-helpers.ts'
import { SNAPSHOT_PROTOCOL, requestSnapshotOffer } from '../../src/p2p/snapshot-offers.ts'
import { frame } from '../../src/p2p/frames.ts'
import { stringifyTyped } from '../../src/core/typed-json.ts'
import { multiaddr } from '@multiformats/multiaddr'
import { createServer } from 'node:net'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'

const COUNTER = `
function compute(base, req)
  base.count = (base.count or 0) + 1
  base.results = { output = { data = tostring(base.count) } }
  return base
end`
const SCHED = message({ device: 'scheduler@1.0' })
const post = (body: Message): Message => message({ path: 'schedule', method: 'POST', body })
// A snapshot every 2 slots, so that a few slots make offers.
const EVERY_2 = message({ process_cache_frequency: 2n })

describe('p2p: a late Node node starts from a snapshot offered by its peers', () => {
  let relay: TestPeer, a: TestPeer, b: TestPeer, c: TestPeer
  let late: TestPeer | undefined, alone: TestPeer | undefined
  let w: Wallet
  let proc: Message
  let pid: string
  let boot: string

  beforeAll(async () => {
    relay = await peer(await generateWallet(), { host: { mode: 'relay' } })
    boot = tcpAddr(relay.host)
    ;[a, b, c] = await Promise.all([0, 1, 2].map(async () => peer(await generateWallet(), { net: { bootstrap: [boot] }, config: EVERY_2 })))
    for (const p of [a, b, c]) {
      await waitFor('announcements', () => [a, b, c].every((q) => p.net.nodes.byAddress(q.node.address)?.peerId === q.host.peerId))
    }
    w = a.node.wallet
    proc = await commitMessage(message({
      device: 'process@1.0', type: 'Process', 'scheduler-device': 'scheduler@1.0', 'execution-device': 'lua@5.3a',
      scheduler: w.address, module: message({ 'content-type': 'application/lua', body: COUNTER }), 'test-seed': String(Math.random()),
    }), { wallet: w })
    pid = messageId(proc, 'signed')
  }, 60_000)

  afterAll(async () => {
    await Promise.all([late, alone, a, b, c, relay].map((p) => p?.net.stop()))
  })

  const send = async (n: number) => {
    const m = await commitMessage(message({ type: 'Message', target: pid, n: BigInt(n), 'test-seed': String(Math.random()) }), { wallet: w })
    const o = await a.node.resolve(SCHED, post(m))
    expect(o.status).toBe('ok')
    return (o.value as Message)['slot'] as bigint
  }
  const verified = (p: TestPeer, slot: bigint, k: number) => waitFor(`quorum ${k} of slot ${slot}`, async () => {
    const r = await http(p.node, `/${pid}~process@1.0/compute&slot+integer=${slot}&quorum+integer=${k}`)
    if (r.status !== 200 && r.status !== 202) throw new Error(`${r.status} ${r.text.slice(0, 300)}`)
    return r.status === 200 ? r.msg : undefined
  }, 30_000, 20)

  it('from-snapshot: the newest snapshot backed by 3 wallets, blocks by CID, then only the slots after it are computed', async () => {
    expect((await a.node.resolve(SCHED, post(proc))).status).toBe('ok')
    for (const p of [b, c]) expect((await http(p.node, `/~p2p@1.0/subscribe?process=${pid}`)).status).toBe(200)
    for (const p of [b, c]) await waitFor('slot 0', async () => isMessage(await p.node.store.read(`assignments/${pid}/0`)))
    for (let i = 1; i <= 4; i++) await send(i)
    for (const p of [a, b, c]) await verified(p, 4n, 3)

    late = await peer(await generateWallet(), { net: { bootstrap: [boot] }, config: EVERY_2 })
    await waitFor('the late node to meet A', () => late!.net.nodes.byAddress(a.node.address) && late!.net.peers().length >= 3)
    const r = await http(late.node, `/~p2p@1.0/from-snapshot?process=${pid}&quorum+integer=3`)
    expect(r.status, r.text).toBe(200)
    expect(r.msg['slot']).toBe(4n)
    expect((r.msg['attesters'] as unknown[]).length).toBe(3)
    expect(String(r.msg['snapshot-cid'])).toMatch(/^baf/)

    const slot = await send(5)
    const atLate = await verified(late, slot, 4)
    const atA = await verified(a, slot, 4)
    expect(atLate['quorum-hashpath']).toBe(atA['quorum-hashpath'])
    expect(atLate['quorum-result']).toBe(atA['quorum-result'])
    // Slot 0 (the process itself) counts too: 6 computes by slot 5, the first 5 of them on other nodes.
    expect(atLate['count']).toBe(6n)
    // Restored at slot 4: the slots before it were never computed here.
    await flushResults(late.node.store)
    expect(isMessage(await late.node.store.read(`computed/${pid}/slot/5`))).toBe(true)
    for (const s of [1, 2, 3]) expect(await late.node.store.read(`computed/${pid}/slot/${s}`)).toBeUndefined()
  })

  it('bad input is 400; an offer backed by fewer wallets than asked is refused (502), and nothing is followed', async () => {
    alone = await peer(await generateWallet(), { net: { bootstrap: [boot] }, config: EVERY_2 })
    await waitFor('the node to meet A', () => alone!.net.nodes.byAddress(a.node.address) && alone!.net.peers().length >= 3)
    for (const q of ['quorum+integer=0', 'quorum=many']) {
      const bad = await http(alone.node, `/~p2p@1.0/from-snapshot?process=${pid}&${q}`)
      expect(bad.status, bad.text).toBe(400)
    }
    expect((await http(alone.node, '/~p2p@1.0/from-snapshot?process=nope')).status).toBe(400)
    const r = await http(alone.node, `/~p2p@1.0/from-snapshot?process=${pid}&quorum+integer=9`)
    expect(r.status, r.text).toBe(502)
    expect(r.text).toMatch(/fewer than 9|backed by/)
    expect(await alone.node.store.read(`computed/${pid}/slot/4`)).toBeUndefined()
    expect((await http(alone.node, '/~p2p@1.0/topics')).text).not.toContain(pid)
  })

  it('a peer that answers a malformed offer (not JSON, not a message, no slot, an oversized frame, half a frame) is refused with CatchupFailed', async () => {
    // The relay stands in for a broken peer: its offers are replaced by bytes that are not an offer.
    const answers: Uint8Array[] = [
      frame(new TextEncoder().encode('{not json')),
      frame(new TextEncoder().encode('[1, 2]')),
      frame(new TextEncoder().encode(stringifyTyped(message({ result: message({ a: 1n }) })))),
      new Uint8Array([0xff, 0xff, 0xff, 0xff]),
      new Uint8Array([0, 0, 0, 9, 1, 2]),
    ]
    // The last one, half a frame and the peer's side closed, is told as such at once (not at the deadline).
    const want = [/not typed JSON/, /not a message/, /malformed snapshot offer/, /malformed snapshot offer stream.*limit/, /malformed snapshot offer stream: the stream ended inside a frame/]
    let next = 0
    await relay.host.libp2p.unhandle(SNAPSHOT_PROTOCOL)
    await relay.host.libp2p.handle(SNAPSHOT_PROTOCOL, async (stream) => {
      stream.send(answers[next++]!)
      await stream.close().catch((e: Error) => stream.abort(e))
    })
    for (const w of want) {
      const t0 = Date.now()
      const err = await requestSnapshotOffer(a.host.libp2p, relay.host.libp2p.peerId, pid, 1, { timeoutMs: 1500 }).then(() => undefined, (e: Error) => e)
      expect(err?.name).toBe('CatchupFailed')
      expect(err?.message).toMatch(w)
      expect(Date.now() - t0).toBeLessThan(1500)
    }
  })

  it('a peer that cannot be dialled is CatchupFailed too, not a libp2p error', async () => {
    // A port on 127.0.0.1 that refuses connections: taken, then closed.
    const port = await new Promise<number>((ok) => { const srv = createServer(); srv.listen(0, '127.0.0.1', () => { const p = (srv.address() as { port: number }).port; srv.close(() => ok(p)) }) })
    // A peer this node has no connection to (a connected one would be reached over that connection).
    const stranger = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const to = multiaddr(`/ip4/127.0.0.1/tcp/${port}/p2p/${stranger.toString()}`)
    const err = await requestSnapshotOffer(a.host.libp2p, to, pid, 1, { timeoutMs: 3000 }).then(() => undefined, (e: Error) => e)
    expect(err?.name).toBe('CatchupFailed')
    expect(err?.message).toMatch(/cannot open|no answer to the snapshot offer dial/)
  })
})

