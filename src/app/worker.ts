/**
 * The node's module Web Worker. It starts an AO-Core node (createNode) with the
 * wallet kept in IndexedDB and its store in IndexedDB (IdbStore, database
 * `ao-tab-store`: messages, computed results, assignments survive a reload),
 * and serves it to the page over comlink
 * (src/app/client.ts): info, resolvePath, handle (HyperBEAM's HTTP API on
 * serialized requests), and the unsigned ID of a typed-JSON message.
 */
import { expose, transfer } from 'comlink'
import { unsignedId } from '../core/id.ts'
import { parseTypedJson, stringifyTyped } from '../core/typed-json.ts'
import { isMessage } from '../core/value.ts'
import { InvalidTypedJson } from '../core/errors.ts'
import type { Status } from '../core/device.ts'
import { createNode, type AoNode } from '../node/node.ts'
import { loadNodeWallet } from './wallet-db.ts'
import { IdbStore } from '../store/idb.ts'
import { MemoryStore } from '../store/memory.ts'
import type { Store } from '../store/store.ts'
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
}

export interface ResolveResult {
  status: Status
  /** The resulting value as typed JSON (README, "The typed-JSON message format"). */
  value: string
}

const describe = (e: unknown): string => (e instanceof Error ? `${e.name}: ${e.message}` : String(e))

const info: NodeInfo = { address: null, ready: false }

const started: Promise<AoNode> = (async () => {
  const { wallet, created } = await loadNodeWallet()
  info.address = wallet.address
  info.newWallet = created
  let store: Store
  try {
    store = await IdbStore.open()
  } catch (e) {
    // Still a working node, but say loudly that nothing it caches survives a reload.
    info.storeError = describe(e)
    store = new MemoryStore()
  }
  info.store = store.name
  const node = await createNode({ wallet, store })
  info.ready = true
  return node
})()
started.catch((e: unknown) => { info.error = describe(e) })

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

  /** The unsigned ID of a message written as typed JSON. Throws the core's typed errors. */
  unsignedId(text: string): string {
    const msg = parseTypedJson(text)
    if (!isMessage(msg)) throw new InvalidTypedJson('a message is a JSON object, e.g. {"a":"b"}')
    return unsignedId(msg)
  },
}

export type NodeWorkerApi = typeof api

expose(api)
