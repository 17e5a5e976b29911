/**
 * Starting a process from a peer's snapshot instead of slot 0 (issue 5: "a
 * page opened late starts from a snapshot fetched by CID"). Browser-pure; a
 * protocol of ours, served by every node that joins a network (Node and
 * pages; src/p2p/network.ts) and used through p2p@1.0 `from-snapshot`:
 *
 *   /ao-tab/snapshots/1.0.0   request: one frame {process}
 *                             response: one frame, typed JSON
 *                               {slot, result, attestations: [...]}  or  {error}
 *
 * `result` is the server's stored result of its newest slot with a snapshot
 * (computed/<pid>/slot/<S> as process@1.0 writes it: the state, its
 * priv/hashpath, and `snapshot`, the message naming the snapshot's CID);
 * `attestations` are the committed attestations of slot S the server holds.
 *
 * The requester trusts the offer only when at least `quorum` distinct wallets
 * attest slot S with the offered state's result ID and hashpath (each
 * attestation's commitments verified, committed by its `node`). It then
 * fetches the snapshot by CID (bitswap through the page's Helia; every block
 * checked against its CID), stores the result as its own slot S, catches up
 * the assignments (without computing) and follows the process: process@1.0
 * then restores slot S's snapshot and computes only the slots after it.
 * Their hashpaths are attested like any others, so a snapshot that does not
 * reproduce the network's state shows up as a disagreement.
 */
import type { Libp2p } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { binaryText, isMessage, message, type Message } from '../core/value.ts'
import { messageId } from '../core/id.ts'
import { fromUtf8, utf8 } from '../core/bytes.ts'
import { parseTypedJson, stringifyTyped } from '../core/typed-json.ts'
import { verifyMessage } from '../codecs/commitments.ts'
import type { Store } from '../store/store.ts'
import { flushResults, latestResult, queueResult } from '../devices/process-cache.ts'
import { getSnapshot, isSnapshotMessage, snapshotCid } from '../snapshot/snapshot.ts'
import type { Blocks } from '../snapshot/blocks.ts'
import { readAttestation } from './attestations.ts'
import { readFrames, sendFrame } from './frames.ts'
import { CatchupFailed } from './errors.ts'
import type { Network } from './network.ts'

export const SNAPSHOT_PROTOCOL = '/ao-tab/snapshots/1.0.0'
const MAX_FRAME = 4 << 20
/** How long a peer has to send its whole offer (and, apart, to answer the dial). */
const OFFER_TIMEOUT_MS = 15_000

type Node = Pick<Libp2p, 'handle' | 'unhandle' | 'dialProtocol'>

const encode = (m: Message): Uint8Array => utf8(stringifyTyped(m))
function decode(b: Uint8Array): Message {
  let v
  try {
    v = parseTypedJson(fromUtf8(b))
  } catch (e) {
    throw new CatchupFailed(`a snapshot offer frame is not typed JSON: ${(e as Error).message}`)
  }
  if (!isMessage(v)) throw new CatchupFailed('a snapshot offer frame is not a message')
  return v
}

/** The state a stored result stands for: without `snapshot` (the attested result ID is of that). */
function stateOf(stored: Message): Message {
  const out = { ...stored }
  delete out['snapshot']
  return message(out)
}

const hashpathOf = (m: Message): string | undefined => {
  const priv = m['priv']
  return isMessage(priv) ? binaryText(priv['hashpath']) : undefined
}

/** Serve offers from the node's store and its attestations (the network's wiring table). */
export async function serveSnapshotOffers(node: Node, store: Store, wiring: () => Pick<NonNullable<Network['wiring']>, 'attestations'> | undefined): Promise<void> {
  await node.handle(SNAPSHOT_PROTOCOL, async (stream) => {
    let reply: Message
    try {
      let req: Message | undefined
      for await (const f of readFrames(stream, 4096)) { req = decode(f); break }
      const pid = req ? binaryText(req['process']) : undefined
      if (pid === undefined) throw new Error('a snapshot request is {process}')
      const found = await latestResult(store, pid, { snapshot: true })
      if (!found || !isSnapshotMessage(found.msg['snapshot'])) throw new Error(`no snapshot of ${pid} here`)
      const atts = (wiring()?.attestations(pid, found.slot) ?? []).map((e) => e.message).filter((m): m is Message => m !== undefined)
      reply = message({ slot: found.slot, result: found.msg, attestations: atts })
    } catch (e) {
      reply = message({ error: (e as Error)?.message ?? String(e) })
    }
    await sendFrame(stream, encode(reply)).catch(() => undefined)
    await stream.close().catch((e: Error) => stream.abort(e))
  })
}

export interface SnapshotOffer {
  slot: bigint
  result: Message
  cid: string
  /** The wallets whose attestations back it. */
  attesters: string[]
}

