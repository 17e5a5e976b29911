/**
 * snp@1.0 evidence: the message `generate` returns and `verify` checks
 * (spec §4.9, HyperBEAM's dev_snp), and our own, finer verdict.
 *
 * generate → {local-hashes, nonce, address, node-message, report, certificate?}
 *   report_data (64 B) = native(address) ‖ native(ID of the node message, committers none)
 *   With a `challenge` (our relay protocol, below), the second half becomes
 *   SHA-256(native(node-message ID) ‖ challenge): the report is then fresh for
 *   whoever chose the challenge, and still bound to the address and node message.
 *
 * verify: HyperBEAM's six checks, in its order, all of which must pass —
 *   nonce, signature (and address among the signers), debug off, trusted
 *   software, measurement, report integrity — and the answer it would give
 *   ("true", or the first failing reason such as `nonce_mismatch`). Our own
 *   verdict adds what HyperBEAM leaves out: the report's report_data must equal
 *   the nonce (HyperBEAM never compares them), certificate validity at a time,
 *   and the certificate's product and signing-key kind.
 */
import { binaryText } from '../core/value.ts'
import { concatBytes, bytesEqual, fromB64, toB64Url } from '../core/bytes.ts'
import { nativeId, messageId } from '../core/id.ts'
import { normalizeKey, isPrivateKey } from '../core/keys.ts'
import { emptyMessage, isMessage, type Message, type Value } from '../core/value.ts'
import { stringifyTyped } from '../core/typed-json.ts'
import { sha256 } from '../crypto/hash.ts'
import { verifyMessage } from '../codecs/commitments.ts'
import { commitmentsOf, committedByAll } from '../codecs/httpsig/commitment.ts'
import { toTabm } from '../codecs/structured.ts'
import { InvalidSnpMessage, InvalidSnpReport, AoError, SnpNoTrustedConfigs } from '../core/errors.ts'
import { debugAllowed, parseReport, reportToHyperbeamJson, type SnpReport } from './report.ts'
import { launchDigest, vcpuSignature, OVMF_1_55, type OvmfLayout } from './measurement.ts'
import { verifyReport, hex, type Check } from './verify.ts'
import type { TrustStore } from './certs.ts'

/** The parameters a launch measurement is computed from (HyperBEAM's COMMITTED_PARAMETERS). */
export const COMMITTED_PARAMETERS = ['vcpus', 'vcpu_type', 'vmm_type', 'guest_features', 'firmware', 'kernel', 'initrd', 'append']
/** hb_opts' default `snp_enforced_keys`. */
export const DEFAULT_ENFORCED_KEYS = ['firmware', 'kernel', 'initrd', 'append', 'vmm_type', 'guest_features']

const text = binaryText

/** report_data for an address and node-message ID, optionally bound to a relay challenge. */
export function reportDataFor(address: string, nodeMessageId: string, challenge?: Uint8Array): Uint8Array {
  const a = nativeId(address)
  const id = nativeId(nodeMessageId)
  if (a.length !== 32 || id.length !== 32) throw new InvalidSnpMessage('the address and the node-message ID must be 32-byte IDs')
  return concatBytes(a, challenge ? sha256(concatBytes(id, challenge)) : id)
}

/** hb_private:reset: the node message without private keys. */
export function publicNodeMessage(node: Message): Message {
  const out = emptyMessage()
  for (const k of Object.keys(node)) if (!isPrivateKey(normalizeKey(k))) out[k] = node[k]!
  return out
}

// ---- generate ----

export interface SnpHardwareReport {
  /** The 1184-byte binary report. */
  report: Uint8Array
  /** Certificates the host supplied with it (configfs-tsm auxblob, extended report). */
  certificates?: { vcek?: Uint8Array; vlek?: Uint8Array; ask?: Uint8Array; ark?: Uint8Array }
}

export type SnpHardware = (reportData: Uint8Array) => Promise<SnpHardwareReport>

export interface GenerateInput {
  address: string
  /** The node message (private keys are removed here). */
  node: Message
  hardware: SnpHardware
  challenge?: Uint8Array
}

