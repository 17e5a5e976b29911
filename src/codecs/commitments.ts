/**
 * Committing to and verifying structured messages, whatever their commitment
 * device. A commitment covers the message's TABM form, so the structured
 * message keeps its values and gains a `commitments` key.
 */
import { binaryText } from '../core/value.ts'
import { emptyMessage, isMessage, type Message, type Value } from '../core/value.ts'
import { toTabm } from './structured.ts'
import { commitHmac, commitSigned, commitmentsOf, verifyCommitment, HTTPSIG } from './httpsig/commitment.ts'
import type { Tabm } from './tabm.ts'
import type { Wallet } from '../crypto/wallet.ts'
import { rsaPssVerify } from '../crypto/rsa.ts'
import { ANS104_DEVICE, commitAns104, verifyAns104Commitment } from './ans104/convert.ts'
import { UnsupportedCommitment, UnknownCodec } from '../core/errors.ts'
import '../core/id.ts'

export type CommitmentVerifier = (t: Tabm, id: string, c: Message) => Promise<boolean>
export type Committer = (t: Tabm, wallet: Wallet) => Promise<Tabm>

const verifiers = new Map<string, CommitmentVerifier>()
const committers = new Map<string, Committer>()

/** Register a commitment device (used by codecs other than httpsig, e.g. ans104@1.0). */
export function registerCommitmentDevice(name: string, verify: CommitmentVerifier, commit?: Committer): void {
  verifiers.set(name, verify)
  if (commit) committers.set(name, commit)
}

const rsaSha512 = (n: Uint8Array, data: Uint8Array, sig: Uint8Array) => rsaPssVerify(n, 'SHA-512', data, sig)
registerCommitmentDevice(HTTPSIG, (t, _id, c) => verifyCommitment(t, c, rsaSha512),
  (t, wallet) => commitSigned(t, wallet, {}))
registerCommitmentDevice(ANS104_DEVICE, (t, id) => verifyAns104Commitment(t, id), (t, wallet) => commitAns104(t, wallet))

const text = binaryText

/** The message with the commitments of its committed TABM (values kept as they are). */
export function withCommitments(msg: Message, t: Tabm): Message {
  const out = emptyMessage()
  for (const k of Object.keys(msg)) if (k !== 'commitments') out[k] = msg[k]!
  const comms = (t as unknown as Message)['commitments']
  if (comms !== undefined) out['commitments'] = comms
  return out
}

export interface CommitOptions {
  /** 'unsigned' adds an HMAC commitment; 'signed' needs a wallet. */
  type?: 'unsigned' | 'signed'
  wallet?: Wallet
  /** The commitment device for signed commitments (default httpsig@1.0). */
  device?: string
}

/** Commit to a message (spec §1.6 `commit`). */
export async function commitMessage(msg: Message, opts: CommitOptions = {}): Promise<Message> {
  const t = toTabm(msg, { linkify: 'discard' })
  if ((opts.type ?? (opts.wallet ? 'signed' : 'unsigned')) === 'unsigned') return withCommitments(msg, commitHmac(t))
  if (!opts.wallet) throw new UnsupportedCommitment('a signed commitment needs a wallet')
  const device = opts.device ?? HTTPSIG
  const commit = committers.get(device)
  if (!commit) throw new UnknownCodec(`no commitment device ${JSON.stringify(device)}`)
  return withCommitments(msg, await commit(t, opts.wallet))
}

/**
 * Commit to many messages, `width` at a time, keeping their order: WebCrypto
 * signs off the calling thread, so signing in parallel uses every core (a
 * client preparing many messages, a benchmark's setup).
 */
export async function commitAll(specs: ReadonlyArray<{ msg: Message } & CommitOptions>, width = 8): Promise<Message[]> {
  const out: Message[] = new Array(specs.length)
  let next = 0
  await Promise.all(Array.from({ length: Math.max(1, width) }, async () => {
    while (next < specs.length) {
      const i = next++
      const { msg, ...opts } = specs[i]!
      out[i] = await commitMessage(msg, opts)
    }
  }))
  return out
}

export interface Verification { verified: boolean; committers: string[]; checked: number }

/** Verify every commitment of a message (the AND of all; false when there are none). */
export async function verifyMessage(msg: Message): Promise<Verification> {
  const t = toTabm(msg, { linkify: 'discard' })
  const comms = commitmentsOf(t)
  const ids = Object.keys(comms)
  const committerSet: string[] = []
  let verified = ids.length > 0
  for (const id of ids) {
    const c = comms[id]!
    if (!isMessage(c)) { verified = false; continue }
    const device = text(c['commitment-device']) ?? HTTPSIG
    const verify = verifiers.get(device)
    if (!verify) throw new UnsupportedCommitment(`unknown commitment device ${JSON.stringify(device)}`)
    if (!(await verify(t, id, c))) verified = false
    const who = text(c['committer'])
    if (who !== undefined && !committerSet.includes(who)) committerSet.push(who)
  }
  return { verified, committers: committerSet, checked: ids.length }
}
