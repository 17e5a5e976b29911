/**
 * The SNP relay: a libp2p request/response protocol by which a peer without
 * SEV-SNP hardware (a browser) asks a peer that announced `snp` for a fresh
 * attestation over a challenge it chose, then verifies the answer itself,
 * offline, against AMD's roots (snp@1.0 verify, src/snp/evidence.ts).
 *
 *   /ao-tab/snp/1.0.0
 *   request   u32 BE length ‖ challenge (16..64 random bytes)
 *   response  u32 BE length ‖ UTF-8 typed JSON of the evidence message
 *             {local-hashes, nonce, address, node-message, report, certificate?, challenge},
 *             committed (signed) by the peer's wallet; or {"error": name, "message": text}
 *
 * The report's report_data is address ‖ SHA-256(node-message ID ‖ challenge):
 * fresh for this requester, bound to the wallet that signed the message and
 * to the configuration the peer runs. Nothing here trusts the peer: a wrong
 * answer fails verification (or is a typed SnpRelayFailed).
 */
import type { Libp2p, Stream } from '@libp2p/interface'
import { parseTypedJson, stringifyTyped } from '../core/typed-json.ts'
import { emptyMessage, isMessage, type Message } from '../core/value.ts'
import { fromUtf8, utf8 } from '../core/bytes.ts'
import { AoError, BadInput, SnpRelayFailed } from '../core/errors.ts'
import { commitMessage } from '../codecs/commitments.ts'
import { generateEvidence, verifyEvidence, type EvidenceVerification, type SnpHardware, type VerifyEvidenceOptions } from '../snp/evidence.ts'
import type { Wallet } from '../crypto/wallet.ts'
import { readFrames, sendFrame } from './frames.ts'
import { InvalidPayload, PayloadTooLarge } from './errors.ts'

export const SNP_RELAY_PROTOCOL = '/ao-tab/snp/1.0.0'
const MAX_REQUEST = 64
const MAX_RESPONSE = 256 * 1024 - 4

type Node = Pick<Libp2p, 'handle' | 'unhandle' | 'dialProtocol'>
/** A peer ID or its multiaddr(s), as libp2p dials them. */
export type SnpPeer = Parameters<Libp2p['dialProtocol']>[0]

/**
 * Read the one frame a side sends (src/p2p/frames.ts); any failure is
 * SnpRelayFailed: a frame over `max` bytes, a stream that ends inside it or
 * before it, a reset, or the deadline.
 */
async function readFrame(stream: Stream, max: number, signal?: AbortSignal): Promise<Uint8Array> {
  const onAbort = (): void => stream.abort(new SnpRelayFailed('the SNP relay timed out'))
  signal?.addEventListener('abort', onAbort, { once: true })
  try {
    for await (const f of readFrames(stream, max)) return f
  } catch (e) {
    if (signal?.aborted) throw new SnpRelayFailed('the SNP relay timed out')
    if (e instanceof PayloadTooLarge || e instanceof InvalidPayload) throw new SnpRelayFailed(`an SNP relay frame: ${e.message}`)
    // The peer reset the stream, the connection dropped.
    throw new SnpRelayFailed(`the SNP relay stream failed: ${(e as Error)?.message ?? String(e)}`)
  } finally {
    signal?.removeEventListener('abort', onAbort)
  }
  if (signal?.aborted) throw new SnpRelayFailed('the SNP relay timed out')
  throw new SnpRelayFailed('the SNP relay stream ended before a frame arrived')
}

/** What the hardware peer answers a challenge with: the signed snp@1.0 generate evidence. */
export type SnpAnswer = (challenge: Uint8Array) => Promise<Message>

/** The answer of a node with SEV-SNP hardware: snp@1.0 generate over the challenge, committed by its wallet. */
export function snpAnswer(o: { wallet: Wallet; node: Message; hardware: SnpHardware }): SnpAnswer {
  return async (challenge) => commitMessage(await generateEvidence({ address: o.wallet.address, node: o.node, hardware: o.hardware, challenge }), { wallet: o.wallet })
}

/** Serve the SNP relay protocol on a libp2p node. */
export async function handleSnpRelay(node: Node, answer: SnpAnswer): Promise<void> {
  await node.handle(SNP_RELAY_PROTOCOL, async (stream) => {
    let reply: Message
    try {
      const challenge = await readFrame(stream, MAX_REQUEST, AbortSignal.timeout(10_000))
      if (challenge.length < 16 || challenge.length > 64) throw new BadInput('a challenge is 16 to 64 bytes')
      reply = await answer(challenge)
    } catch (e) {
      reply = emptyMessage()
      reply['error'] = e instanceof AoError ? e.name : 'Error'
      reply['message'] = String((e as Error)?.message ?? e)
    }
    try {
      await sendFrame(stream, utf8(stringifyTyped(reply)))
      await stream.close()
    } catch (e) {
      stream.abort(e as Error)
    }
  })
}

export interface SnpRelayResult {
  challenge: Uint8Array
  evidence: Message
}

/** Ask a peer for fresh evidence over a challenge (random 32 bytes unless given). */
export async function requestSnpEvidence(node: Node, peer: SnpPeer, o: { challenge?: Uint8Array; timeoutMs?: number } = {}): Promise<SnpRelayResult> {
  const challenge = o.challenge ?? globalThis.crypto.getRandomValues(new Uint8Array(32))
  if (challenge.length < 16 || challenge.length > 64) throw new BadInput('a challenge is 16 to 64 bytes')
  const signal = AbortSignal.timeout(o.timeoutMs ?? 30_000)
  let stream: Stream
  try {
    stream = await node.dialProtocol(peer, SNP_RELAY_PROTOCOL, { signal })
  } catch (e) {
    throw new SnpRelayFailed(`cannot open ${SNP_RELAY_PROTOCOL} to the peer: ${(e as Error).message}`)
  }
  try {
    await sendFrame(stream, challenge, signal)
    const bytes = await readFrame(stream, MAX_RESPONSE, signal)
    let reply: ReturnType<typeof parseTypedJson>
    try { reply = parseTypedJson(fromUtf8(bytes)) } catch (e) { throw new SnpRelayFailed(`the peer's answer is not typed JSON: ${(e as Error).message}`) }
    if (!isMessage(reply)) throw new SnpRelayFailed('the peer\'s answer is not a message')
    if (reply['error'] !== undefined) throw new SnpRelayFailed(`the peer could not attest: ${String(reply['error'])}: ${String(reply['message'] ?? '')}`)
    return { challenge, evidence: reply }
  } finally {
    await stream.close().catch(() => stream.abort(new Error('closed')))
  }
}

/** Request fresh evidence from a peer and verify it here: the challenge binding, HyperBEAM's checks, AMD's chain. */
export async function attestPeer(node: Node, peer: SnpPeer, o: Omit<VerifyEvidenceOptions, 'challenge'> & { timeoutMs?: number; challenge?: Uint8Array } = {}): Promise<EvidenceVerification & { evidence: Message }> {
  const { challenge, evidence } = await requestSnpEvidence(node, peer, { ...(o.challenge ? { challenge: o.challenge } : {}), ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}) })
  const v = await verifyEvidence(evidence, { ...o, challenge })
  return { ...v, evidence }
}
