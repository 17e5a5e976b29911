/**
 * createNode(): the composition of an AO-Core node — device registry, store,
 * wallet, capabilities and the node message — and its two doors: resolve
 * (in process) and handle (HyperBEAM's HTTP API, Web-standard
 * Request → Response). The same node runs in a browser worker and in Node.
 */
import { checkNodeOptions } from './options.ts'
import { emptyMessage, message, type Message } from '../core/value.ts'
import type { Capabilities, Outcome, ResolveContext } from '../core/device.ts'
import type { PathItem } from '../core/typed-json.ts'
import type { Store } from '../store/store.ts'
import type { Blocks } from '../snapshot/blocks.ts'
import { MemoryStore } from '../store/memory.ts'
import { generateWallet, type Wallet } from '../crypto/wallet.ts'
import { createContext, resolvePath } from '../core/ao.ts'
import { resolveRequest } from '../core/resolver.ts'
import { preloadedDevices, type DeviceRegistry } from '../devices/index.ts'
import { handleHttp } from './http.ts'
import type { Network } from '../p2p/network.ts'

export interface NodeOptions {
  /** The operator's wallet; a fresh RSA-4096 wallet is generated when absent. */
  wallet?: Wallet
  store?: Store
  /** Extra node-message keys (HyperBEAM's node options). */
  config?: Message
  capabilities?: Capabilities
  devices?: DeviceRegistry
  /** Where process snapshots go as content-addressed blocks (else they stay inline in the store). */
  blocks?: Blocks
}

export interface AoNode {
  readonly address: string
  readonly wallet: Wallet
  readonly store: Store
  readonly devices: DeviceRegistry
  /** The node message (configuration); meta@1.0 `info` reads and updates it. */
  config: Message
  /** A resolution context bound to this node. */
  context(overrides?: Partial<ResolveContext>): ResolveContext
  /** Resolve a HyperPATH (string or request message) in process. */
  resolvePath(path: string | Message): Promise<Outcome>
  resolve(base: PathItem, req: PathItem | string): Promise<Outcome>
  /** HyperBEAM's HTTP API. */
  handle(request: Request): Promise<Response>
  /** The node's peer-to-peer side, once it has joined a network (src/p2p/network.ts joinNetwork). */
  network?: Network
}

export async function createNode(opts: NodeOptions = {}): Promise<AoNode> {
  const wallet = opts.wallet ?? await generateWallet()
  const store = opts.store ?? new MemoryStore()
  const devices = opts.devices ?? preloadedDevices()
  const config = emptyMessage()
  // The node's own object: a network's wiring adds to it, and the caller's may be shared by other nodes.
  const capabilities: Capabilities = { ...opts.capabilities, ...(opts.blocks ? { blocks: opts.blocks } : {}) }
  Object.assign(config, message({ operator: wallet.address, initialized: true }), opts.config ?? {})
  checkNodeOptions(config)
  const node: AoNode = {
    address: wallet.address,
    wallet,
    store,
    devices,
    config,
    context(overrides) {
      const ctx = createContext({ devices, node: node.config, store, wallet, capabilities })
      return overrides ? { ...ctx, ...overrides } : ctx
    },
    resolvePath: (path) => resolvePath(path, node.context()),
    resolve: (base, req) => resolveRequest(base, req, node.context()),
    handle: (request) => handleHttp(node, request),
  }
  return node
}
