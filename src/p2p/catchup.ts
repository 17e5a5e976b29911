/**
 * Catch-up: a request/response stream protocol by which a peer that was
 * offline or joined late fetches a process's assignments from a peer that
 * holds them. Browser-pure (it needs a libp2p node and a Store).
 *
 *   /ao-tab/assignments/1.0.0
 *   request    one frame: typed JSON {process, from, to?} (to omitted: as far as the peer has)
 *   response   frames, each 1 kind byte ‖ UTF-8 typed JSON:
 *                0x01 an assignment (committed, its `body` the assigned message), slots ascending from `from`
 *                0x00 the end: {count, more} — more=true when the answer stopped at the per-response
 *                     bound (MAX_ASSIGNMENTS_PER_RESPONSE, or the byte budget) before `to`
 *                0x02 an error: {error, message}
 *   frames are u32 BE length ‖ bytes (frames.ts), each at most the payload limit.
 *
 * The requester checks each assignment before it is stored: commitments
 * verify (signed); `process` is the one asked for; slots are consecutive
 * from `from`; `hash-chain` continues the previous one (sha256(prev ‖ signed
 * ID of the body), scheduler@1.0's rule, from the stored assignment before
 * `from` when there is one); then the node's validateAssignment. The first
 * one that fails ends the catch-up with CatchupFailed; the ones before it
 * are kept.
 */
import type { Libp2p, Stream } from '@libp2p/interface'
import { binaryText, isMessage, message, type Message } from '../core/value.ts'
import { messageId } from '../core/id.ts'
import { fromB64, fromUtf8, toB64Url, utf8 } from '../core/bytes.ts'
import { verifyMessage } from '../codecs/commitments.ts'
import { parseTypedJson, stringifyTyped } from '../core/typed-json.ts'
import { AoError, BadInput } from '../core/errors.ts'
import type { Store } from '../store/store.ts'
import { assignmentPath, nextHashChain, readAssignment } from '../devices/scheduler.ts'
import { decodePayload, MAX_PAYLOAD_BYTES } from './payload.ts'
import { readFrames, sendFrame } from './frames.ts'
import { CatchupFailed } from './errors.ts'
import type { AssignmentValidator } from './gossip.ts'

export const CATCHUP_PROTOCOL = '/ao-tab/assignments/1.0.0'
export const MAX_ASSIGNMENTS_PER_RESPONSE = 100
/** The bytes of assignments one response carries at most (the last one may cross it). */
export const MAX_RESPONSE_BYTES = 8 << 20

const KIND_END = 0
const KIND_ASSIGNMENT = 1
const KIND_ERROR = 2

type Node = Pick<Libp2p, 'handle' | 'unhandle' | 'dialProtocol'>
export type CatchupPeer = Parameters<Libp2p['dialProtocol']>[0]

/** Where the serving side reads assignments: up to `limit` consecutive ones from `from` to `to` (inclusive). */
export type AssignmentSource = (pid: string, from: bigint, to: bigint | undefined, limit: number) => Promise<Message[]>

/** Assignments as scheduler@1.0 stores them (assignments/<pid>/<slot>, the body embedded). */
export function storeSource(store: Store): AssignmentSource {
  return async (pid, from, to, limit) => {
    const out: Message[] = []
    for (let s = from; (to === undefined || s <= to) && out.length < limit; s++) {
      const a = await readAssignment(store, pid, s)
      if (!a) break
      out.push(a)
    }
    return out
  }
}

const typed = (kind: number, m: Message): Uint8Array => {
  const body = utf8(stringifyTyped(m))
  const out = new Uint8Array(1 + body.length)
  out[0] = kind
  out.set(body, 1)
  return out
}

export interface CatchupServerOptions {
  maxPerResponse?: number
  maxFrameBytes?: number
}