/** The unsigned evidence message of snp@1.0 generate. */
export async function generateEvidence(g: GenerateInput): Promise<Message> {
  const nodeMessage = publicNodeMessage(g.node)
  const trusted = nodeMessage['snp_trusted']
  let localHashes: Message
  if (trusted === undefined) localHashes = emptyMessage()
  else if (Array.isArray(trusted) && trusted.length > 0 && isMessage(trusted[0])) localHashes = trusted[0] as Message
  else if (Array.isArray(trusted) && trusted.length === 0) {
    throw new SnpNoTrustedConfigs('snp_trusted is empty: no trusted software configuration to report (no_trusted_configs)')
  } else throw new InvalidSnpMessage('snp_trusted must be a list of messages (invalid_trusted_configs_format)')
  const nodeId = messageId(nodeMessage, 'unsigned')
  const reportData = reportDataFor(g.address, nodeId, g.challenge)
  const hw = await g.hardware(reportData)
  const report = parseReport(hw.report)
  const out = emptyMessage()
  out['local-hashes'] = localHashes
  out['nonce'] = toB64Url(reportData)
  out['address'] = g.address
  out['node-message'] = nodeMessage
  out['report'] = reportToHyperbeamJson(report)
  const cert = hw.certificates?.vcek ?? hw.certificates?.vlek
  if (cert) out['certificate'] = cert
  if (g.challenge) out['challenge'] = toB64Url(g.challenge)
  return out
}

// ---- HyperBEAM's policy checks ----

/** hb_message:match(Local, Trusted, primary) over the enforced keys: every enforced local key equals the trusted map's. */
export function softwareTrusted(localHashes: Message, trusted: Value | undefined, enforced: string[]): { ok: boolean; detail: string } {
  const list = trusted === undefined ? [emptyMessage()] : trusted
  if (!Array.isArray(list) || list.length === 0) return { ok: false, detail: 'snp_trusted is empty or not a list' }
  const keys = Object.keys(localHashes).filter((k) => enforced.includes(normalizeKey(k)))
  const reasons: string[] = []
  for (const [i, t] of list.entries()) {
    if (!isMessage(t)) { reasons.push(`entry ${i} is not a message`); continue }
    const byKey = new Map(Object.keys(t).map((k) => [normalizeKey(k), t[k]!]))
    const bad = keys.filter((k) => {
      const tv = byKey.get(normalizeKey(k))
      return tv === undefined || !sameValue(localHashes[k]!, tv)
    })
    if (bad.length === 0) return { ok: true, detail: `matches snp_trusted[${i}] on ${keys.length ? keys.join(', ') : 'no enforced key'}` }
    reasons.push(`snp_trusted[${i}] differs on ${bad.join(', ')}`)
  }
  return { ok: false, detail: reasons.join('; ') }
}

const sameValue = (a: Value, b: Value): boolean => {
  if (isMessage(a) && isMessage(b)) {
    const ka = Object.keys(a).map(normalizeKey).sort()
    const kb = Object.keys(b).map(normalizeKey).sort()
    return ka.join('\n') === kb.join('\n') && Object.keys(a).every((k) => {
      const other = Object.keys(b).find((x) => normalizeKey(x) === normalizeKey(k))
      return other !== undefined && sameValue(a[k]!, b[other]!)
    })
  }
  try { return stringifyTyped(a) === stringifyTyped(b) } catch { return false }
}

function intParam(v: Value | undefined, name: string, max: bigint): bigint {
  if (typeof v === 'bigint') { if (v >= 0n && v <= max) return v }
  else {
    const t = text(v)
    if (t !== undefined && /^[0-9]+$/.test(t) && BigInt(t) <= max) return BigInt(t)
  }
  throw new InvalidSnpMessage(`local-hashes ${name} is ${v === undefined ? 'missing' : 'not an integer in range'}`)
}

function hexParam(v: Value | undefined, name: string, size: number): Uint8Array {
  const t = text(v)
  if (t === undefined || t.length !== size * 2 || !/^[0-9a-fA-F]+$/.test(t)) throw new InvalidSnpMessage(`local-hashes ${name} is not ${size} bytes of hex`)
  return Uint8Array.from({ length: size }, (_, i) => parseInt(t.slice(2 * i, 2 * i + 2), 16))
}

