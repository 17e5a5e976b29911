/**
 * `ao relay`: the relay/bootstrap peer of the network (Node only).
 *
 *   ao relay [--port 9090] [--ws-port 9091] [--host 127.0.0.1] [--store DIR] [--wallet JWK]
 *
 * A node with a libp2p host in relay mode: TCP and WebSockets listeners, a
 * circuit-relay v2 server (browsers reserve slots and reach each other
 * through it), identify, ping, gossipsub (it forwards the nodes topic, which
 * is how headless nodes and pages find each other), and Helia with bitswap
 * over a filesystem blockstore (DIR/blocks) when --store is given. Its peer
 * key is kept in DIR/peer-key, so a restarted relay keeps its peer ID and its
 * multiaddrs. Port 0 picks a free port.
 *
 * Standard output: the multiaddrs, one a line (each ends in /p2p/<peer ID>);
 * everything else goes to standard error. Runs until SIGINT or SIGTERM, then
 * stops the host and exits 0.
 */
import '../p2p/polyfill.ts'
import { mkdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { createNode } from '../node/node.ts'
import { FsStore } from '../store/fs.ts'
import { MemoryStore } from '../store/memory.ts'
import type { Store } from '../store/store.ts'
import { openFsBlocks } from '../snapshot/fs-blockstore.ts'
import { generateWallet } from '../crypto/wallet.ts'
import { createHost } from '../p2p/host.ts'
import { loadOrCreatePeerKey, PEER_KEY_FILE } from '../p2p/peer-key-fs.ts'
import { joinNetwork } from '../p2p/network.ts'
import type { Blockstore } from 'interface-blockstore'
import { CliUsage, parseArgs, walletFromFile } from './io.ts'

export const DEFAULT_RELAY_PORT = 9090
export const DEFAULT_RELAY_WS_PORT = 9091

export function portOption(v: string | true | undefined, name: string, dflt: number): number {
  const port = v === undefined ? dflt : Number(v)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliUsage(`--${name} must be 0..65535, got ${String(v)}`)
  return port
}

export async function relayCommand(args: string[]): Promise<number> {
  const { opts, rest } = parseArgs(args, ['port', 'ws-port', 'host', 'store', 'wallet'], [])
  if (rest.length > 0) throw new CliUsage(`ao relay takes no positional arguments (got ${rest.join(' ')})`)
  const tcpPort = portOption(opts['port'], 'port', DEFAULT_RELAY_PORT)
  const wsPort = portOption(opts['ws-port'], 'ws-port', DEFAULT_RELAY_WS_PORT)
  const host = typeof opts['host'] === 'string' ? opts['host'] : '127.0.0.1'
  const wallet = typeof opts['wallet'] === 'string' ? await walletFromFile(opts['wallet']) : await generateWallet()
  let store: Store = new MemoryStore()
  let blocks: Awaited<ReturnType<typeof openFsBlocks>> | undefined
  let privateKey
  if (typeof opts['store'] === 'string') {
    const dir = resolve(opts['store'])
    await mkdir(dir, { recursive: true })
    store = new FsStore(dir)
    blocks = await openFsBlocks(join(dir, 'blocks'))
    privateKey = await loadOrCreatePeerKey(join(dir, PEER_KEY_FILE))
  }
  const node = await createNode({ wallet, store, ...(blocks ? { blocks } : {}) })
  const h = await createHost({
    mode: 'relay', host, tcpPort, wsPort,
    ...(privateKey ? { privateKey } : {}),
    ...(blocks ? { blockstore: blocks.store as unknown as Blockstore } : {}),
  })
  const net = await joinNetwork(node, h)
  process.stdout.write(h.multiaddrs().join('\n') + '\n')
  process.stderr.write([
    `ao relay: peer ${h.peerId}`,
    `  node address: ${node.address}${opts['wallet'] ? '' : ' (a new wallet, not saved: --wallet FILE keeps an identity)'}`,
    `  peer key: ${privateKey ? join(resolve(opts['store'] as string), PEER_KEY_FILE) : 'new (not saved: --store DIR keeps the peer ID)'}`,
    `  blocks: ${blocks ? join(resolve(opts['store'] as string), 'blocks') : 'memory'}`,
  ].join('\n') + '\n')
  let stopping = false
  const stop = (): void => {
    if (stopping) return
    stopping = true
    void net.stop().then(() => blocks?.close()).then(() => process.exit(0), (e) => {
      process.stderr.write(`ao relay: stopping: ${(e as Error)?.message ?? String(e)}\n`)
      process.exit(1)
    })
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  return 0
}
