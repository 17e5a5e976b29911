/**
 * The relay-mode host's circuit-relay v2 server, as browsers will use it: a
 * peer reserves a slot on the relay and advertises a /p2p-circuit address;
 * another peer that cannot reach it directly dials that address through the
 * relay and opens a stream over the relayed (limited) connection.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { identify } from '@libp2p/identify'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { multiaddr } from '@multiformats/multiaddr'
import { createHost, type Host } from '../../src/p2p/host.ts'
import { readFrames, sendFrame } from '../../src/p2p/frames.ts'
import { fromUtf8, utf8 } from '../../src/core/bytes.ts'
import { tcpAddr, waitFor } from './p2p-helpers.ts'

/** A peer that only listens through relays (as a browser does). */
const client = (listen: string[]): Promise<Libp2p> => createLibp2p({
  addresses: { listen },
  transports: [tcp(), circuitRelayTransport()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  services: { identify: identify() },
})

describe('p2p: circuit relay v2 through the relay host', () => {
  let relay: Host, behind: Libp2p, caller: Libp2p

  beforeAll(async () => {
    relay = await createHost({ mode: 'relay', wsPort: null })
    // It listens on nothing but a reservation on the relay.
    behind = await client([`${tcpAddr(relay)}/p2p-circuit`])
    caller = await client([])
  }, 30_000)

  afterAll(async () => {
    await Promise.all([behind?.stop(), caller?.stop(), relay?.stop()])
  })

  it('a peer behind the relay is reachable at its /p2p-circuit address', async () => {
    const circuit = await waitFor('a relayed address', () => behind.getMultiaddrs().map(String).find((a) => a.includes('/p2p-circuit/')))
    expect(circuit.startsWith(`${tcpAddr(relay)}/p2p-circuit/p2p/${behind.peerId}`)).toBe(true)
    await behind.handle('/ao-tab/echo-test/1.0.0', async (stream) => {
      for await (const f of readFrames(stream, 1024)) { await sendFrame(stream, utf8(`echo ${fromUtf8(f)}`)); break }
      await stream.close()
    }, { runOnLimitedConnection: true })
    const stream = await caller.dialProtocol(multiaddr(circuit), '/ao-tab/echo-test/1.0.0', { runOnLimitedConnection: true, signal: AbortSignal.timeout(10_000) })
    await sendFrame(stream, utf8('hi'))
    let reply = ''
    for await (const f of readFrames(stream, 1024)) { reply = fromUtf8(f); break }
    expect(reply).toBe('echo hi')
    const conn = caller.getConnections(behind.peerId)[0]!
    expect(conn.remoteAddr.toString()).toContain('/p2p-circuit')
    expect(conn.limits).toBeDefined() // a relayed connection is limited (browsers then upgrade to WebRTC)
    await stream.close()
  })
})
