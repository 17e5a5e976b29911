/**
 * The libp2p host of a browser page (browser-only: WebRTC exists on a page's
 * main thread, not in workers). The node itself stays in its worker; the
 * bridge (browser-bridge-page.ts / browser-bridge-worker.ts) lends this host to
 * it.
 *
 *   transports   WebSockets (to the relay), circuit relay v2 (a reservation on
 *                the relay: listening on /p2p-circuit), WebRTC between pages
 *                (listening on /webrtc: signalled over the relayed connection,
 *                then direct)
 *   security     noise; muxer yamux; identify, ping
 *   pubsub       gossipsub as pubsub.ts sets it up (StrictSign, content IDs)
 *   blocks       Helia light + bitswap over the page's blockstore (the
 *                worker's IndexedDB blockstore `ao-tab-blocks`, opened here too)
 *   gater        libp2p's browser default refuses ws:// and private or loopback
 *                addresses; a page talks to a relay on 127.0.0.1 or a LAN
 *                address over ws://, so dials are allowed (see `allowDial`)
 *
 * Discovery: every accepted node announcement (NODES_TOPIC, validated by the
 * node in the worker) names a peer and its multiaddrs. The host dials a page's
 * `/p2p-circuit/webrtc` address, and a Node peer's WebSockets one, when it has
 * no direct connection to it (checked every second). Of two pages, the one
 * with the smaller peer ID dials first (both dialling at once makes two WebRTC
 * negotiations that can both fail); the other dials after `discoveryYieldMs`
 * if still unconnected (it may be the only one that saw an announcement: a
 * page that joined after another announced learns of it only at the next
 * announcement). A peer we are connected to that announces again may have
 * restarted (a reloaded tab keeps its peer ID, but its old connection is dead
 * until ICE gives up): each direct connection to it is pinged, a dead one hung
 * up, and the peer dialled anew.
 * Reconnection: the bootstrap peers are dialled again every
 * `redialMs` while disconnected, and at once when the browser comes back
 * online (going offline hangs up the relay connections, which would otherwise
 * linger until a ping fails); the circuit-relay transport renews the reservation by itself once
 * the relay is connected again, and discovery is retried on the same timer.
 */
import type { Libp2p, Libp2pOptions } from 'libp2p'
import { webSockets } from '@libp2p/websockets'
import { webRTC } from '@libp2p/webrtc'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import type { GossipsubMessage, GossipsubOpts } from '@libp2p/gossipsub'
import { pubsubService } from './pubsub.ts'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { createHeliaLight } from 'helia'
import { withLibp2pLight } from '@helia/libp2p'
import { withBitswap } from '@helia/bitswap'
import { MemoryBlockstore } from 'blockstore-core'
import * as dagCbor from '@ipld/dag-cbor'
import type { Blockstore } from 'interface-blockstore'
import type { Connection, PrivateKey, ServiceMap } from '@libp2p/interface'
import { binaryText, type Value } from '../core/value.ts'
import { networkedBlocks } from './networked-blocks.ts'
import { decodePayload } from './payload.ts'
import { NODES_TOPIC } from './topics.ts'
import type { Host, HostServices } from './host.ts'

export interface BrowserHostOptions {
  /** Relay/bootstrap multiaddrs (…/ws/p2p/<id>) to stay connected to. */
  bootstrap?: string[]
  /** The peer identity (browser-peer-key.ts keeps one in IndexedDB); default a new one. */
  privateKey?: PrivateKey
  /** Where blocks live (the worker's IndexedDB blockstore); default in memory. */
  blockstore?: Blockstore
  /** WebRTC configuration; default `{ iceServers: [] }` (no STUN: nothing leaves the local network). */
  rtcConfiguration?: RTCConfiguration
  gossipsub?: Partial<GossipsubOpts>
  /** Redial lost bootstrap peers and undialled announced peers this often (default 5 s). */
  redialMs?: number
  blockTimeoutMs?: number
  /**
   * Of two pages, the one with the smaller peer ID dials the other's WebRTC
   * address at once; the other dials too once it has known the peer this long
   * without a direct connection (default 3 s).
   */
  discoveryYieldMs?: number
  /** Which multiaddrs may be dialled (default all; libp2p's browser default refuses ws:// and private addresses). */
  allowDial?: (ma: Multiaddr) => boolean
}

/** A connection as the page sees it: `limited` is a relayed (circuit) connection; WebRTC ones are direct. */
export interface ConnectionInfo {
  peer: string
  addr: string
  limited: boolean
  webrtc: boolean
  streams: number
}