/** Ask one peer for its newest snapshot of `pid` and check it against the attestations it brings. */
export async function requestSnapshotOffer(node: Node, peer: Parameters<Libp2p['dialProtocol']>[0], pid: string, quorum: number, o: { timeoutMs?: number } = {}): Promise<SnapshotOffer> {
  const ms = o.timeoutMs ?? OFFER_TIMEOUT_MS
  // One deadline for the dial and the whole offer: a peer that stops answering, or sends half a
  // frame and waits, is given up (as a catch-up is, src/p2p/catchup.ts).
  const signal = AbortSignal.timeout(ms)
  let stream: Awaited<ReturnType<Node['dialProtocol']>>
  try {
    stream = await node.dialProtocol(peer, SNAPSHOT_PROTOCOL, { signal })
  } catch (e) {
    throw new CatchupFailed(signal.aborted ? `no answer to the snapshot offer dial within ${ms} ms` : `cannot open ${SNAPSHOT_PROTOCOL} to the peer: ${(e as Error).message}`)
  }
  const onAbort = (): void => stream.abort(new CatchupFailed(`no whole snapshot offer within ${ms} ms`))
  signal.addEventListener('abort', onAbort, { once: true })
  let reply: Message | undefined
  try {
    await sendFrame(stream, encode(message({ process: pid })), signal)
    for await (const f of readFrames(stream, MAX_FRAME)) { reply = decode(f); break }
  } catch (e) {
    stream.abort(e as Error)
    if (e instanceof CatchupFailed) throw e
    if (signal.aborted) throw new CatchupFailed(`no whole snapshot offer within ${ms} ms`)
    // A frame over the limit, a stream cut inside a frame: the peer's offer is unusable.
    throw new CatchupFailed(`a malformed snapshot offer stream: ${(e as Error).message}`)
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
  await stream.close().catch(() => stream.abort(new Error('closed')))
  if (!reply) throw new CatchupFailed('the peer closed the stream without an offer')
  if (reply['error'] !== undefined) throw new CatchupFailed(`no offer: ${binaryText(reply['error']) ?? 'error'}`)
  const slot = reply['slot']
  const result = reply['result']
  if (typeof slot !== 'bigint' || !isMessage(result) || !isSnapshotMessage(result['snapshot'])) throw new CatchupFailed('a malformed snapshot offer')
  if (result['at-slot'] !== undefined && result['at-slot'] !== slot) throw new CatchupFailed(`the offered state is at slot ${String(result['at-slot'])}, not ${slot}`)
  const resultId = messageId(stateOf(result))
  const hashpath = hashpathOf(result)
  const list = reply['attestations']
  const items = Array.isArray(list) ? list : isMessage(list) ? Object.values(list) : []
  const attesters = new Set<string>()
  for (const a of items) {
    if (!isMessage(a)) continue
    try {
      const f = readAttestation(a)
      if (f.process !== pid || f.slot !== slot || f.result !== resultId || f.hashpath !== hashpath) continue
      const v = await verifyMessage(a)
      if (v.verified && v.committers.includes(f.node)) attesters.add(f.node)
    } catch { /* not an attestation that counts */ }
  }
  if (attesters.size < quorum) throw new CatchupFailed(`the snapshot of slot ${slot} is backed by ${attesters.size} attesting wallets, fewer than ${quorum}`)
  return { slot, result, cid: snapshotCid(result['snapshot'] as Message).toString(), attesters: [...attesters] }
}

export interface SnapshotStart extends SnapshotOffer {
  /** The peer that offered it. */
  peer: string
  /** Assignments caught up. */
  caughtUp: number
  ms: { offer: number; blocks: number; catchUp: number }
}

/**
 * Start following `pid` from a peer's snapshot: the first connected peer whose
 * offer is backed by `quorum` wallets; its snapshot fetched by CID through
 * `blocks` (the host's: bitswap, written to the shared blockstore); the
 * result stored as slot S; the assignments caught up; then followed.
 */
export async function startFromSnapshot(net: Network, store: Store, blocks: Blocks, pid: string, o: { quorum?: number } = {}): Promise<SnapshotStart> {
  const quorum = o.quorum ?? 2
  const t0 = Date.now()
  let offer: SnapshotOffer | undefined
  let from: string | undefined
  const errors: string[] = []
  for (const peer of net.peers()) {
    try {
      offer = await requestSnapshotOffer(net.host.libp2p, peerIdFromString(peer), pid, quorum)
      from = peer
      break
    } catch (e) { errors.push(`${peer.slice(-6)}: ${(e as Error).message}`) }
  }
  if (!offer || !from) throw new CatchupFailed(`no peer offered a snapshot of ${pid} backed by ${quorum} wallets (${errors.join('; ')})`)
  const t1 = Date.now()
  await getSnapshot(blocks, offer.result['snapshot'] as Message) // fetched by CID and verified; now in the blockstore
  const t2 = Date.now()
  await queueResult(store, pid, offer.slot, messageId(stateOf(offer.result)), offer.result)
  await flushResults(store)
  const c = await net.catchUp(from, pid)
  const t3 = Date.now()
  net.wiring?.follow(pid)
  return { ...offer, peer: from, caughtUp: c.stored, ms: { offer: t1 - t0, blocks: t2 - t1, catchUp: t3 - t2 } }
}
