/**
 * A peer that answers a request/response protocol with half a frame and then
 * holds its stream must not hold the requester: catch-up, attestation sync and
 * snapshot offers give up within their time limit with a typed error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Stream } from '@libp2p/interface'
import { generateWallet } from '../../src/crypto/wallet.ts'
import { CATCHUP_PROTOCOL, requestAssignments } from '../../src/p2p/catchup.ts'
import { ATTESTATIONS_PROTOCOL, requestAttestations } from '../../src/p2p/attestation-sync.ts'
import { SNAPSHOT_PROTOCOL, requestSnapshotOffer } from '../../src/p2p/snapshot-offers.ts'
import { peer, tcpAddr, waitFor, type TestPeer } from './p2p-helpers.ts'

const PID = 'OAbBb5bvbUYh3BqcHCEBwWZOsVjcC8kbnIoydUcE_fI'

describe('p2p: a peer that stalls inside a frame', () => {
  let a: TestPeer, staller: TestPeer
  const held: Stream[] = []

  beforeAll(async () => {
    staller = await peer(await generateWallet(), { host: { mode: 'relay' } })
    a = await peer(await generateWallet(), { net: { bootstrap: [tcpAddr(staller.host)] } })
    await waitFor('a connection', () => a.net.peers().includes(staller.host.peerId))
    for (const protocol of [CATCHUP_PROTOCOL, ATTESTATIONS_PROTOCOL, SNAPSHOT_PROTOCOL]) {
      await staller.host.libp2p.unhandle(protocol)
      // The length of a 100-byte frame and 3 of its bytes; then nothing, and the stream kept open.
      await staller.host.libp2p.handle(protocol, (stream) => { stream.send(new Uint8Array([0, 0, 0, 100, 1, 2, 3])); held.push(stream) })
    }
  }, 30_000)

  afterAll(async () => {
    for (const s of held) s.abort(new Error('test over'))
    await Promise.all([a, staller].map((p) => p?.net.stop()))
  })

  const within = async (what: string, p: Promise<unknown>, ms: number): Promise<Error> => {
    const t0 = Date.now()
    const err = await p.then(() => undefined, (e: Error) => e)
    expect(err, what).toBeInstanceOf(Error)
    expect(Date.now() - t0, `${what} gave up in time`).toBeLessThan(ms)
    return err!
  }

  it('catch-up gives up with CatchupFailed', async () => {
    const err = await within('catch-up', requestAssignments(a.host.libp2p, staller.host.libp2p.peerId, { process: PID, from: 0n }, { timeoutMs: 1000 }), 5000)
    expect(err.name).toBe('CatchupFailed')
    expect(err.message).toMatch(/timed out/)
  })

  it('attestation sync gives up', async () => {
    await within('attestation sync', requestAttestations(a.host.libp2p, staller.host.libp2p.peerId, PID, 1n, 1000), 5000)
  })

  it('a snapshot offer gives up with CatchupFailed', async () => {
    const err = await within('snapshot offer', requestSnapshotOffer(a.host.libp2p, staller.host.libp2p.peerId, PID, 1, { timeoutMs: 1000 }), 5000)
    expect(err.name).toBe('CatchupFailed')
  })
})