/** snp_calc_launch_digest over local-hashes (HyperBEAM's compute_launch_digest). */
export function expectedMeasurement(localHashes: Message, ovmf: OvmfLayout = OVMF_1_55): Uint8Array {
  const get = (k: string): Value | undefined => localHashes[Object.keys(localHashes).find((x) => normalizeKey(x) === k) ?? k]
  const vcpuType = Number(intParam(get('vcpu_type'), 'vcpu_type', 255n))
  vcpuSignature(vcpuType)
  return launchDigest({
    vcpus: Number(intParam(get('vcpus'), 'vcpus', 0xffffffffn)),
    vcpuType,
    vmmType: Number(intParam(get('vmm_type'), 'vmm_type', 255n)),
    guestFeatures: intParam(get('guest_features'), 'guest_features', (1n << 64n) - 1n),
    ovmfHash: hexParam(get('firmware'), 'firmware', 48),
    kernelHash: hexParam(get('kernel'), 'kernel', 32),
    initrdHash: hexParam(get('initrd'), 'initrd', 32),
    appendHash: hexParam(get('append'), 'append', 32),
    ovmf,
  })
}

// ---- verify ----

export interface VerifyEvidenceOptions {
  /** snp_trusted of the verifying node (HyperBEAM default: [#{}]). */
  snpTrusted?: Value
  /** snp_enforced_keys (default: firmware, kernel, initrd, append, vmm_type, guest_features). */
  enforcedKeys?: string[]
  /** The relay challenge this verifier chose; the report must be bound to it. */
  challenge?: Uint8Array
  /** The certificate, when the message does not carry one. */
  cert?: Uint8Array | string
  at?: Date
  trust?: TrustStore
  ovmf?: OvmfLayout
}

export interface EvidenceVerification {
  /** HyperBEAM's answer: `true`, or the reason its verify stops with. */
  hyperbeam: 'true' | 'nonce_mismatch' | 'signature_or_address_invalid' | 'debug_enabled' | 'untrusted_software' | 'measurement_invalid' | 'report_signature_invalid'
  /** Our verdict: every check below passed. */
  verified: boolean
  address?: string
  checks: Check[]
}

/** The report checks HyperBEAM's report integrity covers (its KDS fetch binds chip ID and TCB; it checks no dates). */
const INTEGRITY = new Set(['signature-algorithm', 'certificate', 'chain', 'ark', 'intermediate', 'vek', 'chip-id', 'tcb', 'report-signature'])

/** hb_message:with_only_committers(signers) + with_only_committed: the keys the signers committed. */
function committedPart(msg: Message): { msg: Message; signers: string[] } {
  const comms = commitmentsOf(msg)
  const signers = [...new Set(Object.values(comms).map((c) => text(c['committer'])).filter((c): c is string => c !== undefined))]
  if (signers.length === 0) return { msg, signers }
  const keys = committedByAll(toTabm(msg, { linkify: 'discard' })).map(normalizeKey)
  const out = emptyMessage()
  for (const k of Object.keys(msg)) if (k === 'commitments' || keys.includes(normalizeKey(k))) out[k] = msg[k]!
  return { msg: out, signers }
}

