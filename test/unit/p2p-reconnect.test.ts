/**
 * The relay restarts (same peer key, same port): nodes that joined through it
 * dial it again on their own, keep their direct connections meanwhile, and a
 * node joining afterwards through the restarted relay meets them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { message } from '../../src/core/value.ts'
import { commitMessage } from '../../src/codecs/commitments.ts'
import { messageId } from '../../src/core/id.ts'
import { generateWallet, loadJwk, type Wallet } from '../../src/crypto/wallet.ts'
import { nodeFixtures } from './node-fixtures.ts'
import { peer, tcpAddr, waitFor, type TestPeer } from './p2p-helpers.ts'

describe('p2p: a relay restart', () => {
  let relay: TestPeer | undefined, a: TestPeer, b: TestPeer, c: TestPeer | undefined
  let key: PrivateKey
  let relayWallet: Wallet, w: Wallet[]
  let boot: string

  beforeAll(async () => {
    key = await generateKeyPair('Ed25519')
    ;[relayWallet, ...w] = await Promise.all([
      generateWallet(),
      ...['key-1.json', 'key-2.json', 'admissible-report-wallet.json'].map(async (f) => loadJwk(await nodeFixtures.json(`hyperbeam-data/test/${f}`))),
    ])
    relay = await peer(relayWallet, { host: { mode: 'relay', privateKey: key } })
    boot = tcpAddr(relay.host)
    ;[a, b] = await Promise.all([w[0]!, w[1]!].map((wallet) => peer(wallet, { net: { bootstrap: [boot], redialMs: 300 } })))
  }, 60_000)

  afterAll(async () => {
    await Promise.all([relay, a, b, c].map((p) => p?.net.stop()))
  })

  it('nodes reconnect to the restarted relay, which keeps its multiaddr', async () => {
    const relayId = relay!.host.peerId
    await waitFor('a and b to know each other', () => a.net.nodes.byAddress(b.node.address) && b.net.nodes.byAddress(a.node.address))
    await waitFor('a and b connected directly', () => a.net.peers().includes(b.host.peerId))
    await relay!.net.stop()
    await waitFor('a and b to notice the relay is gone', () => !a.net.peers().includes(relayId) && !b.net.peers().includes(relayId))
    expect(a.net.peers()).toContain(b.host.peerId) // the direct connection survives
    const port = boot.split('/')[4]
    relay = await peer(relayWallet, { host: { mode: 'relay', privateKey: key, tcpPort: Number(port) } })
    expect(tcpAddr(relay.host)).toBe(boot)
    await waitFor('a and b to dial the relay again', () => a.net.peers().includes(relayId) && b.net.peers().includes(relayId), 15_000)

    // A newcomer that knows only the relay meets both, and gossip reaches it.
    c = await peer(w[2]!, { net: { bootstrap: [boot] } })
    await waitFor('c to learn a and b', () => c!.net.nodes.byAddress(a.node.address) && c!.net.nodes.byAddress(b.node.address))
    const proc = await commitMessage(message({ type: 'Process', 'test-seed': String(Math.random()) }), { wallet: w[0]! })
    const pid = messageId(proc, 'signed')
    const got: string[] = []
    c.net.subscribe(pid, { message: (m) => got.push(messageId(m, 'signed')) })
    a.net.subscribe(pid)
    await waitFor('a to see c on the topic', () => a.net.gossip.subscribers(pid).includes(c!.host.peerId))
    const m = await commitMessage(message({ target: pid, n: 1n }), { wallet: w[1]! })
    await a.net.publishMessage(pid, m)
    await waitFor('the message at c', () => got.includes(messageId(m, 'signed')))
  })
})
