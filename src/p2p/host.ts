/**
 * The libp2p host of a Node node (Node only: TCP).
 *
 *   transports   TCP and WebSockets, listening on 127.0.0.1 unless told otherwise
 *   security     noise; muxer yamux; identify, ping
 *   pubsub       gossipsub as pubsub.ts sets it up (@libp2p/gossipsub, the libp2p-3 one), StrictSign:
 *                a gossip message's `from` is its publisher's peer ID, signed
 *   relay mode   also a circuit-relay v2 server (browsers reserve slots on it)
 *   blocks       Helia (light) with bitswap over the node's blockstore, so the
 *                snapshot blocks a node holds are fetchable by CID from peers
 *
 * Gossip message IDs are the SHA-256 of the payload bytes (content
 * addressing: the same committed message published by two peers is one
 * gossip message). Topic validation and scoring are set per topic by
 * gossip.ts and announce.ts.
 */
import './polyfill.ts'
import { createLibp2p, type Libp2p, type Libp2pOptions } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { circuitRelayServer } from '@libp2p/circuit-relay-v2'
import type { GossipSub, GossipsubOpts } from '@libp2p/gossipsub'
import { pubsubService } from './pubsub.ts'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { createHeliaLight, type Helia } from 'helia'
import { withLibp2pLight } from '@helia/libp2p'
import { withBitswap } from '@helia/bitswap'
import { MemoryBlockstore } from 'blockstore-core'
import * as dagCbor from '@ipld/dag-cbor'
import type { Blockstore } from 'interface-blockstore'
import type { PrivateKey, ServiceMap } from '@libp2p/interface'
import type { Blocks } from '../snapshot/blocks.ts'
import { networkedBlocks } from './networked-blocks.ts'

export const DEFAULT_P2P_HOST = '127.0.0.1'

export interface HostOptions {
  /** 'relay' adds the circuit-relay v2 server. Default 'node'. */
  mode?: 'node' | 'relay'
  /** Listen address (default 127.0.0.1). */
  host?: string
  /** TCP port (default 0: any free port). */
  tcpPort?: number
  /** WebSockets port (default 0: any free port); null: no WebSockets listener. */
  wsPort?: number | null
  /** The peer identity (default: a new Ed25519 key; see peer-key-fs.ts to keep one). */
  privateKey?: PrivateKey
  /** Where blocks live (the node's Blocks store); default in memory. */
  blockstore?: Blockstore
  /** Extra gossipsub options (tests lower heartbeat intervals and so on). */
  gossipsub?: Partial<GossipsubOpts>
  /** How long a block fetched from peers may take (default 20 s). */
  blockTimeoutMs?: number
}

export type HostServices = ServiceMap & { pubsub: GossipSub; identify: unknown; ping: unknown }

export interface Host {
  readonly libp2p: Libp2p<HostServices>
  readonly helia: Helia
  readonly pubsub: GossipSub
  readonly peerId: string
  readonly mode: 'node' | 'relay'
  /** The listen multiaddrs with /p2p/<peer ID>. */
  multiaddrs(): string[]
  /**
   * Blocks over Helia: a block missing here is fetched from connected peers
   * by bitswap (then kept in the blockstore), verified against its CID.
   */
  readonly blocks: Blocks
  /** Dial a multiaddr (with /p2p/<id>); resolves once connected. */
  dial(addr: string, signal?: AbortSignal): Promise<void>
  stop(): Promise<void>
}

export async function createHost(opts: HostOptions = {}): Promise<Host> {
  const mode = opts.mode ?? 'node'
  const ip = opts.host ?? DEFAULT_P2P_HOST
  const proto = ip.includes(':') ? 'ip6' : 'ip4'
  const listen = [`/${proto}/${ip}/tcp/${opts.tcpPort ?? 0}`]
  if (opts.wsPort !== null) listen.push(`/${proto}/${ip}/tcp/${opts.wsPort ?? 0}/ws`)
  const privateKey = opts.privateKey ?? await generateKeyPair('Ed25519')
  const services: Record<string, unknown> = {
    identify: identify(),
    ping: ping(),
    // The relay forwards for browsers behind it; peer exchange helps them find each other.
    pubsub: pubsubService({ doPX: mode === 'relay', ...opts.gossipsub }),
  }
  if (mode === 'relay') services['relay'] = circuitRelayServer({ reservations: { maxReservations: 1024 } })
  const libp2pOptions: Libp2pOptions<ServiceMap> = {
    privateKey,
    addresses: { listen },
    transports: [tcp(), webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: services as Libp2pOptions<ServiceMap>['services'],
  }
  const blockstore = opts.blockstore ?? new MemoryBlockstore()
  const helia = withBitswap(withLibp2pLight(createHeliaLight({ blockstore, codecs: [dagCbor] }), libp2pOptions))
  await helia.start()
  const libp2p = helia.libp2p as unknown as Libp2p<HostServices>
  const pubsub = libp2p.services.pubsub
  const timeoutMs = opts.blockTimeoutMs ?? 20_000
  let stopped = false
  return {
    libp2p,
    helia,
    pubsub,
    peerId: libp2p.peerId.toString(),
    mode,
    multiaddrs: () => libp2p.getMultiaddrs().map((a) => a.toString()),
    blocks: networkedBlocks(helia, timeoutMs),
    async dial(addr, signal) {
      await libp2p.dial(multiaddr(addr), { signal: signal ?? AbortSignal.timeout(10_000) })
    },
    async stop() {
      if (stopped) return
      stopped = true
      await helia.stop()
    },
  }
}