/** Verify snp@1.0 evidence (a `verify` request's body, or the request itself). */
export async function verifyEvidence(input: Message, opts: VerifyEvidenceOptions = {}): Promise<EvidenceVerification> {
  const body = input['body']
  const raw = isMessage(body) ? body : input
  const { msg, signers } = committedPart(raw)
  const reportText = text(msg['report'])
  if (reportText === undefined) throw new InvalidSnpMessage('the message has no (committed) report')
  let report: SnpReport
  try { report = parseReport(reportText) } catch (e) {
    if (e instanceof InvalidSnpReport) throw e
    throw new InvalidSnpReport(`the report does not parse: ${(e as Error).message}`)
  }
  const address = text(msg['address'])
  if (address === undefined) throw new InvalidSnpMessage('the message has no address')
  const nodeMessage = msg['node-message']
  const nodeMessageId = isMessage(nodeMessage) ? messageId(nodeMessage, 'unsigned') : text(msg['node-message-id'])
  if (nodeMessageId === undefined) throw new InvalidSnpMessage('the message has neither node-message nor node-message-id (missing_node_msg_id)')
  const nonceText = text(msg['nonce'])
  if (nonceText === undefined) throw new InvalidSnpMessage('the message has no nonce')

  const checks: Check[] = []
  const check = (name: string, ok: boolean, detail: string): boolean => { checks.push({ name, ok, detail }); return ok }
  const hyper: boolean[] = []

  // 1. Nonce = address ‖ node-message ID (or its challenge-bound form).
  let expected: Uint8Array | undefined
  let nonce: Uint8Array | undefined
  try { expected = reportDataFor(address, nodeMessageId, opts.challenge) } catch { expected = undefined }
  try { nonce = fromB64(nonceText) } catch { nonce = undefined }
  const nonceOk = expected !== undefined && nonce !== undefined && bytesEqual(nonce, expected)
  hyper.push(check('nonce', nonceOk, nonceOk ? `nonce = address ‖ ${opts.challenge ? 'SHA-256(node-message ID ‖ challenge)' : 'node-message ID'} (${nodeMessageId})`
    : expected === undefined ? 'the address or node-message ID is not a 32-byte ID' : `the nonce is not address ‖ ${opts.challenge ? 'SHA-256(node-message ID ‖ challenge)' : 'node-message ID'}`))
  // Ours: the report must carry that nonce.
  const rdOk = nonce !== undefined && bytesEqual(report.reportData, nonce)
  check('report-data', rdOk, rdOk ? 'the report\'s report_data is the nonce' : 'the report\'s report_data is not the nonce (HyperBEAM does not check this)')

  // 2. Signature, and the address among the signers.
  let sigOk = false
  let sigDetail = 'the message has no signers'
  if (signers.length > 0) {
    try {
      const v = await verifyMessage(msg)
      sigOk = v.verified && signers.includes(address)
      sigDetail = !v.verified ? 'a commitment does not verify' : sigOk ? `signed by ${address}` : `signed by ${signers.join(', ')}, not by ${address}`
    } catch (e) {
      sigDetail = e instanceof AoError ? `${e.name}: ${e.message}` : `verification failed: ${(e as Error).message}`
    }
  }
  hyper.push(check('signature', sigOk, sigDetail))

  // 3. Debug off.
  const debugOk = !debugAllowed(report)
  hyper.push(check('debug', debugOk, debugOk ? 'policy bit 19 (debug) is off' : `policy 0x${report.policy.toString(16)} allows debugging (bit 19)`))

  // 4. Trusted software.
  const lh = msg['local-hashes']
  const localHashes = isMessage(lh) ? lh : emptyMessage()
  const trust = softwareTrusted(localHashes, opts.snpTrusted, (opts.enforcedKeys ?? DEFAULT_ENFORCED_KEYS).map(normalizeKey))
  hyper.push(check('trusted-software', trust.ok, trust.detail))

  // 5. Measurement.
  let mOk = false
  let mDetail: string
  try {
    const m = expectedMeasurement(localHashes, opts.ovmf)
    mOk = bytesEqual(m, report.measurement)
    mDetail = mOk ? `launch digest ${hex(m).slice(0, 24)}… (${(opts.ovmf ?? OVMF_1_55).name}) = the report's measurement`
      : `local-hashes give ${hex(m).slice(0, 24)}…, the report measured ${hex(report.measurement).slice(0, 24)}…`
  } catch (e) {
    mDetail = `cannot compute the launch digest: ${(e as Error).message}`
  }
  hyper.push(check('measurement', mOk, mDetail))

  // 6. Report integrity, and the rest of our report checks.
  const cert = opts.cert ?? (msg['certificate'] instanceof Uint8Array || typeof msg['certificate'] === 'string' ? msg['certificate'] as Uint8Array | string : undefined)
  const rv = await verifyReport(report, { ...(cert !== undefined ? { cert } : {}), ...(opts.at ? { at: opts.at } : {}), ...(opts.trust ? { trust: opts.trust } : {}) })
  for (const c of rv.checks) checks.push({ ...c, name: `report/${c.name}` })
  hyper.push(rv.checks.filter((c) => INTEGRITY.has(c.name)).every((c) => c.ok))

  const reasons = ['nonce_mismatch', 'signature_or_address_invalid', 'debug_enabled', 'untrusted_software', 'measurement_invalid', 'report_signature_invalid'] as const
  const first = hyper.findIndex((ok) => !ok)
  return { hyperbeam: first < 0 ? 'true' : reasons[first]!, verified: checks.every((c) => c.ok), address, checks }
}

/** The verification as a message (the `checks` key of snp@1.0). */
export function verificationMessage(v: EvidenceVerification): Message {
  const out = emptyMessage()
  out['hyperbeam'] = v.hyperbeam
  out['verified'] = v.verified
  if (v.address) out['address'] = v.address
  const checks = emptyMessage()
  for (const c of v.checks) {
    const m = emptyMessage()
    m['ok'] = c.ok
    m['detail'] = c.detail
    checks[c.name] = m
  }
  out['checks'] = checks
  return out
}
