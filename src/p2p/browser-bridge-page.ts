/**
 * The page's half of the bridge (browser-bridge.ts): serves a BrowserHost to
 * the node in the worker. Browser-only (main thread).
 */
import { expose, transfer, wrap, type Remote } from 'comlink'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { GossipsubMessage, Message as PubsubMessage } from '@libp2p/gossipsub'
import type { Stream } from '@libp2p/interface'
import { scoreTopic, peerScore } from './score.ts'
import { toResult } from './verdict.ts'
import type { BrowserHost } from './browser-host.ts'
import type { HostSide, HostState, NodeSide, StreamFrame } from './browser-bridge.ts'
import { streamChunks } from './stream-chunks.ts'

/** Pipe a libp2p stream to a port (StreamFrame messages both ways). */
export function pipeStream(stream: Stream, port: MessagePort): void {
  let chain = Promise.resolve()
  const fail = (e: unknown): void => {
    const m = (e as Error)?.message ?? String(e)
    try { stream.abort(e instanceof Error ? e : new Error(m)) } catch { /* already gone */ }
    port.postMessage({ t: 'abort', m } satisfies StreamFrame)
  }
  port.onmessage = (e: MessageEvent<StreamFrame>) => {
    const f = e.data
    chain = chain.then(async () => {
      if (f.t === 'data') { if (!stream.send(f.d)) await stream.onDrain() }
      else if (f.t === 'close') await stream.close()
      else if (f.t === 'abort') stream.abort(new Error(f.m))
    }).catch(fail)
  }
  void (async () => {
    try {
      for await (const b of streamChunks(stream)) port.postMessage({ t: 'data', d: b } satisfies StreamFrame)
      port.postMessage({ t: 'end' } satisfies StreamFrame)
    } catch (e) {
      port.postMessage({ t: 'abort', m: (e as Error)?.message ?? String(e) } satisfies StreamFrame)
    }
  })()
}

export interface PageBridge {
  /** The ports to hand to the worker (transfer them). */
  readonly workerPorts: { hostPort: MessagePort; nodePort: MessagePort }
  close(): void
}

/** Serve `host` over two new channels; the worker gets `workerPorts`. */
export function bridgeHost(host: BrowserHost): PageBridge {
  const toHost = new MessageChannel() // worker calls HostSide
  const toNode = new MessageChannel() // page calls NodeSide
  const node: Remote<NodeSide> = wrap<NodeSide>(toNode.port1)
  const { libp2p, pubsub } = host

  let nextToken = 1
  const tokens = new WeakMap<PubsubMessage, number>()
  const validated = new Set<string>()

  const state = (): HostState => {
    const subscribers: Record<string, string[]> = {}
    const topics = pubsub.getTopics()
    for (const t of topics) subscribers[t] = pubsub.getSubscribers(t).map((p) => p.toString())
    const connections = host.connections().map((c) => ({ peer: c.peer, addr: c.addr, limited: c.limited }))
    const scores: Record<string, number> = {}
    for (const c of connections) scores[c.peer] = peerScore(pubsub, c.peer)
    return { peerId: host.peerId, multiaddrs: host.multiaddrs(), connections, subscribers, topics, scores }
  }
  let pushing: ReturnType<typeof setTimeout> | undefined
  const push = (): void => {
    if (pushing) return
    pushing = setTimeout(() => { pushing = undefined; void node.state(state()).catch(() => undefined) }, 20)
  }
  const pushNow = (): Promise<void> => node.state(state()).catch(() => undefined)

  const onMessage = (evt: CustomEvent<GossipsubMessage>): void => {
    const token = tokens.get(evt.detail.msg)
    if (token !== undefined) void node.deliver(token, evt.detail.propagationSource.toString()).catch(() => undefined)
  }
  const onSub = (evt: CustomEvent<{ peerId: { toString(): string }; subscriptions: Array<{ topic: string; subscribe: boolean }> }>): void => {
    const subs = evt.detail.subscriptions.map((s) => ({ topic: s.topic, subscribe: s.subscribe }))
    // The worker's mirror first, so its getSubscribers agrees with the event.
    void pushNow().then(() => node.subscriptionChange(evt.detail.peerId.toString(), subs)).catch(() => undefined)
  }
  pubsub.addEventListener('gossipsub:message', onMessage)
  pubsub.addEventListener('subscription-change', onSub as EventListener)
  const events = ['connection:open', 'connection:close', 'self:peer:update'] as const
  for (const e of events) libp2p.addEventListener(e, push)
  const timer = setInterval(push, 1_000)

  const side: HostSide = {
    state,
    subscribe(topic) { pubsub.subscribe(topic); push() },
    unsubscribe(topic) { pubsub.unsubscribe(topic); push() },
    validate(topic, on) {
      if (!on) { validated.delete(topic); pubsub.topicValidators.delete(topic); return }
      validated.add(topic)
      pubsub.topicValidators.set(topic, async (_peer, msg) => {
        const token = nextToken++
        tokens.set(msg, token)
        const v = await node.validate({
          token, topic: msg.topic, data: msg.data,
          ...(msg.type === 'signed' ? { from: msg.from.toString() } : {}),
        }).catch(() => 'ignore' as const)
        return toResult(v)
      })
    },
    scoreTopic(topic) { scoreTopic(pubsub, topic) },
    async publish(topic, data) {
      const r = await pubsub.publish(topic, data)
      return r.recipients.map((p) => p.toString())
    },
    async dial(addr) { await host.dial(addr) },
    async handle(protocol) {
      await libp2p.handle(protocol, (stream, connection) => {
        const ch = new MessageChannel()
        pipeStream(stream, ch.port1)
        void node.inbound(protocol, transfer(ch.port2, [ch.port2]), connection.remotePeer.toString()).catch((e: unknown) => stream.abort(e as Error))
      })
    },
    async unhandle(protocol) { await libp2p.unhandle(protocol) },
    async dialProtocol(peer, protocol, timeoutMs) {
      const target = peer.startsWith('/') ? multiaddr(peer) : peerIdFromString(peer)
      const stream = await libp2p.dialProtocol(target, protocol, { signal: AbortSignal.timeout(timeoutMs) })
      const ch = new MessageChannel()
      pipeStream(stream, ch.port1)
      return transfer(ch.port2, [ch.port2])
    },
    getBlock: (cid) => host.blocks.getBlock(cid),
    hasBlock: (cid) => host.blocks.has(cid),
    async stop() { await host.stop() },
  }
  expose(side, toHost.port1)

  return {
    workerPorts: { hostPort: toHost.port2, nodePort: toNode.port2 },
    close() {
      clearInterval(timer)
      if (pushing) clearTimeout(pushing)
      pubsub.removeEventListener('gossipsub:message', onMessage)
      pubsub.removeEventListener('subscription-change', onSub as EventListener)
      for (const e of events) libp2p.removeEventListener(e, push)
      for (const t of validated) pubsub.topicValidators.delete(t)
      toHost.port1.close()
      toNode.port1.close()
    },
  }
}