export interface BrowserHost extends Host {
  connections(): ConnectionInfo[]
  /** Whether there is a connection to `peer` that is not limited (not through a relay). */
  directlyConnected(peer: string): boolean
  /** Offer a peer's addresses for discovery (announcements do this already). */
  discover(peer: string, multiaddrs: string[]): void
  /** Dial lost bootstrap peers and undialled known peers now. */
  redial(): Promise<void>
}

const PING_PROTOCOL = '/ipfs/ping/1.0.0'

const isWebRtc = (a: string): boolean => a.includes('/p2p-circuit/webrtc/')
const isCircuit = (a: string): boolean => a.includes('/p2p-circuit')
/** Dialable first: WebRTC via a relay, then plain circuits, then the rest. */
const rank = (a: string): number => (isWebRtc(a) ? 0 : isCircuit(a) ? 1 : 2)

function textList(v: Value | undefined): string[] {
  const items = Array.isArray(v) ? v : v !== null && typeof v === 'object' && !(v instanceof Uint8Array)
    ? Object.keys(v).sort((a, b) => Number(a) - Number(b)).map((k) => (v as Record<string, Value>)[k]!) : []
  return items.map((x) => binaryText(x)).filter((x): x is string => x !== undefined)
}

export async function createBrowserHost(o: BrowserHostOptions = {}): Promise<BrowserHost> {
  const privateKey = o.privateKey ?? await generateKeyPair('Ed25519')
  const allow = o.allowDial ?? (() => true)
  const libp2pOptions: Libp2pOptions<ServiceMap> = {
    privateKey,
    addresses: { listen: ['/p2p-circuit', '/webrtc'] },
    transports: [
      webSockets(),
      webRTC({ rtcConfiguration: o.rtcConfiguration ?? { iceServers: [] } }),
      circuitRelayTransport({ reservationCompletionTimeout: 10_000 }),
    ],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: { denyDialMultiaddr: async (ma: Multiaddr) => !allow(ma) },
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: pubsubService(o.gossipsub),
    } as Libp2pOptions<ServiceMap>['services'],
  }
  const blockstore = o.blockstore ?? new MemoryBlockstore()
  const helia = withBitswap(withLibp2pLight(createHeliaLight({ blockstore, codecs: [dagCbor] }), libp2pOptions))
  await helia.start()
  const libp2p = helia.libp2p as unknown as Libp2p<HostServices>
  const pubsub = libp2p.services.pubsub
  const peerId = libp2p.peerId.toString()
  const timeoutMs = o.blockTimeoutMs ?? 20_000


  const conns = (): Connection[] => libp2p.getConnections()
  const directlyConnected = (peer: string): boolean =>
    conns().some((c) => c.remotePeer.toString() === peer && c.status === 'open' && !c.limits)
  const connectedAtAll = (peer: string): boolean => conns().some((c) => c.remotePeer.toString() === peer && c.status === 'open')

  const dial = async (addr: string, signal?: AbortSignal): Promise<void> => {
    await libp2p.dial(multiaddr(addr), { signal: signal ?? AbortSignal.timeout(20_000) })
  }

  // ---- discovery: peers named by accepted announcements
  const known = new Map<string, { addrs: string[]; since: number }>()
  const dialing = new Set<string>()
  const yieldMs = o.discoveryYieldMs ?? 3_000
  const tryPeer = (peer: string): void => {
    const k = known.get(peer)
    if (!k || peer === peerId || dialing.has(peer) || directlyConnected(peer)) return
    const rtc = k.addrs.filter(isWebRtc)
    // Pages: WebRTC; the smaller peer ID dials at once, the other after a while (it may be the
    // only one of the two that has seen the other's announcement). Node peers: WebSockets.
    const mine = peerId < peer || Date.now() - k.since > yieldMs
    const candidates = rtc.length > 0 ? (mine ? rtc : []) : k.addrs.filter((a) => /\/wss?\//.test(a) && !isCircuit(a))
    if (candidates.length === 0) return
    dialing.add(peer)
    void (async () => {
      for (const a of candidates) {
        try { await dial(a); return } catch { /* the next one; the timer retries */ }
      }
    })().finally(() => dialing.delete(peer))
  }
  const checking = new Set<string>()
  /** One ping over this very connection (libp2p's ping service picks a connection itself). */
  const probe = async (c: Connection): Promise<boolean> => {
    const signal = AbortSignal.timeout(2_000)
    try {
      const st = await c.newStream(PING_PROTOCOL, { signal })
      const onAbort = (): void => st.abort(new Error('ping timed out'))
      signal.addEventListener('abort', onAbort, { once: true })
      try {
        st.send(crypto.getRandomValues(new Uint8Array(32)))
        let got = 0
        for await (const chunk of st) { got += chunk.byteLength; if (got >= 32) break }
        await st.close().catch(() => undefined)
        return got >= 32
      } finally {
        signal.removeEventListener('abort', onAbort)
      }
    } catch {
      return false
    }
  }
  /**
   * A peer that announces again may have restarted (a reloaded tab): its old
   * connection is dead until ICE gives up. Each direct connection to it is
   * pinged; the dead ones are hung up, and the peer dialled again if needed.
   */
  const recheck = (peer: string): void => {
    if (checking.has(peer)) return
    checking.add(peer)
    const mine = conns().filter((c) => c.remotePeer.toString() === peer && c.status === 'open' && !c.limits)
    void Promise.all(mine.map(async (c) => { if (!(await probe(c))) await c.close().catch(() => undefined) }))
      .then(() => tryPeer(peer))
      .finally(() => checking.delete(peer))
  }
  const discover = (peer: string, multiaddrs: string[]): void => {
    if (peer === peerId) return
    const old = known.get(peer)
    known.set(peer, { addrs: multiaddrs, since: old?.since ?? Date.now() })
    if (old && directlyConnected(peer)) recheck(peer)
    else tryPeer(peer)
  }
  const onGossip = (evt: CustomEvent<GossipsubMessage>): void => {
    const m = evt.detail.msg
    if (m.topic !== NODES_TOPIC || m.type !== 'signed') return
    try {
      const a = decodePayload(m.data)
      const id = binaryText(a['peer-id'])
      // Delivered means the node's validator accepted it: peer-id is the signed sender.
      if (id === m.from.toString()) discover(id, textList(a['multiaddrs']))
    } catch { /* not ours to judge here */ }
  }
  pubsub.addEventListener('gossipsub:message', onGossip)

  // ---- reconnection
  const bootstrap = o.bootstrap ?? []
  const bootIds = bootstrap.map((a) => a.match(/\/p2p\/([^/]+)$/)?.[1])
  const redial = async (): Promise<void> => {
    await Promise.all(bootstrap.map(async (addr, i) => {
      const id = bootIds[i]
      if (id !== undefined && connectedAtAll(id)) return
      await dial(addr, AbortSignal.timeout(10_000)).catch(() => undefined)
    }))
    for (const p of known.keys()) tryPeer(p)
  }
  const onOnline = (): void => { void redial() }
  // Offline, a relay connection dies quietly (found out only by the next failed ping, ~10 s):
  // hang it up now, so `online` dials a fresh one at once. Direct connections fail on their own.
  const onOffline = (): void => {
    for (const c of conns()) if (bootIds.includes(c.remotePeer.toString())) void c.close().catch(() => undefined)
  }
  globalThis.addEventListener?.('online', onOnline)
  globalThis.addEventListener?.('offline', onOffline)
  await redial()
  const timer = setInterval(() => { void redial() }, o.redialMs ?? 5_000)
  const discoveryTimer = setInterval(() => { for (const p of known.keys()) tryPeer(p) }, 1_000)

  let stopped = false
  return {
    libp2p,
    helia,
    pubsub,
    peerId,
    mode: 'node',
    multiaddrs: () => libp2p.getMultiaddrs().map((a) => a.toString()).sort((a, b) => rank(a) - rank(b)),
    blocks: networkedBlocks(helia, timeoutMs),
    dial,
    connections: () => conns().filter((c) => c.status === 'open').map((c) => ({
      peer: c.remotePeer.toString(),
      addr: c.remoteAddr.toString(),
      limited: c.limits !== undefined && c.limits !== null,
      webrtc: c.remoteAddr.toString().includes('/webrtc'),
      streams: c.streams.length,
    })),
    directlyConnected,
    discover,
    redial,
    async stop() {
      if (stopped) return
      stopped = true
      clearInterval(timer)
      clearInterval(discoveryTimer)
      globalThis.removeEventListener?.('online', onOnline)
      globalThis.removeEventListener?.('offline', onOffline)
      pubsub.removeEventListener('gossipsub:message', onGossip)
      await helia.stop()
    },
  }
}
