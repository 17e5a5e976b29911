/**
 * The worker's half of the bridge (browser-bridge.ts): a Host (host.ts's
 * shape) whose libp2p and gossipsub live on the page, so joinNetwork(node,
 * host) runs unchanged in the worker: announcements, gossip per process with
 * the node's validation, catch-up, the wiring. Browser-pure (no DOM).
 *
 * It implements the part of libp2p and gossipsub that src/p2p uses:
 *   pubsub   topicValidators (a Map whose set/delete route the topic's
 *            validation on the page to NodeSide.validate), subscribe,
 *            unsubscribe, getTopics, getSubscribers, publish, the
 *            'gossipsub:message' and 'subscription-change' events, scores
 *            (score.ts: params.topics, getScore)
 *   libp2p   getConnections, getMultiaddrs, handle, unhandle, dialProtocol
 *            (streams cross as MessagePorts)
 * Synchronous reads (connections, subscribers, scores, multiaddrs) come from a
 * mirror of HostState the page keeps pushing.
 */
import { expose, wrap, type Remote } from 'comlink'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { PeerId, StreamHandler } from '@libp2p/interface'
import { Blocks } from '../snapshot/blocks.ts'
import type { Host } from './host.ts'
import type { Verdict } from './verdict.ts'
import type { HostSide, HostState, NodeSide, StreamFrame, WireGossip } from './browser-bridge.ts'

/** How long a validated message waits for its delivery before it is forgotten. */
const PENDING_MS = 60_000

const peerIds = new Map<string, PeerId>()
const pid = (s: string): PeerId => {
  let p = peerIds.get(s)
  if (!p) {
    p = peerIdFromString(s)
    if (peerIds.size > 10_000) peerIds.clear()
    peerIds.set(s, p)
  }
  return p
}

/** A libp2p stream's surface (send, onDrain, close, abort, async iteration) over a port. */
export class PortStream {
  private readonly queue: Uint8Array[] = []
  private ended = false
  private error: Error | undefined
  private wake: (() => void) | undefined
  constructor(private readonly port: MessagePort) {
    port.onmessage = (e: MessageEvent<StreamFrame>) => {
      const f = e.data
      if (f.t === 'data') this.queue.push(f.d)
      else if (f.t === 'end') this.ended = true
      else if (f.t === 'abort') this.error ??= new Error(f.m)
      this.wake?.()
    }
  }
  send(d: Uint8Array | { subarray(): Uint8Array }): boolean {
    const b = d instanceof Uint8Array ? d : d.subarray()
    this.port.postMessage({ t: 'data', d: b.slice() } satisfies StreamFrame)
    return true
  }
  onDrain(): Promise<void> { return Promise.resolve() }
  async close(): Promise<void> { this.port.postMessage({ t: 'close' } satisfies StreamFrame) }
  abort(err: Error): void {
    this.port.postMessage({ t: 'abort', m: err?.message ?? 'aborted' } satisfies StreamFrame)
    this.error ??= err
    this.wake?.()
  }
  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    for (;;) {
      const next = this.queue.shift()
      if (next) { yield next; continue }
      if (this.error) throw this.error
      if (this.ended) return
      await new Promise<void>((r) => { this.wake = r })
      this.wake = undefined
    }
  }
}

type Validator = (peer: PeerId, msg: unknown) => unknown

class RemotePubSub extends EventTarget {
  readonly topicValidators: Map<string, Validator>
  readonly score: { params: { topics: Record<string, unknown> } }
  private readonly topics = new Set<string>()
  constructor(private readonly host: Remote<HostSide>, private readonly mirror: () => HostState) {
    super()
    const h = host
    this.topicValidators = new (class extends Map<string, Validator> {
      override set(k: string, v: Validator): this { super.set(k, v); void h.validate(k, true); return this }
      override delete(k: string): boolean { void h.validate(k, false); return super.delete(k) }
    })()
    const topics: Record<string, unknown> = {}
    this.score = {
      params: {
        topics: new Proxy(topics, {
          set(t, k, v) { t[k as string] = v; void h.scoreTopic(k as string); return true },
        }),
      },
    }
  }
  subscribe(topic: string): void { this.topics.add(topic); void this.host.subscribe(topic) }
  unsubscribe(topic: string): void { this.topics.delete(topic); void this.host.unsubscribe(topic) }
  getTopics(): string[] { return [...this.topics] }
  getSubscribers(topic: string): PeerId[] { return (this.mirror().subscribers[topic] ?? []).map(pid) }
  getScore(peer: string): number { return this.mirror().scores[peer] ?? 0 }
  async publish(topic: string, data: Uint8Array): Promise<{ recipients: PeerId[] }> {
    return { recipients: (await this.host.publish(topic, data)).map(pid) }
  }
}

