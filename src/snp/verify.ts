/**
 * Verify an SEV-SNP report against AMD's roots, offline: the report
 * signature (ECDSA P-384 / SHA-384 over bytes 0x000..0x29F) with the VCEK or
 * VLEK, that certificate under the product's ASK or ASVK, that under the ARK;
 * validity at a given time; the certificate's chip ID and TCB extensions
 * against the report. Every check is reported with the reason it failed; the
 * verdict is that all passed.
 */
import { bytesEqual } from '../core/bytes.ts'
import { checkedOnce, findIssuer, parseCert, validAt, verifyCertSignature, verifyP384, amdTrustStore, type SnpCert, type TrustStore } from './certs.ts'
import { decodeTcb, parseReport, productOfCpuid, SIGNED_SIZE, type Product, type SnpReport } from './report.ts'

export interface Check { name: string; ok: boolean; detail: string }

export interface ReportVerification {
  verified: boolean
  /** The product whose chain verified the certificate, when one did. */
  product?: Product
  /** `VCEK` or `VLEK`, as the certificate says. */
  certificateKind?: 'VCEK' | 'VLEK'
  trust: string
  at: string
  checks: Check[]
}

export interface VerifyReportOptions {
  /** The VCEK or VLEK that signed the report (DER, PEM, or parsed). */
  cert?: Uint8Array | string | SnpCert
  /** Certificates are checked for validity at this time (default: now). */
  at?: Date
  /** Trust anchors (default: AMD's shipped roots). */
  trust?: TrustStore
}

/** The report version range this verifier knows the layout of. */
const VERSIONS = [2, 3, 4, 5]