/** Serve the catch-up protocol from a source of assignments. */
export async function handleCatchup(node: Node, source: AssignmentSource, o: CatchupServerOptions = {}): Promise<void> {
  const perResponse = o.maxPerResponse ?? MAX_ASSIGNMENTS_PER_RESPONSE
  const maxFrame = o.maxFrameBytes ?? MAX_PAYLOAD_BYTES
  await node.handle(CATCHUP_PROTOCOL, async (stream) => {
    const signal = AbortSignal.timeout(30_000)
    // A peer that opens the stream and sends nothing is cut off.
    const idle = setTimeout(() => stream.abort(new CatchupFailed('no catch-up request within 10 s')), 10_000)
    try {
      let req: Message | undefined
      try {
        for await (const f of readFrames(stream, 4096)) { req = decodePayload(f, 4096); break }
      } finally {
        clearTimeout(idle)
      }
      if (!req) throw new BadInput('no request')
      const pid = binaryText(req['process'])
      const from = req['from']
      const to = req['to']
      if (pid === undefined || typeof from !== 'bigint' || from < 0n || (to !== undefined && (typeof to !== 'bigint' || to < from))) {
        throw new BadInput('a catch-up request is {process, from ≥ 0, to ≥ from (optional)}')
      }
      const list = await source(pid, from, to as bigint | undefined, perResponse + 1)
      let count = 0
      let bytes = 0
      for (const a of list.slice(0, perResponse)) {
        const f = typed(KIND_ASSIGNMENT, a)
        if (f.length > maxFrame) break
        if (count > 0 && bytes + f.length > MAX_RESPONSE_BYTES) break
        await sendFrame(stream, f, signal)
        count++
        bytes += f.length
      }
      const last = from + BigInt(count) - 1n
      const more = count < list.length && (to === undefined || last < (to as bigint))
      await sendFrame(stream, typed(KIND_END, message({ count: BigInt(count), more })), signal)
    } catch (e) {
      const err = message({ error: e instanceof AoError ? e.name : 'Error', message: String((e as Error)?.message ?? e) })
      await sendFrame(stream, typed(KIND_ERROR, err), signal).catch(() => undefined)
    }
    await stream.close().catch((e: Error) => stream.abort(e))
  })
}

export interface CatchupRequestOptions {
  timeoutMs?: number
  maxFrameBytes?: number
  /** The node's check of each assignment (after commitments, process, slot and chain); default accept. */
  validate?: AssignmentValidator
  /** The hash-chain (raw) of the assignment before `from`, to check the first one against; unknown: not checked. */
  prevChain?: Uint8Array
  /** Called with each assignment once it is checked, before the next one is read. */
  onAssignment?: (assignment: Message) => Promise<void>
}

export interface CatchupPage {
  /** The checked assignments, slots ascending from `from`. */
  assignments: Message[]
  /** The peer has more before `to` (ask again from the next slot). */
  more: boolean
  /** The hash-chain (raw) of the last assignment. */
  chain: Uint8Array | undefined
}

/** Ask a peer for one page of assignments and check each one. */
export async function requestAssignments(node: Node, peer: CatchupPeer, q: { process: string; from: bigint; to?: bigint }, o: CatchupRequestOptions = {}): Promise<CatchupPage> {
  const signal = AbortSignal.timeout(o.timeoutMs ?? 30_000)
  const maxFrame = (o.maxFrameBytes ?? MAX_PAYLOAD_BYTES) + 1
  let stream: Stream
  try {
    stream = await node.dialProtocol(peer, CATCHUP_PROTOCOL, { signal })
  } catch (e) {
    throw new CatchupFailed(`cannot open ${CATCHUP_PROTOCOL} to the peer: ${(e as Error).message}`)
  }
  const onAbort = (): void => stream.abort(new CatchupFailed('the catch-up timed out'))
  signal.addEventListener('abort', onAbort, { once: true })
  const out: Message[] = []
  let chain = o.prevChain
  try {
    const req = message({ process: q.process, from: q.from })
    if (q.to !== undefined) req['to'] = q.to
    await sendFrame(stream, utf8(stringifyTyped(req)), signal)
    for await (const f of readFrames(stream, maxFrame)) {
      const kind = f[0]
      let m: Message
      try {
        const v = parseTypedJson(fromUtf8(f.subarray(1)))
        if (!isMessage(v)) throw new Error('not a message')
        m = kind === KIND_ASSIGNMENT ? decodePayload(f.subarray(1), maxFrame) : v
      } catch (e) {
        throw new CatchupFailed(`the peer sent a frame that is not a message: ${(e as Error).message}`)
      }
      if (kind === KIND_ERROR) throw new CatchupFailed(`the peer could not answer: ${String(m['error'])}: ${String(m['message'] ?? '')}`)
      if (kind === KIND_END) {
        if (m['count'] !== BigInt(out.length)) throw new CatchupFailed(`the peer said ${String(m['count'])} assignments and sent ${out.length}`)
        return { assignments: out, more: m['more'] === true, chain }
      }
      if (kind !== KIND_ASSIGNMENT) throw new CatchupFailed(`unknown frame kind ${kind}`)
      const slot = q.from + BigInt(out.length)
      if (q.to !== undefined && slot > q.to) throw new CatchupFailed(`the peer sent slots past ${q.to}`)
      chain = await checkAssignment(q.process, slot, m, chain, o.validate)
      out.push(m)
      await o.onAssignment?.(m)
    }
    throw new CatchupFailed('the peer closed the stream before the end of its answer')
  } catch (e) {
    if (e instanceof CatchupFailed) throw e
    throw new CatchupFailed(signal.aborted ? 'the catch-up timed out' : `catch-up: ${(e as Error)?.message ?? String(e)}`)
  } finally {
    signal.removeEventListener('abort', onAbort)
    await stream.close().catch(() => stream.abort(new Error('closed')))
  }
}

