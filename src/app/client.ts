/**
 * The page's typed client of the node worker (comlink). Request and Response
 * cross as WireRequest/WireResponse with their body buffers transferred;
 * `fetch` wraps that into the Web-standard shape.
 */
import { transfer, wrap, type Remote } from 'comlink'
import type { NetworkInfo, NodeInfo, NodeWorkerApi, ResolveResult } from './worker.ts'
import type { ExecutionStats } from './exec-stats.ts'
import { requestToWire, transferables, wireToResponse, type WireRequest, type WireResponse } from './wire.ts'

export type { ExecutionStats, NetworkInfo, NodeInfo, ResolveResult }

export interface NodeClient {
  readonly worker: Worker
  /** Resolves when the worker's modules have loaded. */
  ping(): Promise<'ready'>
  /** The node's address and state now. */
  info(): Promise<NodeInfo>
  /** Waits for the node to start (or fail to); its info. */
  ready(): Promise<NodeInfo>
  resolvePath(path: string): Promise<ResolveResult>
  /** HyperBEAM's HTTP API; transfers `request.body` to the worker. */
  handle(request: WireRequest): Promise<WireResponse>
  /** `handle` for a Request or a same-origin path. */
  fetch(input: Request | string, init?: RequestInit): Promise<Response>
  unsignedId(text: string): Promise<string>
  /** What the node's execution devices did since its worker started. */
  stats(): Promise<ExecutionStats>
  /** Waits until every result the node computed is written to its store. */
  flush(): Promise<void>
  /** Join the network through the page's host (the ports of src/p2p/browser-bridge-page.ts's bridgeHost; transferred). */
  joinNetwork(ports: { hostPort: MessagePort; nodePort: MessagePort }, o?: { announceIntervalMs?: number }): Promise<NetworkInfo>
  networkInfo(): Promise<NetworkInfo>
  /** Catch a process up now from the peers on its topic; each peer's outcome. */
  catchUpNow(pid: string): Promise<Array<{ peer: string; stored?: number; error?: string }>>
  /** Follow a process from a peer's snapshot (fetched by CID) instead of slot 0. */
  startFromSnapshot(pid: string, quorum?: number): Promise<{ slot: bigint; cid: string; peer: string; attesters: string[]; caughtUp: number; ms: Record<string, number> }>
}

export function startNode(): NodeClient {
  const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'ao-node' })
  const remote: Remote<NodeWorkerApi> = wrap<NodeWorkerApi>(worker)
  const handle = (request: WireRequest): Promise<WireResponse> =>
    remote.handle(transfer(request, transferables(request)))
  return {
    worker,
    ping: () => remote.ping(),
    info: () => remote.info(),
    ready: () => remote.ready(),
    resolvePath: (path) => remote.resolvePath(path),
    handle,
    async fetch(input, init) {
      const req = new Request(typeof input === 'string' ? new URL(input, location.href) : input, init)
      return wireToResponse(await handle(await requestToWire(req)))
    },
    unsignedId: (text) => remote.unsignedId(text),
    stats: () => remote.stats(),
    flush: () => remote.flush(),
    joinNetwork: (ports, o) => remote.joinNetwork(transfer(ports, [ports.hostPort, ports.nodePort]), o),
    networkInfo: () => remote.networkInfo(),
    catchUpNow: (pid) => remote.catchUpNow(pid),
    startFromSnapshot: (pid, quorum) => remote.startFromSnapshot(pid, quorum),
  }
}
