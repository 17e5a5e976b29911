/**
 * The SNP relay end to end over a plain libp2p TCP connection between two
 * Node libp2p nodes on 127.0.0.1: a "browser" peer sends a challenge to a
 * peer whose SEV-SNP hardware is simulated (a TEST root generated here, never
 * shipped), and verifies the answer itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLibp2p, type Libp2p } from 'libp2p'
import type { Stream } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { emptyMessage, type Message, type Value } from '../../src/core/value.ts'
import { loadJwk, type Wallet } from '../../src/crypto/wallet.ts'
import { SnpHardwareUnavailable } from '../../src/core/errors.ts'
import { expectedMeasurement } from '../../src/snp/evidence.ts'
import { attestPeer, handleSnpRelay, requestSnpEvidence, snpAnswer, SNP_RELAY_PROTOCOL } from '../../src/p2p/snp-relay.ts'
import { simulatedSnp, type SimulatedSnp } from '../vectors/snp-sim.ts'
import { nodeFixtures } from './node-fixtures.ts'

const AT = new Date('2026-01-01T00:00:00Z')
const msg = (o: Record<string, Value>): Message => Object.assign(emptyMessage(), o)
const HASHES = msg({
  vcpus: 8n, vcpu_type: 10n, vmm_type: 1n, guest_features: 1n,
  firmware: 'b8c5d4082d5738db6b0fb0294174992738645df70c44cdecf7fad3a62244b788e7e408c582ee48a74b289f3acec78510',
  kernel: '69d0cd7d13858e4fcef6bc7797aebd258730f215bc5642c4ad8e4b893cc67576',
  initrd: '544045560322dbcd2c454bdc50f35edf0147829ec440e6cb487b4a1503f923c1',
  append: '95a34faced5e487991f9cc2253a41cbd26b708bf00328f98dddbbf6b3ea2892e',
})

const node = (): Promise<Libp2p> => createLibp2p({
  addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
})

describe('SNP relay over libp2p (TCP, 127.0.0.1)', () => {
  let hw: Libp2p, browser: Libp2p, plain: Libp2p, liar: Libp2p, noHw: Libp2p
  let sim: SimulatedSnp
  let wallet: Wallet
  let seen: Uint8Array[] = []

  beforeAll(async () => {
    ;[hw, browser, plain, liar, noHw] = await Promise.all([node(), node(), node(), node(), node()])
    sim = await simulatedSnp()
    wallet = await loadJwk(await nodeFixtures.json('hyperbeam-data/test/key-1.json'))
    const measurement = expectedMeasurement(HASHES)
    const hardware = async (rd: Uint8Array) => { seen.push(rd); return { report: await sim.report(rd, { measurement }), certificates: { vcek: sim.vcekDer } } }
    await handleSnpRelay(hw, snpAnswer({ wallet, node: msg({ snp_trusted: [HASHES], priv_wallet_path: '/secret' }), hardware }))
    // A peer that answers with an old report (made for another challenge).
    const stale = await sim.report(new Uint8Array(64), { measurement })
    await handleSnpRelay(liar, snpAnswer({ wallet, node: msg({ snp_trusted: [HASHES] }), hardware: async () => ({ report: stale, certificates: { vcek: sim.vcekDer } }) }))
    await handleSnpRelay(noHw, snpAnswer({ wallet, node: msg({ snp_trusted: [HASHES] }), hardware: async () => { throw new SnpHardwareUnavailable('no SEV-SNP hardware on this peer') } }))
  }, 60_000)

  afterAll(async () => {
    await Promise.all([hw, browser, plain, liar, noHw].map((n) => n?.stop()))
  })

  it('the browser verifies a fresh report bound to its challenge, under the TEST root', async () => {
    const challenge = globalThis.crypto.getRandomValues(new Uint8Array(32))
    seen = []
    const v = await attestPeer(browser, hw.getMultiaddrs(), { challenge, trust: sim.trust, at: AT, snpTrusted: [HASHES] })
    expect(v.checks.filter((c) => !c.ok)).toEqual([])
    expect(v.verified).toBe(true)
    expect(v.hyperbeam).toBe('true')
    expect(v.address).toBe(wallet.address)
    expect(seen).toHaveLength(1)
    expect((v.evidence['node-message'] as Message)['priv_wallet_path']).toBeUndefined()
    // The same answer does not verify for another challenge, nor under AMD's roots (a TEST root is never trusted by default).
    const { verifyEvidence } = await import('../../src/snp/evidence.ts')
    const other = await verifyEvidence(v.evidence, { challenge: new Uint8Array(32), trust: sim.trust, at: AT, snpTrusted: [HASHES] })
    expect(other.hyperbeam).toBe('nonce_mismatch')
    const amd = await verifyEvidence(v.evidence, { challenge, at: AT, snpTrusted: [HASHES] })
    expect(amd.verified).toBe(false)
    expect(amd.checks.find((c) => c.name === 'report/chain')?.ok).toBe(false)
  })

  it('each request gets a new report over its own challenge', async () => {
    seen = []
    const a = await requestSnpEvidence(browser, hw.getMultiaddrs())
    const b = await requestSnpEvidence(browser, hw.getMultiaddrs())
    expect(a.challenge).not.toEqual(b.challenge)
    expect(seen).toHaveLength(2)
    expect(seen[0]).not.toEqual(seen[1])
  })

  it('a peer replaying a stale report fails on the nonce binding', async () => {
    const v = await attestPeer(browser, liar.getMultiaddrs(), { trust: sim.trust, at: AT, snpTrusted: [HASHES] })
    expect(v.verified).toBe(false)
    expect(v.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(['report-data'])
  })

  it('a peer without hardware answers with a typed error; a peer without the protocol cannot be asked', async () => {
    await expect(requestSnpEvidence(browser, noHw.getMultiaddrs())).rejects.toMatchObject({ name: 'SnpRelayFailed', status: 502, message: expect.stringMatching(/SnpHardwareUnavailable/) })
    await expect(requestSnpEvidence(browser, plain.getMultiaddrs())).rejects.toMatchObject({ name: 'SnpRelayFailed' })
    await expect(requestSnpEvidence(browser, hw.getMultiaddrs(), { challenge: new Uint8Array(4) })).rejects.toMatchObject({ name: 'BadInput' })
    expect(SNP_RELAY_PROTOCOL).toBe('/ao-tab/snp/1.0.0')
  })

  it('a peer that answers with an oversized frame, stalls, closes or resets inside one is a typed SnpRelayFailed', async () => {
    const [huge, cut] = await Promise.all([node(), node()])
    try {
      // A length prefix of 1 GiB: refused at the prefix, nothing buffered.
      await huge.handle(SNP_RELAY_PROTOCOL, async (stream) => {
        stream.send(Uint8Array.from([0x40, 0, 0, 0, 1, 2, 3]))
        await stream.close()
      })
      // A frame of 100 bytes of which 10 arrive, and then nothing.
      const held: Stream[] = []
      await cut.handle(SNP_RELAY_PROTOCOL, (stream) => {
        stream.send(Uint8Array.from([0, 0, 0, 100, ...new Uint8Array(10)]))
        held.push(stream)
      })
      await expect(requestSnpEvidence(browser, huge.getMultiaddrs())).rejects.toMatchObject({ name: 'SnpRelayFailed', message: expect.stringMatching(/1073741824 bytes is over the 262140-byte limit/) })
      const t0 = Date.now()
      await expect(requestSnpEvidence(browser, cut.getMultiaddrs(), { timeoutMs: 1000 })).rejects.toMatchObject({ name: 'SnpRelayFailed', message: 'the SNP relay timed out' })
      expect(Date.now() - t0).toBeLessThan(5000)
      for (const s of held) s.abort(new Error('test over'))
      // The same 10 bytes, then the peer closes its side: told at once, not at the 30 s deadline.
      await cut.unhandle(SNP_RELAY_PROTOCOL)
      await cut.handle(SNP_RELAY_PROTOCOL, async (stream) => {
        stream.send(Uint8Array.from([0, 0, 0, 100, ...new Uint8Array(10)]))
        await stream.close()
      })
      const t1 = Date.now()
      await expect(requestSnpEvidence(browser, cut.getMultiaddrs())).rejects.toMatchObject({ name: 'SnpRelayFailed', message: expect.stringMatching(/ended inside a frame/) })
      expect(Date.now() - t1).toBeLessThan(5000)
      // The same 10 bytes, then the peer resets the stream.
      await cut.unhandle(SNP_RELAY_PROTOCOL)
      await cut.handle(SNP_RELAY_PROTOCOL, async (stream) => {
        stream.send(Uint8Array.from([0, 0, 0, 100, ...new Uint8Array(10)]))
        await new Promise((r) => setTimeout(r, 50))
        stream.abort(new Error('peer gave up'))
      })
      await expect(requestSnpEvidence(browser, cut.getMultiaddrs(), { timeoutMs: 5000 })).rejects.toMatchObject({ name: 'SnpRelayFailed' })
    } finally {
      await Promise.all([huge.stop(), cut.stop()])
    }
  })
})
