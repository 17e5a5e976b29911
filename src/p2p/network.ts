/**
 * A node on the network: its libp2p host (host.ts) with announcements
 * (announce.ts), gossip per process (gossip.ts), the catch-up protocol
 * (catchup.ts) served from the node's store, and the bootstrap peers it keeps
 * a connection to. joinNetwork(node, …) sets `node.network`.
 */
import { serveSnapshotOffers, SNAPSHOT_PROTOCOL } from './snapshot-offers.ts'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { AoNode } from '../node/node.ts'
import type { Message } from '../core/value.ts'
import { Announcer, type Announcement, type NodeTable } from './announce.ts'
import { ProcessGossip, type AssignmentValidator, type GossipOptions, type ProcessHandlers, type PublishReceipt } from './gossip.ts'
import { catchUp, handleCatchup, storeSource, CATCHUP_PROTOCOL, type CatchUpOptions, type CatchUpResult } from './catchup.ts'
import { peerScore } from './score.ts'
import { NODES_TOPIC } from './topics.ts'
import type { Host } from './host.ts'
import { NodeWiring, type WiringOptions } from './wiring.ts'

export interface NetworkOptions {
  /** Multiaddrs (with /p2p/<id>) of bootstrap peers to dial and stay connected to. */
  bootstrap?: string[]
  validateAssignment?: AssignmentValidator
  validateMessage?: GossipOptions['validateMessage']
  validateAttestation?: GossipOptions['validateAttestation']
  maxPayloadBytes?: number
  /** Re-announce this often (default 60 s). */
  announceIntervalMs?: number
  /** Redial lost bootstrap peers this often (default 5 s). */
  redialMs?: number
  /** Capabilities to announce besides those derived from the node (snp, blocks) and the host (relay). */
  capabilities?: string[]
  /** Dial the multiaddrs of announced nodes we are not connected to (default true, except in relay mode). */
  dialAnnounced?: boolean
  /**
   * Wire the node's processes to the network (wiring.ts: publish and import
   * assignments, forward messages, compute, attest, p2p@1.0, quorum reads).
   * Default: true, unless a validateAssignment of the caller's own is given.
   */
  wire?: boolean | WiringOptions
}

export interface Network {
  readonly host: Host
  readonly peerId: string
  readonly gossip: ProcessGossip
  readonly announcer: Announcer
  /** The announced nodes: wallet address ↔ peer ID. */
  readonly nodes: NodeTable
  multiaddrs(): string[]
  subscribe(pid: string, handlers?: ProcessHandlers): () => void
  publishMessage(pid: string, msg: Message): Promise<PublishReceipt>
  publishAssignment(pid: string, assignment: Message): Promise<PublishReceipt>
  publishAttestation(pid: string, attestation: Message): Promise<PublishReceipt>
  /** Fetch and store a process's assignments from a peer (peer ID or multiaddr). */
  catchUp(peer: string, pid: string, o?: Omit<CatchUpOptions, 'store'>): Promise<CatchUpResult>
  /** A peer's gossipsub score here. */
  score(peerId: string): number
  /** Peers we are connected to. */
  peers(): string[]
  /** The node's processes on the network (undefined when not wired). */
  readonly wiring: NodeWiring | undefined
  stop(): Promise<void>
}

/** Capabilities a node announces from what it has. */
export function nodeCapabilities(node: AoNode, host: Host, extra: string[] = []): string[] {
  const caps = node.context().capabilities
  const out: string[] = []
  if (caps.snp) out.push('snp')
  if (caps.blocks) out.push('blocks')
  if (host.mode === 'relay') out.push('relay')
  for (const c of extra) if (!out.includes(c)) out.push(c)
  return out
}

