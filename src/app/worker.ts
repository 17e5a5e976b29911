/**
 * The node's module Web Worker. It starts an AO-Core node (src/app/tab-node.ts)
 * with the wallet kept in IndexedDB, its store in IndexedDB (IdbStore, database
 * `ao-tab-store`: messages, computed results, assignments survive a reload) and
 * process snapshots as blocks in IndexedDB (blockstore-idb, `ao-tab-blocks`),
 * and serves it to the page over comlink (src/app/client.ts): info,
 * resolvePath, handle (HyperBEAM's HTTP API on serialized requests), the
 * unsigned ID of a typed-JSON message, and what its execution devices did
 * (stats: a restore from a snapshot versus a replay).
 */
import { expose, transfer } from 'comlink'
import { unsignedId } from '../core/id.ts'
import { parseTypedJson, stringifyTyped } from '../core/typed-json.ts'
import { isMessage } from '../core/value.ts'
import { InvalidTypedJson } from '../core/errors.ts'
import type { Status } from '../core/device.ts'
import type { AoNode } from '../node/node.ts'
import { loadNodeWallet } from './wallet-db.ts'
import { startTabNode } from './tab-node.ts'
import { emptyStats, snapshotStats, type ExecutionStats } from './exec-stats.ts'
import type { Network } from '../p2p/network.ts'
import { responseToWire, textWire, transferables, wireToRequest, type WireRequest, type WireResponse } from './wire.ts'

export interface NodeInfo {
  /** The node's Arweave address (its wallet's); null until the wallet is loaded. */
  address: string | null
  ready: boolean
  /** Why the node did not start, when it did not. */
  error?: string
  /** True when this start generated the wallet (first start on this origin). */
  newWallet?: boolean
  /** The node's store: `idb:ao-tab-store`, or `memory` when IndexedDB could not be opened. */
  store?: string
  /** Why the store is not persistent, when it is not. */
  storeError?: string
  /** Where process snapshots go as blocks: `idb:ao-tab-blocks`; absent when they stay inline in the store. */
  blocks?: string
  /** Why there is no blockstore, when there is none. */
  blocksError?: string
  /** The hash backend the core uses: `hash-wasm`, or `noble` where WebAssembly cannot be compiled. */
  hashes?: string
}

export interface ResolveResult {
  status: Status
  /** The resulting value as typed JSON (README, "The typed-JSON message format"). */
  value: string
}

const describe = (e: unknown): string => (e instanceof Error ? `${e.name}: ${e.message}` : String(e))

const info: NodeInfo = { address: null, ready: false }
let stats: ExecutionStats = emptyStats()
let flush = (): Promise<void> => Promise.resolve()

const started: Promise<AoNode> = (async () => {
  const { wallet, created } = await loadNodeWallet()
  info.address = wallet.address
  info.newWallet = created
  // Still a working node without IndexedDB, but info says loudly that nothing it caches survives a reload.
  const tab = await startTabNode({ wallet })
  info.store = tab.store
  if (tab.storeError !== undefined) info.storeError = tab.storeError
  if (tab.blocks !== undefined) info.blocks = tab.blocks
  if (tab.blocksError !== undefined) info.blocksError = tab.blocksError
  info.hashes = tab.hashes
  stats = tab.stats
  flush = tab.flush
  info.ready = true
  return tab.node
})()
started.catch((e: unknown) => { info.error = describe(e) })

/** The node on the network, as the worker sees it. */
export interface NetworkInfo {
  joined: boolean
  peerId?: string
  address?: string
  multiaddrs?: string[]
  /** Connected peers (as the page's host reports them). */
  peers?: string[]
  /** Announced nodes: wallet address → peer ID. */
  nodes?: Record<string, string>
  /** Gossip validation outcomes per channel. */
  gossip?: Record<string, { accept: number; reject: number; ignore: number }>
  announcements?: { accept: number; reject: number; ignore: number; published: number }
  /** The node's processes on the network (src/p2p/wiring.ts): what it did, the last failures. */
  wiring?: { followed: string[]; counts: Record<string, number>; intake: Record<string, number>; lastCatchUpError?: string; lastComputeError?: string; lastStoreError?: string }
  /** Per followed process: the scheduler's head here and the assignments held for a gap. */
  processes?: Record<string, { head: string; held: string[] }>
}

let network: Network | undefined
let networkHost: import('../p2p/browser-bridge-worker.ts').WorkerHost | undefined

