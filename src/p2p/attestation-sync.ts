/**
 * Attestations a node missed (it followed the process after they were
 * gossiped) fetched from a peer: a request/response stream protocol.
 * Browser-pure.
 *
 *   /ao-tab/attestations/1.0.0
 *   request    one frame: typed JSON {process, slot}
 *   response   frames, each one attestation as the peer received or made it
 *              (a committed message, typed JSON: payload.ts), at most
 *              MAX_ATTESTATIONS_PER_RESPONSE; then the peer closes the stream
 *   frames are u32 BE length ‖ bytes (frames.ts), each at most the payload limit.
 *
 * The requester checks each one as gossip does (commitments verify, committed
 * by its `node`, well-formed, for that process and slot) before keeping it.
 */
import type { Libp2p, Stream } from '@libp2p/interface'
import { binaryText, message, type Message } from '../core/value.ts'
import { utf8 } from '../core/bytes.ts'
import { stringifyTyped } from '../core/typed-json.ts'
import { decodePayload, encodePayload, MAX_PAYLOAD_BYTES } from './payload.ts'
import { readFrames, sendFrame } from './frames.ts'

export const ATTESTATIONS_PROTOCOL = '/ao-tab/attestations/1.0.0'
export const MAX_ATTESTATIONS_PER_RESPONSE = 256

type Node = Pick<Libp2p, 'handle' | 'unhandle' | 'dialProtocol'>
export type CatchupPeer = Parameters<Libp2p['dialProtocol']>[0]

/** Serve the attestations a node keeps for a slot. */
export async function handleAttestationRequests(node: Node, source: (pid: string, slot: bigint) => Message[] | Promise<Message[]>): Promise<void> {
  await node.handle(ATTESTATIONS_PROTOCOL, async (stream: Stream) => {
    const signal = AbortSignal.timeout(10_000)
    try {
      let req: Message | undefined
      for await (const f of readFrames(stream, 4096)) { req = decodePayload(f, 4096); break }
      const pid = req ? binaryText(req['process']) : undefined
      const slot = req?.['slot']
      if (pid !== undefined && typeof slot === 'bigint') {
        for (const a of (await source(pid, slot)).slice(0, MAX_ATTESTATIONS_PER_RESPONSE)) await sendFrame(stream, encodePayload(a), signal)
      }
    } catch { /* a bad request gets an empty answer */ }
    await stream.close().catch((e: Error) => stream.abort(e))
  })
}

/** Ask a peer for the attestations it keeps of a slot (unchecked: the caller checks each). */
export async function requestAttestations(node: Node, peer: CatchupPeer, pid: string, slot: bigint, timeoutMs = 5_000): Promise<Message[]> {
  const signal = AbortSignal.timeout(timeoutMs)
  const stream = await node.dialProtocol(peer, ATTESTATIONS_PROTOCOL, { signal })
  const onAbort = (): void => stream.abort(new Error('timed out'))
  signal.addEventListener('abort', onAbort, { once: true })
  const out: Message[] = []
  try {
    await sendFrame(stream, utf8(stringifyTyped(message({ process: pid, slot }))), signal)
    for await (const f of readFrames(stream, MAX_PAYLOAD_BYTES)) {
      out.push(decodePayload(f))
      if (out.length >= MAX_ATTESTATIONS_PER_RESPONSE) break
    }
  } finally {
    signal.removeEventListener('abort', onAbort)
    await stream.close().catch(() => stream.abort(new Error('closed')))
  }
  return out
}