export interface WorkerHost extends Host {
  /** The host's state as last pushed by the page. */
  state(): HostState
}

/** The host across the bridge; the page's ports from bridgeHost (browser-bridge-page.ts). */
export interface RemoteHostOptions {
  /** Called when the host's multiaddrs change (a relay reservation made or lost): re-announce. */
  onMultiaddrs?: (multiaddrs: string[]) => void
}

export async function remoteHost(hostPort: MessagePort, nodePort: MessagePort, o: RemoteHostOptions = {}): Promise<WorkerHost> {
  const host = wrap<HostSide>(hostPort)
  let mirror: HostState = await host.state()
  const pubsub = new RemotePubSub(host, () => mirror)
  const pending = new Map<number, { msg: object; at: number }>()
  const handlers = new Map<string, StreamHandler>()

  const side: NodeSide = {
    async validate(w: WireGossip): Promise<Verdict> {
      const msg = w.from !== undefined
        ? { type: 'signed', from: pid(w.from), topic: w.topic, data: w.data }
        : { type: 'unsigned', topic: w.topic, data: w.data }
      const f = pubsub.topicValidators.get(w.topic)
      if (!f) return 'ignore'
      pending.set(w.token, { msg, at: Date.now() })
      let v: Verdict
      try { v = (await f(pid(w.from ?? mirror.peerId), msg)) as Verdict } catch { v = 'ignore' }
      if (v !== 'accept') pending.delete(w.token)
      return v
    },
    deliver(token, source) {
      const p = pending.get(token)
      if (!p) return
      pending.delete(token)
      pubsub.dispatchEvent(new CustomEvent('gossipsub:message', { detail: { msg: p.msg, propagationSource: pid(source), msgId: '' } }))
    },
    subscriptionChange(peer, subscriptions) {
      pubsub.dispatchEvent(new CustomEvent('subscription-change', { detail: { peerId: pid(peer), subscriptions } }))
    },
    state(s) {
      const before = mirror.multiaddrs.join(' ')
      mirror = s
      if (s.multiaddrs.join(' ') !== before) o.onMultiaddrs?.(s.multiaddrs)
    },
    inbound(protocol, port, remotePeer) {
      const h = handlers.get(protocol)
      const stream = new PortStream(port)
      if (!h) { stream.abort(new Error(`no handler for ${protocol}`)); return }
      void Promise.resolve(h(stream as never, { remotePeer: pid(remotePeer) } as never)).catch(() => undefined)
    },
  }
  expose(side, nodePort)
  const sweep = setInterval(() => {
    const old = Date.now() - PENDING_MS
    for (const [t, p] of pending) if (p.at < old) pending.delete(t)
  }, PENDING_MS)

  const libp2p = {
    get peerId() { return pid(mirror.peerId) },
    getConnections: () => mirror.connections.map((c) => ({
      remotePeer: pid(c.peer), remoteAddr: multiaddr(c.addr), limits: c.limited ? {} : undefined, status: 'open',
    })),
    getMultiaddrs: () => mirror.multiaddrs.map((a) => multiaddr(a)),
    async handle(protocol: string, handler: StreamHandler) { handlers.set(protocol, handler); await host.handle(protocol) },
    async unhandle(protocol: string) { handlers.delete(protocol); await host.unhandle(protocol) },
    async dialProtocol(peer: { toString(): string } | Array<{ toString(): string }>, protocol: string, o: { signal?: AbortSignal } = {}) {
      const target = Array.isArray(peer) ? peer[0]!.toString() : peer.toString()
      o.signal?.throwIfAborted()
      return new PortStream(await host.dialProtocol(target, protocol, 30_000))
    },
  }
  const blocks = new Blocks({
    get: (cid) => host.getBlock(cid.toString()),
    has: (cid) => host.hasBlock(cid.toString()),
    put: () => { throw new Error('blocks are written by the node to its own blockstore, which the page shares') },
  })
  let stopped = false
  return {
    libp2p: libp2p as unknown as Host['libp2p'],
    helia: undefined as unknown as Host['helia'], // Helia lives on the page: use `blocks`
    pubsub: pubsub as unknown as Host['pubsub'],
    peerId: mirror.peerId,
    mode: 'node',
    multiaddrs: () => mirror.multiaddrs,
    blocks,
    state: () => mirror,
    async dial(addr) { await host.dial(addr) },
    async stop() {
      if (stopped) return
      stopped = true
      clearInterval(sweep)
      await host.stop().catch(() => undefined)
      hostPort.close()
      nodePort.close()
    },
  }
}