const api = {
  /** Resolves once the worker and the modules it imports have loaded (the node may still be starting). */
  ping(): 'ready' { return 'ready' },

  /** Where the node is now, without waiting. */
  info(): NodeInfo { return { ...info } },

  /** Waits until the node has started (or failed to), then its info. */
  async ready(): Promise<NodeInfo> {
    await started.catch(() => {})
    return { ...info }
  },

  /** Resolve a HyperPATH in the node. Throws the core's typed errors (their `name` survives comlink). */
  async resolvePath(path: string): Promise<ResolveResult> {
    const node = await started
    const outcome = await node.resolvePath(path)
    return { status: outcome.status, value: stringifyTyped(outcome.value) }
  },

  /** HyperBEAM's HTTP API on a serialized request; the response body is transferred back. */
  async handle(request: WireRequest): Promise<WireResponse> {
    let wire: WireResponse
    try {
      const node = await started
      let req: Request
      try {
        req = wireToRequest(request)
      } catch (e) {
        wire = await textWire(400, `bad request: ${describe(e)}`)
        return transfer(wire, transferables(wire))
      }
      wire = await responseToWire(await node.handle(req))
    } catch (e) {
      wire = await textWire(info.ready ? 500 : 503, info.ready ? `the node failed: ${describe(e)}` : `the node did not start: ${describe(e)}`)
    }
    return transfer(wire, transferables(wire))
  },

  /** What the execution devices did since this worker started (calls per key, restores from snapshots). */
  stats(): ExecutionStats { return snapshotStats(stats) },

  /**
   * Waits until every result the node computed is written to IndexedDB
   * (process@1.0 writes behind the computation; a reload can drop what has not
   * landed, which is then computed again when asked for). Throws a failed write.
   */
  async flush(): Promise<void> {
    await started
    await flush()
  },

  /**
   * Join the network through the page's libp2p host (the page keeps it: WebRTC
   * exists only on the main thread). `ports` come from bridgeHost
   * (src/p2p/browser-bridge-page.ts); the node runs joinNetwork over them, so
   * gossip is validated here, by the node. Discovery and reconnection are the
   * host's (it dials announced peers and its bootstrap peers itself).
   */
  async joinNetwork(ports: { hostPort: MessagePort; nodePort: MessagePort }, o: { announceIntervalMs?: number } = {}): Promise<NetworkInfo> {
    const node = await started
    if (network) throw new Error('the node has joined a network already')
    const [{ remoteHost }, { joinNetwork }] = await Promise.all([
      import('../p2p/browser-bridge-worker.ts'), import('../p2p/network.ts'),
    ])
    let net: Network | undefined
    const host = await remoteHost(ports.hostPort, ports.nodePort, {
      // A relay reservation brings the addresses other pages dial: announce them.
      onMultiaddrs: () => { void net?.announcer.announce().catch(() => undefined) },
    })
    net = await joinNetwork(node, host, {
      dialAnnounced: false,
      // A page has no direct peers when it joins: WebRTC to the other pages comes seconds after the
      // announcements. Following a process (again, after a reload) waits this long for a peer to catch up from.
      wire: { catchUpWaitMs: 15_000 },
      ...(o.announceIntervalMs !== undefined ? { announceIntervalMs: o.announceIntervalMs } : {}),
    })
    network = net
    networkHost = host
    return api.networkInfo()
  },

  /**
   * Follow a process from a peer's snapshot instead of slot 0
   * (src/p2p/snapshot-offers.ts): an offer backed by `quorum` attesting
   * wallets, its snapshot fetched by CID, the assignments caught up, then
   * followed (process@1.0 restores the snapshot and computes what follows).
   */
  async startFromSnapshot(pid: string, quorum = 2): Promise<{ slot: bigint; cid: string; peer: string; attesters: string[]; caughtUp: number; ms: Record<string, number> }> {
    const node = await started
    if (!network || !networkHost) throw new Error('the node has not joined a network')
    const { startFromSnapshot } = await import('../p2p/snapshot-offers.ts')
    const r = await startFromSnapshot(network, node.store, networkHost.blocks, pid, { quorum })
    return { slot: r.slot, cid: r.cid, peer: r.peer, attesters: r.attesters, caughtUp: r.caughtUp, ms: r.ms }
  },

  /**
   * Catch a process up now from the peers on its assignments topic (what the
   * wiring does once on following), with each peer's outcome: for operators and
   * tests.
   */
  async catchUpNow(pid: string): Promise<Array<{ peer: string; stored?: number; error?: string }>> {
    const net = network
    if (!net) throw new Error('the node has not joined a network')
    const out: Array<{ peer: string; stored?: number; error?: string }> = []
    for (const peer of net.gossip.subscribers(pid, 'assignments')) {
      try { out.push({ peer, stored: (await net.catchUp(peer, pid)).stored }) } catch (e) { out.push({ peer, error: describe(e) }) }
    }
    return out
  },

  /** The node's network state now. */
  async networkInfo(): Promise<NetworkInfo> {
    const net = network
    if (!net) return { joined: false }
    const processes: Record<string, { head: string; held: string[] }> = {}
    if (net.wiring) {
      const { headOf } = await import('../devices/scheduler.ts')
      for (const pid of net.wiring.followed()) {
        const head = await headOf((await started).store, pid).catch(() => undefined)
        processes[pid] = { head: String(head?.written ?? '?'), held: net.wiring.intake.heldSlots(pid).map(String) }
      }
    }
    const nodes: Record<string, string> = {}
    for (const a of net.nodes.all()) nodes[a.address] = a.peerId
    return {
      joined: true,
      peerId: net.peerId,
      address: info.address ?? '',
      multiaddrs: net.multiaddrs(),
      peers: net.peers(),
      nodes,
      gossip: { ...net.gossip.counts },
      announcements: { ...net.announcer.counts },
      ...(net.wiring ? {
        wiring: {
          followed: net.wiring.followed(),
          counts: { ...net.wiring.counts },
          intake: { ...net.wiring.intake.counts },
          ...(net.wiring.lastCatchUpError !== undefined ? { lastCatchUpError: describe(net.wiring.lastCatchUpError) } : {}),
          ...(net.wiring.lastComputeError !== undefined ? { lastComputeError: describe(net.wiring.lastComputeError) } : {}),
          ...(net.wiring.lastStoreError !== undefined ? { lastStoreError: describe(net.wiring.lastStoreError) } : {}),
        },
        processes,
      } : {}),
    }
  },

  /** The unsigned ID of a message written as typed JSON. Throws the core's typed errors. */
  unsignedId(text: string): string {
    const msg = parseTypedJson(text)
    if (!isMessage(msg)) throw new InvalidTypedJson('a message is a JSON object, e.g. {"a":"b"}')
    return unsignedId(msg)
  },
}

export type NodeWorkerApi = typeof api

expose(api)
