/**
 * The page's part of the network: the libp2p host runs here, on the main
 * thread (WebRTC does not exist in workers), and is lent to the node in the
 * worker through the bridge (src/p2p/browser-bridge-*.ts). Loaded on demand by
 * main.ts, so the shell does not wait for libp2p.
 *
 * Where the relay is: `?bootstrap=<multiaddr>` (repeatable; e.g. the
 * `/ip4/127.0.0.1/tcp/9091/ws/p2p/…` line `ao relay` prints), remembered in
 * localStorage for the next start; `?bootstrap=` empty forgets it. Else the
 * addresses the serving `ao serve` publishes at
 * /.well-known/ao-tab-bootstrap.json (`npm start` runs a relay), else the
 * remembered ones. Without any the tab stays off the network.
 */
import { IDBBlockstore } from 'blockstore-idb'
import { createBrowserHost, type BrowserHost } from '../p2p/browser-host.ts'
import { bridgeHost, type PageBridge } from '../p2p/browser-bridge-page.ts'
import { loadPeerKey } from '../p2p/browser-peer-key.ts'
import { DEFAULT_BLOCKS_DB } from '../snapshot/idb-blockstore.ts'
import type { NetworkInfo, NodeClient } from './client.ts'

const STORAGE_KEY = 'ao-tab-bootstrap'

/** The bootstrap multiaddrs from the URL, else the remembered ones. */
export function bootstrapAddrs(url: URL = new URL(location.href)): string[] {
  if (url.searchParams.has('bootstrap')) {
    const list = url.searchParams.getAll('bootstrap').map((s) => s.trim()).filter(Boolean)
    if (list.length > 0) localStorage.setItem(STORAGE_KEY, JSON.stringify(list))
    else localStorage.removeItem(STORAGE_KEY)
    return list
  }
  try {
    const v: unknown = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? '[]')
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []
  } catch {
    return []
  }
}

/** The addresses this origin's server publishes (empty offline, or from a plain static server). */
export async function servedBootstrap(): Promise<string[]> {
  try {
    const r = await fetch('/.well-known/ao-tab-bootstrap.json', { cache: 'no-store' })
    if (!r.ok) return []
    const v = (await r.json()) as { bootstrap?: unknown }
    return Array.isArray(v.bootstrap) ? v.bootstrap.filter((x): x is string => typeof x === 'string') : []
  } catch {
    return []
  }
}

/** ?bootstrap=…, else what the server publishes, else what was remembered. */
export async function findBootstrap(url: URL = new URL(location.href)): Promise<string[]> {
  if (url.searchParams.has('bootstrap')) return bootstrapAddrs(url)
  const served = await servedBootstrap()
  return served.length > 0 ? served : bootstrapAddrs(url)
}

export interface PageNetwork {
  host: BrowserHost
  bridge: PageBridge
  /** The worker's view: announced nodes, gossip counts. */
  info(): Promise<NetworkInfo>
  stop(): Promise<void>
}

export async function startPageNetwork(node: NodeClient, bootstrap: string[]): Promise<PageNetwork> {
  const { key } = await loadPeerKey()
  // The worker writes snapshot blocks into this database; the page's Helia serves them to peers.
  const blockstore = new IDBBlockstore(DEFAULT_BLOCKS_DB)
  await blockstore.open()
  const host = await createBrowserHost({ bootstrap, privateKey: key, blockstore })
  const bridge = bridgeHost(host)
  await node.joinNetwork(bridge.workerPorts)
  return {
    host,
    bridge,
    info: () => node.networkInfo(),
    async stop() {
      bridge.close()
      await host.stop()
      await blockstore.close()
    },
  }
}