export async function verifyReport(input: SnpReport | Uint8Array | string, opts: VerifyReportOptions = {}): Promise<ReportVerification> {
  const report = typeof input === 'string' || input instanceof Uint8Array ? parseReport(input) : input
  const at = opts.at ?? new Date()
  const trust = opts.trust ?? amdTrustStore()
  const checks: Check[] = []
  const check = (name: string, ok: boolean, detail: string): boolean => { checks.push({ name, ok, detail }); return ok }
  const result = (extra: Partial<ReportVerification> = {}): ReportVerification =>
    ({ verified: checks.every((c) => c.ok), trust: trust.name, at: at.toISOString(), checks, ...extra })

  check('report-version', VERSIONS.includes(report.version), VERSIONS.includes(report.version) ? `version ${report.version}` : `unknown report version ${report.version}`)
  check('signature-algorithm', report.sigAlgo === 1, report.sigAlgo === 1 ? 'ECDSA P-384 with SHA-384' : `signature algorithm ${report.sigAlgo} is not 1 (ECDSA P-384 with SHA-384)`)

  let vek: SnpCert
  try {
    if (opts.cert === undefined) {
      check('certificate', false, 'no VCEK or VLEK certificate was given (reports do not carry one; AMD KDS serves it by chip ID and TCB)')
      return result()
    }
    vek = typeof opts.cert === 'string' || opts.cert instanceof Uint8Array ? parseCert(opts.cert) : opts.cert
  } catch (e) {
    check('certificate', false, `the certificate does not parse: ${(e as Error).message}`)
    return result()
  }
  const kind: 'VCEK' | 'VLEK' | undefined = vek.subjectCN === 'SEV-VCEK' ? 'VCEK' : vek.subjectCN === 'SEV-VLEK' ? 'VLEK' : undefined
  check('certificate', vek.key.kind === 'ec-p384' && kind !== undefined,
    vek.key.kind !== 'ec-p384' ? `${vek.subjectCN}'s key is not ECDSA P-384`
      : kind === undefined ? `the certificate's subject CN is ${JSON.stringify(vek.subjectCN)}, not SEV-VCEK or SEV-VLEK`
      : `${kind} issued by ${vek.issuerCN}`)

  // The chain: VCEK → ASK → ARK or VLEK → ASVK → ARK.
  const found = findIssuer(trust, vek)
  let product: Product | undefined
  if (!found) {
    check('chain', false, `${vek.issuerCN || vek.issuer} (the certificate's issuer) is none of the ${trust.name} intermediates`)
  } else {
    product = found.roots.product
    const { roots, intermediate } = found
    const ark = await checkedOnce(trust, roots.ark, roots.ark)
    const inter = await checkedOnce(trust, intermediate, roots.ark)
    const leaf = await verifyCertSignature(vek, intermediate)
    check('ark', ark.ok, ark.ok ? `${roots.ark.subjectCN} is self-signed (${trust.name} root)` : `${roots.ark.subjectCN}: ${ark.reason}`)
    check('intermediate', inter.ok, inter.ok ? `${intermediate.subjectCN} (${found.kind}) is signed by ${roots.ark.subjectCN}` : `${intermediate.subjectCN}: ${inter.reason}`)
    const expected = found.kind === 'ASK' ? 'VCEK' : 'VLEK'
    const leafOk = leaf.ok && kind === expected
    check('vek', leafOk, !leaf.ok ? (leaf.reason ?? 'bad signature') : kind !== expected ? `a ${kind ?? vek.subjectCN} must not chain to the ${found.kind}` : `${kind} is signed by ${intermediate.subjectCN}`)
    const expired = [roots.ark, intermediate, vek].filter((c) => !validAt(c, at))
    check('validity', expired.length === 0, expired.length === 0 ? `all certificates valid at ${at.toISOString()}`
      : expired.map((c) => `${c.subjectCN} is valid ${c.notBefore.toISOString()} .. ${c.notAfter.toISOString()}, not at ${at.toISOString()}`).join('; '))
    const named = vek.amd.productName
    const cpuProduct = report.cpuid ? productOfCpuid(report.cpuid.family, report.cpuid.model) : undefined
    const productOk = (named === undefined || named.split('-')[0] === product) && (cpuProduct === undefined || cpuProduct === product)
    check('product', productOk, productOk ? `${product}${named ? ` (${named})` : ''}`
      : named !== undefined && named.split('-')[0] !== product ? `the certificate names ${named} but chains to ${product}'s roots`
      : `the report's CPUID is a ${cpuProduct}, the certificate a ${product}`)
  }

  // The report's signing key field: 0 VCEK, 1 VLEK (version 2 reports leave it 0).
  const skOk = kind !== undefined && report.signingKey === kind && !report.maskChipKey
  check('signing-key', skOk, report.maskChipKey ? 'MASK_CHIP_KEY is set: the firmware did not sign this report'
    : skOk ? `the report says it is signed by the ${kind}` : `the report says ${report.signingKey}, the certificate is a ${kind ?? vek.subjectCN}`)

  // Extensions against the report: chip ID (VCEK) and the reported TCB.
  const tcbProduct = product ?? 'Milan'
  if (kind === 'VCEK') {
    const hw = vek.amd.hwID
    const want = tcbProduct === 'Turin' ? report.chipId.subarray(0, 8) : report.chipId
    const ok = hw !== undefined && bytesEqual(hw, want)
    check('chip-id', ok, hw === undefined ? 'the VCEK has no hwID extension' : ok ? `hwID = chip_id ${hex(want).slice(0, 16)}…`
      : `the VCEK is for chip ${hex(hw).slice(0, 16)}…, the report is from chip ${hex(want).slice(0, 16)}…`)
  } else if (kind === 'VLEK') {
    check('chip-id', true, `a VLEK is not bound to a chip (CSP ${vek.amd.cspID ?? 'unknown'})`)
  }
  const tcb = decodeTcb(report.reportedTcb, tcbProduct)
  const pairs: [string, number | undefined, number][] = [
    ['blSPL', vek.amd.blSPL, tcb.bootloader], ['teeSPL', vek.amd.teeSPL, tcb.tee],
    ['snpSPL', vek.amd.snpSPL, tcb.snp], ['ucodeSPL', vek.amd.ucodeSPL, tcb.microcode],
    ...(tcbProduct === 'Turin' ? [['fmcSPL', vek.amd.fmcSPL, tcb.fmc ?? 0] as [string, number | undefined, number]] : []),
  ]
  const bad = pairs.filter(([, c, r]) => c !== r)
  check('tcb', bad.length === 0, bad.length === 0 ? `reported TCB ${pairs.map(([n, , r]) => `${n}=${r}`).join(' ')}`
    : bad.map(([n, c, r]) => `${n}: certificate ${c ?? 'absent'}, report ${r}`).join('; '))

  // The report signature.
  let sigOk = false
  let sigDetail: string
  if (vek.key.kind !== 'ec-p384') sigDetail = 'no P-384 key to verify with'
  else if (report.sigAlgo !== 1) sigDetail = `cannot verify signature algorithm ${report.sigAlgo}`
  else if (!report.signatureHighZero) sigDetail = 'r or s has non-zero bytes above the 48 a P-384 scalar has'
  else {
    try {
      sigOk = await verifyP384(vek, report.bytes.subarray(0, SIGNED_SIZE), report.signatureP1363)
      sigDetail = sigOk ? `ECDSA P-384/SHA-384 over bytes 0x000..0x29F verifies with the ${kind}` : `the signature does not verify with this ${kind ?? 'certificate'} (report altered, or signed by another key)`
    } catch (e) {
      sigDetail = `signature check failed: ${(e as Error).message}`
    }
  }
  check('report-signature', sigOk, sigDetail)
  return result({ ...(product ? { product } : {}), ...(kind ? { certificateKind: kind } : {}) })
}

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')
export { hex }