/** One assignment's checks; returns its hash-chain (raw). */
async function checkAssignment(pid: string, slot: bigint, a: Message, prev: Uint8Array | undefined, validate?: AssignmentValidator): Promise<Uint8Array> {
  const v = await verifyMessage(a).catch(() => ({ verified: false, committers: [] as string[] }))
  if (!v.verified || v.committers.length === 0) throw new CatchupFailed(`assignment ${slot}: its commitments do not verify`)
  if (binaryText(a['process']) !== pid) throw new CatchupFailed(`assignment ${slot}: it is for another process`)
  if (a['slot'] !== slot) throw new CatchupFailed(`assignment ${slot}: it says slot ${String(a['slot'])}`)
  const hc = binaryText(a['hash-chain'])
  if (hc === undefined) throw new CatchupFailed(`assignment ${slot}: no hash-chain`)
  let chain: Uint8Array
  try { chain = fromB64(hc) } catch { throw new CatchupFailed(`assignment ${slot}: the hash-chain is not base64`) }
  const body = a['body']
  if (prev !== undefined && isMessage(body) && toB64Url(nextHashChain(prev, body)) !== toB64Url(chain)) {
    throw new CatchupFailed(`assignment ${slot}: the hash-chain does not continue the previous one`)
  }
  if (validate) {
    const verdict = await validate(pid, a, isMessage(body) ? body : undefined)
    if (verdict === 'reject') throw new CatchupFailed(`assignment ${slot}: refused by the node`)
  }
  return chain
}

/** Store an assignment as scheduler@1.0 does: the message and the assignment by signed ID, the slot linked. */
export async function storeAssignment(store: Store, pid: string, a: Message): Promise<void> {
  const body = a['body']
  if (isMessage(body)) await store.write(messageId(body, 'signed'), body)
  const id = messageId(a, 'signed')
  await store.write(id, a)
  await store.link(assignmentPath(pid, a['slot'] as bigint), id)
}

export interface CatchUpOptions extends Omit<CatchupRequestOptions, 'prevChain' | 'onAssignment'> {
  from?: bigint
  to?: bigint
  /** Where checked assignments go (default: storeAssignment into `store`). */
  sink?: (pid: string, assignment: Message) => Promise<void>
  store?: Store
}

/**
 * Fetch a process's assignments from a peer, page by page, checking and
 * storing each, until `to` or the peer's last one. Default `from`: the slot
 * after the consecutive ones already in `store`.
 */
export async function catchUp(node: Node, peer: CatchupPeer, pid: string, o: CatchUpOptions = {}): Promise<CatchUpResult> {
  const store = o.store
  const sink = o.sink ?? (store ? (p: string, a: Message) => storeAssignment(store, p, a) : undefined)
  if (!sink) throw new BadInput('catchUp needs a store or a sink')
  let from = o.from ?? (store ? await nextSlot(store, pid) : 0n)
  let prevChain: Uint8Array | undefined = from === 0n ? new Uint8Array(0) : undefined
  if (from > 0n && store) {
    const prev = await readAssignment(store, pid, from - 1n)
    const hc = prev ? binaryText(prev['hash-chain']) : undefined
    if (hc !== undefined) prevChain = fromB64(hc)
  }
  let stored = 0
  let pages = 0
  let last: bigint | undefined
  for (;;) {
    if (o.to !== undefined && from > o.to) break
    const onAssignment = async (a: Message): Promise<void> => {
      await sink(pid, a)
      stored++
      last = a['slot'] as bigint
    }
    const page = await requestAssignments(node, peer, { process: pid, from, ...(o.to !== undefined ? { to: o.to } : {}) }, { ...o, onAssignment, ...(prevChain ? { prevChain } : {}) })
    pages++
    if (!page.more || page.assignments.length === 0) break
    from += BigInt(page.assignments.length)
    prevChain = page.chain
  }
  return { stored, last, pages }
}

export interface CatchUpResult {
  stored: number
  /** The last slot stored. */
  last: bigint | undefined
  /** Requests made (responses are bounded). */
  pages: number
}

/** The slot after the highest consecutive one stored from 0. */
async function nextSlot(store: Store, pid: string): Promise<bigint> {
  const slots = new Set((await store.list(`assignments/${pid}`)).filter((s) => /^\d+$/.test(s)))
  let n = 0n
  while (slots.has(String(n))) n++
  return n
}