export async function joinNetwork(node: AoNode, host: Host, o: NetworkOptions = {}): Promise<Network> {
  const { libp2p } = host
  const wire = o.wire ?? o.validateAssignment === undefined
  const wiring = wire ? new NodeWiring(node, typeof wire === 'object' ? wire : {}) : undefined
  const validateAssignment = wiring?.validateAssignment ?? o.validateAssignment
  const validateAttestation = o.validateAttestation ?? wiring?.validateAttestation
  const gossip = new ProcessGossip(host.pubsub, {
    ...(o.maxPayloadBytes !== undefined ? { maxPayloadBytes: o.maxPayloadBytes } : {}),
    ...(validateAssignment ? { validateAssignment } : {}),
    ...(wiring ? { assignmentValidatorVerifies: true } : {}),
    ...(o.validateMessage ? { validateMessage: o.validateMessage } : {}),
    ...(validateAttestation ? { validateAttestation } : {}),
  })
  const dialAnnounced = o.dialAnnounced ?? host.mode !== 'relay'
  const connected = (peerId: string): boolean => libp2p.getConnections().some((c) => c.remotePeer.toString() === peerId)
  const dialing = new Set<string>()
  const onAnnouncement = (a: Announcement): void => {
    if (!dialAnnounced || a.peerId === host.peerId || connected(a.peerId) || dialing.has(a.peerId)) return
    dialing.add(a.peerId)
    void (async () => {
      for (const addr of a.multiaddrs) {
        try { await host.dial(addr); return } catch { /* try the next one */ }
      }
    })().finally(() => dialing.delete(a.peerId))
  }
  const announcer = new Announcer({
    pubsub: host.pubsub,
    wallet: node.wallet,
    peerId: host.peerId,
    capabilities: () => nodeCapabilities(node, host, o.capabilities),
    multiaddrs: () => host.multiaddrs(),
    ...(o.announceIntervalMs !== undefined ? { intervalMs: o.announceIntervalMs } : {}),
    ...(o.maxPayloadBytes !== undefined ? { maxPayloadBytes: o.maxPayloadBytes } : {}),
    onAnnouncement,
  })
  await handleCatchup(libp2p, storeSource(node.store))
  await serveSnapshotOffers(libp2p, node.store, () => wiring)
  announcer.start()

  const bootstrap = o.bootstrap ?? []
  const bootIds = bootstrap.map((a) => a.match(/\/p2p\/([^/]+)$/)?.[1])
  const redial = async (): Promise<void> => {
    await Promise.all(bootstrap.map(async (addr, i) => {
      const id = bootIds[i]
      if (id !== undefined && connected(id)) return
      await host.dial(addr).catch(() => undefined)
    }))
  }
  await redial()
  const timer = bootstrap.length > 0 ? setInterval(() => { void redial() }, o.redialMs ?? 5_000) : undefined

  let stopped = false
  const net: Network = {
    host,
    peerId: host.peerId,
    gossip,
    announcer,
    nodes: announcer.table,
    multiaddrs: () => host.multiaddrs(),
    subscribe: (pid, h) => gossip.subscribe(pid, h),
    publishMessage: (pid, m) => gossip.publishMessage(pid, m),
    publishAssignment: (pid, a) => gossip.publishAssignment(pid, a),
    publishAttestation: (pid, a) => gossip.publishAttestation(pid, a),
    async catchUp(peer, pid, co = {}) {
      // A wired node stores what it catches up through importAssignment (the scheduler's head stays right).
      if (wiring && !co.sink && !co.validate) return wiring.catchUpFrom(peer, pid, co)
      const target = peer.startsWith('/') ? multiaddr(peer) : peerIdFromString(peer)
      return catchUp(libp2p, target, pid, { ...co, store: node.store, ...(o.validateAssignment && !co.validate ? { validate: o.validateAssignment } : {}) })
    },
    score: (peerId) => peerScore(host.pubsub, peerId),
    peers: () => [...new Set(libp2p.getConnections().map((c) => c.remotePeer.toString()))],
    wiring,
    async stop() {
      if (stopped) return
      stopped = true
      await wiring?.detach()
      if (timer) clearInterval(timer)
      announcer.stop()
      gossip.close()
      await libp2p.unhandle(CATCHUP_PROTOCOL).catch(() => undefined)
      await libp2p.unhandle(SNAPSHOT_PROTOCOL).catch(() => undefined)
      host.pubsub.unsubscribe(NODES_TOPIC)
      await host.stop()
      if (node.network === net) node.network = undefined
    },
  }
  node.network = net
  await wiring?.attach(net)
  return net
}
