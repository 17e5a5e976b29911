/**
 * The bridge between a page's libp2p host (main thread: WebRTC exists only
 * there) and the node in its worker (DESIGN.md, "In the browser"). Two
 * comlink channels over MessagePorts, one per direction:
 *
 *   worker → page   HostSide: what the node asks of the host (subscribe,
 *                   validate a topic here, publish, dial, open a stream, serve
 *                   a protocol, fetch a block)
 *   page → worker   NodeSide: what the host tells the node (judge this gossip
 *                   message, it was delivered, a peer's subscriptions changed,
 *                   the host's state, an inbound stream)
 *
 * Gossip validation stays the node's: the page's topic validator for a topic
 * the node validates sends the message to NodeSide.validate, and gossipsub
 * forwards only what the worker accepted. Streams cross as a MessagePort
 * each (StreamFrame messages), so catch-up runs in the worker over the
 * page's connections.
 */
import type { Verdict } from './verdict.ts'

/** A gossip message as it crosses to the worker (`token` ties its delivery to its validation). */
export interface WireGossip {
  token: number
  topic: string
  data: Uint8Array
  /** The signed publisher (StrictSign), absent for unsigned messages. */
  from?: string
}

export interface WireConnection {
  peer: string
  addr: string
  /** A relayed (circuit) connection with limits. */
  limited: boolean
}

/** What the worker mirrors of the host for its synchronous reads. */
export interface HostState {
  peerId: string
  multiaddrs: string[]
  connections: WireConnection[]
  /** Subscribers per topic the host is subscribed to. */
  subscribers: Record<string, string[]>
  topics: string[]
  /** Peer scores (gossipsub) of connected peers. */
  scores: Record<string, number>
}

/** Implemented by the page (browser-bridge-page.ts), called by the worker. */
export interface HostSide {
  state(): HostState
  subscribe(topic: string): void
  unsubscribe(topic: string): void
  /** Route this topic's validation to NodeSide.validate (on) or not (off). */
  validate(topic: string, on: boolean): void
  /** Score this topic (score.ts parameters). */
  scoreTopic(topic: string): void
  /** Publish; the peers it was sent to. */
  publish(topic: string, data: Uint8Array): Promise<string[]>
  dial(addr: string): Promise<void>
  /** Inbound streams of `protocol` go to NodeSide.inbound. */
  handle(protocol: string): Promise<void>
  unhandle(protocol: string): Promise<void>
  /** Open a stream to a peer (peer ID or multiaddr); its port (StreamFrame messages). */
  dialProtocol(peer: string, protocol: string, timeoutMs: number): Promise<MessagePort>
  /** A block by CID string, fetched from peers when missing (kept in the shared blockstore). */
  getBlock(cid: string): Promise<Uint8Array>
  hasBlock(cid: string): Promise<boolean>
  stop(): Promise<void>
}

/** Implemented by the worker (browser-bridge-worker.ts), called by the page. */
export interface NodeSide {
  validate(msg: WireGossip): Promise<Verdict>
  deliver(token: number, propagationSource: string): void
  subscriptionChange(peer: string, subscriptions: Array<{ topic: string; subscribe: boolean }>): void
  state(s: HostState): void
  inbound(protocol: string, port: MessagePort, remotePeer: string): void
}

/** What crosses a stream's port, both ways. */
export type StreamFrame =
  | { t: 'data'; d: Uint8Array }
  | { t: 'close' } // the sender is done writing (worker → page: close the stream)
  | { t: 'end' } // page → worker: the remote closed its side
  | { t: 'abort'; m: string }
