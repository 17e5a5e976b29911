/**
 * snp@1.0 (spec §4.9, HyperBEAM dev_snp): AMD SEV-SNP attestation.
 *
 *   generate  on a node with the hardware (the `snp` capability, given at
 *             composition time: src/snp/generate-node.ts in Node): the
 *             evidence message {local-hashes, nonce, address, node-message,
 *             report, certificate?}; report_data binds the wallet address and
 *             the node message's ID as HyperBEAM does. A `challenge` in the
 *             request binds it to a verifier's challenge too (our relay).
 *   verify    HyperBEAM's answer: "true", or an error with the reason its
 *             verify stops at (`nonce_mismatch`, `measurement_invalid`, …).
 *             Runs offline: the VCEK/VLEK comes with the message (`certificate`),
 *             not from AMD's KDS, and the chain ends at AMD's shipped roots.
 *   checks    our result: {hyperbeam, verified, address, checks: {name: {ok, detail}}},
 *             every check with why it failed (src/snp/evidence.ts).
 *
 * Node options read: `snp_trusted` (list of trusted software hashes),
 * `snp_enforced_keys` (keys of local-hashes that must match).
 */
import { ok, error, type Device, type ResolveContext } from '../core/device.ts'
import { atomName, isAtom, type Message, type Value } from '../core/value.ts'
import { directGet } from '../core/resolver.ts'
import { fromB64 } from '../core/bytes.ts'
import { BadInput, SnpHardwareUnavailable, SnpNoWallet } from '../core/errors.ts'
import { generateEvidence, verifyEvidence, verificationMessage, type VerifyEvidenceOptions } from '../snp/evidence.ts'
import type { TrustStore } from '../snp/certs.ts'
import type { OvmfLayout } from '../snp/measurement.ts'

export interface SnpDeviceOptions {
  /** Trust anchors (default: AMD's roots shipped in src/snp/amd-roots.ts). */
  trust?: TrustStore
  /** The time certificates must be valid at (default: now). */
  now?: () => Date
  /** The OVMF image measurements are computed against (default: HyperBEAM's OVMF-1.55). */
  ovmf?: OvmfLayout
}

const text = (v: Value | undefined): string | undefined =>
  typeof v === 'string' ? v : v instanceof Uint8Array ? new TextDecoder().decode(v) : isAtom(v) ? atomName(v) : undefined

function challengeOf(req: Message): Uint8Array | undefined {
  const c = directGet(req, 'challenge')
  if (c === undefined) return undefined
  let b: Uint8Array
  if (c instanceof Uint8Array && c.length !== 43) b = c
  else {
    const t = text(c)
    try { b = fromB64(t ?? '') } catch { throw new BadInput('challenge must be base64url or raw bytes') }
  }
  if (b.length < 16 || b.length > 64) throw new BadInput('a challenge is 16 to 64 bytes')
  return b
}

function verifyOptions(ctx: ResolveContext, o: SnpDeviceOptions): VerifyEvidenceOptions {
  const enforced = ctx.node['snp_enforced_keys']
  return {
    ...(ctx.node['snp_trusted'] !== undefined ? { snpTrusted: ctx.node['snp_trusted'] } : {}),
    ...(Array.isArray(enforced) ? { enforcedKeys: enforced.map((k) => text(k) ?? '') } : {}),
    ...(o.trust ? { trust: o.trust } : {}),
    ...(o.ovmf ? { ovmf: o.ovmf } : {}),
    at: (o.now ?? (() => new Date()))(),
  }
}

export function createSnpDevice(o: SnpDeviceOptions = {}): Device {
  return {
    name: 'snp@1.0',
    info: () => ({ exports: ['generate', 'verify', 'checks'] }),
    keys: {
      generate: async (_base, req, ctx) => {
        if (!ctx.wallet) throw new SnpNoWallet('this node has no wallet to bind the report to (no_wallet_available)')
        if (!ctx.capabilities.snp) throw new SnpHardwareUnavailable('no SEV-SNP hardware: this node was composed without the snp capability')
        const challenge = challengeOf(req)
        return ok(await generateEvidence({
          address: ctx.wallet.address, node: ctx.node, hardware: ctx.capabilities.snp, ...(challenge ? { challenge } : {}),
        }))
      },
      verify: async (_base, req, ctx) => {
        const v = await verifyEvidence(req, { ...verifyOptions(ctx, o), ...(challengeOf(req) ? { challenge: challengeOf(req)! } : {}) })
        return v.hyperbeam === 'true' ? ok('true') : error(v.hyperbeam)
      },
      checks: async (_base, req, ctx) => {
        const v = await verifyEvidence(req, { ...verifyOptions(ctx, o), ...(challengeOf(req) ? { challenge: challengeOf(req)! } : {}) })
        return ok(verificationMessage(v))
      },
    },
  }
}

/** snp@1.0 over AMD's shipped roots. */
export const snpDevice: Device = createSnpDevice()
