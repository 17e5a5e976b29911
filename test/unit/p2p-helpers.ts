/** Shared pieces of the p2p tests: nodes with hosts on 127.0.0.1, waiting for conditions. */
import type { Store } from '../../src/store/store.ts'
import { MemoryBlockstore } from 'blockstore-core'
import { createNode, type AoNode } from '../../src/node/node.ts'
import { MemoryStore } from '../../src/store/memory.ts'
import { Blocks } from '../../src/snapshot/blocks.ts'
import { createHost, type Host, type HostOptions } from '../../src/p2p/host.ts'
import { joinNetwork, type Network, type NetworkOptions } from '../../src/p2p/network.ts'
import type { Wallet } from '../../src/crypto/wallet.ts'
import type { Message } from '../../src/core/value.ts'
import { messageToHttpParts, responseToMessage } from '../../src/devices/relay.ts'

/** Poll until `f` returns a truthy value (or throw after `ms`, saying what was awaited). */
export async function waitFor<T>(what: string, f: () => T | Promise<T>, ms = 20_000, every = 50): Promise<NonNullable<Awaited<T>>> {
  const end = Date.now() + ms
  let last: unknown
  for (;;) {
    try {
      const v = await f()
      if (v) return v as NonNullable<Awaited<T>>
    } catch (e) { last = e }
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`)
    await new Promise((r) => setTimeout(r, every))
  }
}

export interface TestPeer { node: AoNode; host: Host; net: Network; blocks: Blocks }

/** A node (memory store, memory blockstore) with a host on 127.0.0.1, joined through `bootstrap`. */
export async function peer(wallet: Wallet, o: { host?: HostOptions; net?: NetworkOptions; config?: Message; store?: Store } = {}): Promise<TestPeer> {
  const blockstore = new MemoryBlockstore()
  const blocks = new Blocks(blockstore)
  const node = await createNode({ wallet, store: o.store ?? new MemoryStore(), blocks, ...(o.config ? { config: o.config } : {}) })
  const host = await createHost({ wsPort: null, blockstore, ...o.host })
  const net = await joinNetwork(node, host, { announceIntervalMs: 3_000, ...o.net })
  return { node, host, net, blocks }
}

/** The TCP multiaddr of a host (Node peers dial TCP). */
export const tcpAddr = (h: Host): string => {
  const a = h.multiaddrs().find((m) => m.includes('/tcp/') && !m.includes('/ws'))
  if (!a) throw new Error('no TCP listen address')
  return a
}

/** A request to a node's HTTP handler (no socket): GET `path`, or POST `body` as a bundled httpsig message. */
export async function http(node: AoNode, path: string, body?: Message): Promise<{ status: number; msg: Message; text: string }> {
  const init: RequestInit = { headers: { 'accept-bundle': 'true' } }
  if (body) {
    const parts = messageToHttpParts(body, { bundle: true })
    Object.assign(init, { method: 'POST', headers: { ...parts.headers, 'accept-bundle': 'true' }, body: parts.body })
  }
  const r = await node.handle(new Request(`http://node${path}`, init))
  const bytes = new Uint8Array(await r.arrayBuffer())
  const headers: Array<[string, string]> = []
  r.headers.forEach((v, k) => headers.push([k, v]))
  return { status: r.status, msg: responseToMessage(r.status, headers, bytes), text: new TextDecoder().decode(bytes) }
}
