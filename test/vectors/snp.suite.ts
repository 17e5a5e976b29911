/**
 * snp@1.0 (spec §4.9): real Milan reports against AMD's shipped roots, every
 * single-byte tampering, mismatched certificates, dates; AMD's chains for
 * Milan, Genoa and Turin (VCEK and VLEK); HyperBEAM's fixtures and known
 * answers (launch digest, measurement, nonce, trusted software); the `sev`
 * crate's launch-digest answers; a simulated machine under a TEST root.
 */
import { fromUtf8, toB64, toB64Url, utf8 } from '../../src/core/bytes.ts'
import { loadJwk } from '../../src/crypto/wallet.ts'
import { commitMessage } from '../../src/codecs/commitments.ts'
import { isMessage, emptyMessage, type Message, type Value } from '../../src/core/value.ts'
import { messageId } from '../../src/core/id.ts'
import { AMD_ROOTS_B64 } from '../../src/snp/amd-roots.ts'
import { amdTrustStore, parseCert, pemToDer, verifyCertSignature, type SnpCert } from '../../src/snp/certs.ts'
import { parseReport, reportToHyperbeamJson, reportBytesFromJson, decodeTcb, SIGNED_SIZE, SIG_R, SIG_S } from '../../src/snp/report.ts'
import { verifyReport, hex } from '../../src/snp/verify.ts'
import { launchDigest, parseOvmf, OVMF_1_55, SECTION, type OvmfLayout } from '../../src/snp/measurement.ts'
import { expectedMeasurement, softwareTrusted, verifyEvidence, reportDataFor, generateEvidence } from '../../src/snp/evidence.ts'
import { sha256 } from '../../src/crypto/hash.ts'
import { deepEqual, equal, ok, rejects } from './assert.ts'
import { parseEterm } from './eterm.ts'
import { simulatedSnp } from './snp-sim.ts'
import type { SuiteLoader, VectorCase } from './harness.ts'

const DIR = 'vectors/sev-snp'
const HB = 'hyperbeam-data/test'
const REPORTS = ['gosev-milan-vcek-v2', 'virtee-milan-vcek-v2']
/** A date inside every certificate's validity (the VCEKs expire in 2029 and 2030). */
const AT = new Date('2026-01-01T00:00:00Z')

const unhex = (h: string): Uint8Array => Uint8Array.from({ length: h.length / 2 }, (_, i) => parseInt(h.slice(2 * i, 2 * i + 2), 16))
const failed = (checks: { name: string; ok: boolean }[]): string[] => checks.filter((c) => !c.ok).map((c) => c.name)

/** HyperBEAM's test hashes (dev_snp.erl TEST_*). */
const TEST_HASHES = {
  vcpus: 32n, vcpu_type: 5n, vmm_type: 1n, guest_features: 1n,
  firmware: 'b8c5d4082d5738db6b0fb0294174992738645df70c44cdecf7fad3a62244b788e7e408c582ee48a74b289f3acec78510',
  kernel: '69d0cd7d13858e4fcef6bc7797aebd258730f215bc5642c4ad8e4b893cc67576',
  initrd: '544045560322dbcd2c454bdc50f35edf0147829ec440e6cb487b4a1503f923c1',
  append: '95a34faced5e487991f9cc2253a41cbd26b708bf00328f98dddbbf6b3ea2892e',
}
const msg = (o: Record<string, Value>): Message => Object.assign(emptyMessage(), o)

/** The layout of the `sev` crate's current test OVMF (tests/measurement/ovmf_AmdSev_suffix.bin, with an SVSM CAA page). */
const SEV_CRATE_OVMF: OvmfLayout = {
  name: 'sev crate ovmf_AmdSev_suffix.bin', resetEip: 0x80b004, sevHashesTableGpa: 0x810c00,
  sections: [
    { gpa: 0x800000, size: 0x9000, type: 1 }, { gpa: 0x80a000, size: 0x3000, type: 1 }, { gpa: 0x80d000, size: 0x1000, type: 2 },
    { gpa: 0x80e000, size: 0x1000, type: 3 }, { gpa: 0x80f000, size: 0x1000, type: 4 }, { gpa: 0x810000, size: 0x1000, type: 0x10 },
    { gpa: 0x811000, size: 0xf000, type: 1 },
  ],
}

/** An OVMF image tail carrying a layout (footer table + ASEV metadata), to test parseOvmf. */
function ovmfTail(l: OvmfLayout): Uint8Array {
  const size = 8192
  const b = new Uint8Array(size)
  const v = new DataView(b.buffer)
  const guid = (s: string): number[] => {
    const h = s.replace(/-/g, '')
    const x = Array.from({ length: 16 }, (_, i) => parseInt(h.slice(2 * i, 2 * i + 2), 16))
    return [x[3]!, x[2]!, x[1]!, x[0]!, x[5]!, x[4]!, x[7]!, x[6]!, ...x.slice(8)]
  }
  const hdr = 1024
  b.set(utf8('ASEV'), hdr)
  v.setUint32(hdr + 4, 16 + 12 * l.sections.length, true)
  v.setUint32(hdr + 8, 1, true)
  v.setUint32(hdr + 12, l.sections.length, true)
  l.sections.forEach((s, i) => { v.setUint32(hdr + 16 + 12 * i, s.gpa, true); v.setUint32(hdr + 20 + 12 * i, s.size, true); v.setUint32(hdr + 24 + 12 * i, s.type, true) })
  const entries: [string, number][] = [['dc886566-984a-4798-a75e-5585a7bf67cc', size - hdr], ['00f771de-1a7e-4fcb-890e-68c77e2fb44e', l.resetEip], ['7255371f-3a3b-4b04-927b-1da6efa8d454', l.sevHashesTableGpa]]
  const footerAt = size - 32 - 18
  let p = footerAt
  for (const [g, val] of entries) {
    p -= 22
    v.setUint32(p, val, true)
    v.setUint16(p + 4, 22, true)
    b.set(guid(g), p + 6)
  }
  v.setUint16(footerAt, 18 + (footerAt - p), true)
  b.set(guid('96b582de-1fb2-45f7-baea-a366c55a082d'), footerAt + 2)
  return b
}

export const snpSuite: SuiteLoader = async (fx) => {
  const cases: VectorCase[] = []
  const add = (name: string, run: () => void | Promise<void>): void => { cases.push({ name, run }) }

  // ---- AMD roots ----
  const chains: Record<string, Uint8Array[]> = {}
  for (const p of ['milan', 'genoa', 'turin']) for (const k of ['vcek', 'vlek']) {
    chains[`${p}_${k}`] = pemToDer(fromUtf8(await fx.bytes(`${DIR}/amd-certs/${p}_${k}_cert_chain.pem`)))
  }
  add('AMD roots shipped in src/snp/amd-roots.ts are the KDS chains of ../shared (ARK, ASK, ASVK per product)', () => {
    equal(AMD_ROOTS_B64.length, 3, 'products')
    for (const r of AMD_ROOTS_B64) {
      const p = r.product.toLowerCase()
      equal(r.ask, toB64(chains[`${p}_vcek`]![0]!), `${r.product} ASK`)
      equal(r.ark, toB64(chains[`${p}_vcek`]![1]!), `${r.product} ARK (VCEK chain)`)
      equal(r.asvk, toB64(chains[`${p}_vlek`]![0]!), `${r.product} ASVK`)
      equal(r.ark, toB64(chains[`${p}_vlek`]![1]!), `${r.product} ARK (VLEK chain)`)
    }
  })
  const hbChain = pemToDer(fromUtf8(await fx.bytes('hyperbeam-data/certificates/amd-vcek-v1-Milan-cert_chain.pem')))
  add('HyperBEAM\'s certificates/amd-vcek-v1-Milan-cert_chain.pem is the shipped Milan ASK and ARK', () => {
    equal(toB64(hbChain[0]!), AMD_ROOTS_B64[0]!.ask, 'ASK')
    equal(toB64(hbChain[1]!), AMD_ROOTS_B64[0]!.ark, 'ARK')
  })
  for (const r of amdTrustStore().roots) {
    add(`${r.product}: ARK self-signed (RSA-PSS SHA-384), ASK and ASVK signed by the ARK`, async () => {
      ok((await verifyCertSignature(r.ark, r.ark)).ok, 'ARK self-signature')
      ok((await verifyCertSignature(r.ask!, r.ark)).ok, 'ASK under ARK')
      ok((await verifyCertSignature(r.asvk!, r.ark)).ok, 'ASVK under ARK')
      equal(r.ark.subjectCN, `ARK-${r.product}`, 'ARK CN')
      equal(r.asvk!.subjectCN, `SEV-VLEK-${r.product}`, 'ASVK CN')
      ok(!(await verifyCertSignature(r.ask!, r.asvk!)).ok, 'the ASVK does not verify the ASK')
    })
  }
  const turinVcek = parseCert(await fx.bytes(`${DIR}/amd-certs/turin_example_vcek.der`))
  add('Turin VCEK: serial 0 accepted, signed by the Turin ASK, fmcSPL and an 8-byte hwID', async () => {
    const turin = amdTrustStore().roots.find((r) => r.product === 'Turin')!
    deepEqual(turinVcek.serial, new Uint8Array([0]), 'serial')
    ok((await verifyCertSignature(turinVcek, turin.ask!)).ok, 'VCEK under Turin ASK')
    ok(!(await verifyCertSignature(turinVcek, amdTrustStore().roots[0]!.ask!)).ok, 'not under the Milan ASK')
    ok(turinVcek.amd.fmcSPL !== undefined, 'fmcSPL present')
    equal(turinVcek.amd.hwID?.length, 8, 'hwID length')
    ok(turinVcek.amd.productName?.startsWith('Turin'), 'product name')
  })

  // ---- the real reports ----
  const reports: { name: string; bytes: Uint8Array; cert: SnpCert; expected: any }[] = []
  for (const name of REPORTS) {
    reports.push({
      name,
      bytes: await fx.bytes(`${DIR}/reports/${name}/report.bin`),
      cert: parseCert(await fx.bytes(`${DIR}/reports/${name}/vcek.der`)),
      expected: await fx.json(`${DIR}/reports/${name}/expected.json`),
    })
  }
  for (const r of reports) {
    add(`${r.name}: parses as expected.json says`, () => {
      const p = parseReport(r.bytes)
      const f = r.expected.fields
      equal(p.version, Number(f.version), 'version')
      equal(`0x${p.policy.toString(16)}`, f.policy, 'policy')
      equal(hex(p.reportData), f.report_data, 'report_data')
      equal(hex(p.measurement), f.measurement, 'measurement')
      equal(hex(p.chipId), f.chip_id, 'chip_id')
      equal(hex(p.reportedTcb), f.reported_tcb.raw, 'reported_tcb')
      const t = decodeTcb(p.reportedTcb)
      deepEqual([t.bootloader, t.tee, t.snp, t.microcode].map(BigInt), [f.reported_tcb.bootloader, f.reported_tcb.tee, f.reported_tcb.snp, f.reported_tcb.microcode].map((x: any) => BigInt(x.toString())), 'TCB SVNs')
      equal(hex(p.signatureP1363), f.sig_r_be + f.sig_s_be, 'signature r ‖ s big-endian')
      equal(p.signingKey, f.signer_info.signing_key, 'signing key')
      equal(`${p.current.major}.${p.current.minor}.${p.current.build}`, `${f.current_major}.${f.current_minor}.${f.current_build}`, 'firmware version')
    })
    add(`${r.name}: verifies against AMD's shipped Milan roots (every check)`, async () => {
      const v = await verifyReport(r.bytes, { cert: r.cert.der, at: AT })
      deepEqual(failed(v.checks), [], 'failed checks')
      ok(v.verified, 'verified')
      equal(v.product, 'Milan', 'product')
      equal(v.certificateKind, 'VCEK', 'kind')
      deepEqual(v.checks.map((c) => c.name), ['report-version', 'signature-algorithm', 'certificate', 'ark', 'intermediate', 'vek', 'validity', 'product', 'signing-key', 'chip-id', 'tcb', 'report-signature'], 'checks')
    })
    add(`${r.name}: the sev crate JSON form (HyperBEAM's) round-trips to the same bytes and verifies`, async () => {
      const json = reportToHyperbeamJson(parseReport(r.bytes))
      const back = reportBytesFromJson(json)
      deepEqual(back, r.bytes, 'bytes')
      ok((await verifyReport(json, { cert: r.cert, at: AT })).verified, 'verified from JSON')
    })
    add(`${r.name}: flipping any single byte of the signed region (0x000..0x29F) fails report-signature`, async () => {
      for (let i = 0; i < SIGNED_SIZE; i++) {
        const b = r.bytes.slice()
        b[i] ^= 0x01
        const v = await verifyReport(b, { cert: r.cert, at: AT })
        if (v.verified || v.checks.find((c) => c.name === 'report-signature')!.ok) throw new Error(`byte 0x${i.toString(16)} flipped and the signature still verifies`)
      }
    })
    add(`${r.name}: flipping any single byte of the signature (r, s: 0x2A0..0x32F) fails report-signature`, async () => {
      for (let i = SIG_R; i < SIG_S + 72; i++) {
        const b = r.bytes.slice()
        b[i] ^= 0x80
        const v = await verifyReport(b, { cert: r.cert, at: AT })
        deepEqual(failed(v.checks), ['report-signature'], `byte 0x${i.toString(16)}: failed checks`)
      }
    })
  }
  add('each report with the other report\'s VCEK fails on chip ID, TCB and the signature', async () => {
    for (const [a, b] of [[reports[0]!, reports[1]!], [reports[1]!, reports[0]!]]) {
      const v = await verifyReport(a.bytes, { cert: b.cert, at: AT })
      ok(!v.verified, 'not verified')
      deepEqual(failed(v.checks), ['chip-id', 'tcb', 'report-signature'], `${a.name} with ${b.name}'s VCEK`)
    }
  })
  add('certificate validity: before the VCEK was issued and after it expired', async () => {
    const r = reports[0]!
    for (const at of [new Date('2022-01-01T00:00:00Z'), new Date('2031-01-01T00:00:00Z')]) {
      const v = await verifyReport(r.bytes, { cert: r.cert, at })
      deepEqual(failed(v.checks), ['validity'], `at ${at.toISOString()}`)
    }
  })
  add('a report without a certificate, or with a CA certificate, does not verify', async () => {
    const r = reports[0]!
    deepEqual(failed((await verifyReport(r.bytes, {})).checks), ['certificate'], 'no certificate')
    const ask = amdTrustStore().roots[0]!.ask!
    const v = await verifyReport(r.bytes, { cert: ask, at: AT })
    ok(!v.verified && failed(v.checks).includes('certificate') && failed(v.checks).includes('report-signature'), 'ASK as the VCEK')
  })
  add('bad input is a typed error', async () => {
    await rejects(() => verifyReport(reports[0]!.bytes.subarray(0, 1000), {}), 'InvalidSnpReport', 'truncated report')
    await rejects(() => verifyReport('{"version": 2}', {}), 'InvalidSnpReport', 'JSON without measurement')
    await rejects(() => verifyReport('{"version": 2, "measurement": [1, 2]}', {}), 'InvalidSnpReport', 'short measurement')
    await rejects(() => verifyReport('{"version": 2, "measurement": ', {}), 'InvalidSnpReport', 'not JSON')
    const v = await verifyReport(reports[0]!.bytes, { cert: new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x00]), at: AT })
    deepEqual(failed(v.checks), ['certificate'], 'garbage certificate')
  })

  // ---- HyperBEAM's fixtures ----
  const hbText: Record<string, string> = {}
  for (const f of ['snp-attestation.json', 'snp-measurement.json', 'admissible-report.json']) hbText[f] = fromUtf8(await fx.bytes(`${HB}/${f}`))
  for (const f of ['snp-attestation.json', 'admissible-report.json']) {
    add(`HyperBEAM ${f}: parses; written back in the sev crate form it is byte-identical`, () => {
      const p = parseReport(hbText[f]!)
      equal(p.version, 2, 'version')
      equal(p.signingKey, 'VCEK', 'signing key')
      equal(reportToHyperbeamJson(p), hbText[f]!.trim(), 'JSON text')
    })
  }
  add('HyperBEAM snp-measurement.json (no signature field) parses; its measurement is verify_measurement_test\'s', () => {
    const p = parseReport(hbText['snp-measurement.json']!)
    const expected = new Uint8Array([94, 87, 4, 197, 20, 11, 255, 129, 179, 197, 146, 104, 8, 212, 152, 248, 110, 11, 60, 246, 82, 254, 24, 55, 201, 47, 157, 229, 163, 82, 108, 66, 191, 138, 241, 229, 40, 144, 133, 170, 116, 109, 17, 62, 20, 241, 144, 119])
    deepEqual(p.measurement, expected, 'measurement')
    ok(p.signatureP1363.every((x) => x === 0), 'no signature')
  })
  add('HyperBEAM compute_launch_digest_test: the launch digest over OVMF-1.55 is its known answer', () => {
    const d = expectedMeasurement(msg({ ...TEST_HASHES, initrd: '02e28b6c718bf0a5260d6f34d3c8fe0d71bf5f02af13e1bc695c6bc162120da1', append: '56e1e5190622c8c6b9daa4fe3ad83f3831c305bb736735bf795b284cb462c9e7' }))
    equal(toB64Url(d), 'wmSDSQYuzE2M3rQcourJnDJHgalADM8TBev3gyjM5ObRNOn8oglvVznFbaWhajU_', 'digest')
  })
  add('the sev crate\'s launch-digest answers (its test OVMF layout, QEMU, EPYC-v4, 1 vCPU)', () => {
    const fw = unhex('086e2e9149ebf45abdc3445fba5b2da8270bdbb04094d7a2c37faaa4b24af3aa16aff8c374c2a55c467a50da6d466b74')
    const empty = sha256(new Uint8Array())
    const cases: [bigint, string | undefined, string][] = [
      [0x1n, undefined, 'ddc5224521617a536ee7ce9dd6224d1b58a8d4fda1c741f3ac99fc4bfa04ba6e9fc98646d4a07a9079397fa3852819b5'],
      [0x21n, undefined, '329c8ce0972ae52343b64d34a434a86f245dfd74f5ed7aae15d22efc78fb9683632b9b50e4e1d7fa41179ef98a7ef198'],
      [0x1n, 'console=ttyS0 loglevel=7', '6d287813eb5222d770f75005c664e34c204f385ce832cc2ce7d0d6f354454362f390ef83a92046c042e706363b4b08fa'],
      [0x21n, 'console=ttyS0 loglevel=7', '803f691094946e42068aaa3a8f9e26a5c89f36f7b73ecfb28c653360fe4b3aba7e534442e7e1e17895dfe778d0228977'],
    ]
    for (const [features, append, want] of cases) {
      const d = launchDigest({
        vcpus: 1, vcpuType: 5, vmmType: 1, guestFeatures: features, ovmfHash: fw, ovmf: SEV_CRATE_OVMF,
        kernelHash: empty, initrdHash: empty, appendHash: sha256(utf8(append === undefined ? '\0' : `${append}\0`)),
      })
      equal(hex(d), want, `features 0x${features.toString(16)}, append ${JSON.stringify(append)}`)
    }
  })
  add('parseOvmf reads the footer table and SEV metadata (OVMF-1.55 and the sev crate layout)', () => {
    for (const l of [OVMF_1_55, SEV_CRATE_OVMF]) {
      const p = parseOvmf(ovmfTail(l), l.name)
      deepEqual([BigInt(p.resetEip), BigInt(p.sevHashesTableGpa)], [BigInt(l.resetEip), BigInt(l.sevHashesTableGpa)], 'eip, hashes gpa')
      deepEqual(p.sections.map((s) => [s.gpa, s.size, s.type].map(BigInt)), l.sections.map((s) => [s.gpa, s.size, s.type].map(BigInt)), 'sections')
    }
    equal(SECTION.SNP_KERNEL_HASHES, 0x10, 'kernel hashes type')
  })

  // admissible-report.eterm: the message HyperBEAM's verify_test posts (committed by the admissible-report wallet).
  const eterm = parseEterm(fromUtf8(await fx.bytes(`${HB}/admissible-report.eterm`))) as Message
  const hbWallet = await fx.json(`${HB}/admissible-report-wallet.json`)
  const verifyingNode = { snpTrusted: [msg(TEST_HASHES)], enforcedKeys: ['vcpu_type', 'vmm_type', 'guest_features', 'firmware', 'kernel', 'initrd', 'append'] }
  add('HyperBEAM admissible-report: the .eterm message carries admissible-report.json', () => {
    ok(isMessage(eterm) && typeof eterm['report'] === 'string', 'report')
    deepEqual(reportBytesFromJson(eterm['report'] as string), reportBytesFromJson(hbText['admissible-report.json']!), 'same report')
  })
  add('HyperBEAM admissible-report: nonce = address ‖ ID(node-message) and debug off; its report was made over another nonce', async () => {
    const nodeId = reportDataFor(eterm['address'] as string, messageId(eterm['node-message'] as Message))
    equal(toB64Url(nodeId), eterm['nonce'], 'nonce')
    const v = await verifyEvidence(eterm, verifyingNode)
    const by = Object.fromEntries(v.checks.map((c) => [c.name, c.ok]))
    deepEqual([by['nonce'], by['debug']], [true, true], 'nonce, debug (HyperBEAM passes both)')
    // HyperBEAM never compares the nonce with the report's report_data; this fixture's report carries the
    // address but another node-message ID (it was generated for a different node message), which our check catches.
    const rd = parseReport(eterm['report'] as string).reportData
    equal(toB64Url(rd.subarray(0, 32)), eterm['address'], 'report_data starts with the address')
    equal(by['report-data'], false, 'report-data (ours)')
  })
  add('HyperBEAM admissible-report: trusted software and the measurement (OVMF-1.55 launch digest) pass', async () => {
    const v = await verifyEvidence(eterm, verifyingNode)
    const by = Object.fromEntries(v.checks.map((c) => [c.name, c]))
    ok(by['trusted-software']!.ok, `trusted-software: ${by['trusted-software']!.detail}`)
    ok(by['measurement']!.ok, `measurement: ${by['measurement']!.detail}`)
    deepEqual(expectedMeasurement(eterm['local-hashes'] as Message), parseReport(eterm['report'] as string).measurement, 'digest')
  })
  add('HyperBEAM verify_test: signed by the admissible-report wallet, HyperBEAM\'s checks pass but the VCEK\'s (it is not public)', async () => {
    const wallet = await loadJwk(hbWallet)
    equal(wallet.address, eterm['address'], 'wallet address')
    const signed = await commitMessage(eterm, { wallet })
    const v = await verifyEvidence(signed, verifyingNode)
    equal(v.address, eterm['address'], 'address')
    deepEqual(failed(v.checks), ['report-data', 'report/certificate'], 'failed checks')
    equal(v.hyperbeam, 'report_signature_invalid', 'HyperBEAM answer offline (online it fetches the VCEK and answers true)')
    const unsigned = await verifyEvidence(eterm, verifyingNode)
    equal(unsigned.hyperbeam, 'signature_or_address_invalid', 'unsigned')
  })
  add('HyperBEAM execute_is_trusted tests: vcpus 16 fails when enforced, passes when not', () => {
    const local = msg({ ...TEST_HASHES, vcpus: 16n })
    equal(softwareTrusted(local, [msg(TEST_HASHES)], ['vcpus', 'vcpu_type', 'vmm_type', 'guest_features', 'firmware', 'kernel', 'initrd', 'append']).ok, false, 'exact match')
    equal(softwareTrusted(local, [msg(TEST_HASHES)], ['vcpu_type', 'vmm_type', 'guest_features', 'firmware', 'kernel', 'initrd', 'append']).ok, true, 'subset match')
    equal(softwareTrusted(local, [], ['firmware']).ok, false, 'no trusted configs')
  })
  add('HyperBEAM answers: a wrong trusted config is untrusted_software, a wrong address nonce_mismatch', async () => {
    const wrong = { snpTrusted: [msg({ vcpus: 32n, vcpu_type: 3n, firmware: 'different_firmware_hash', kernel: 'different_kernel_hash' })], enforcedKeys: ['vcpus', 'vcpu_type', 'firmware', 'kernel'] }
    const wallet = await loadJwk(hbWallet)
    const signed = await commitMessage(eterm, { wallet })
    equal((await verifyEvidence(signed, wrong)).hyperbeam, 'untrusted_software', 'wrong config')
    const other = msg({ ...eterm, address: toB64Url(new Uint8Array(32).fill(7)) })
    equal((await verifyEvidence(other, verifyingNode)).hyperbeam, 'nonce_mismatch', 'another address')
    const hashes = msg({ ...(eterm['local-hashes'] as Message), vcpus: 31n })
    const v = await verifyEvidence(msg({ ...eterm, 'local-hashes': hashes }), verifyingNode)
    ok(!v.checks.find((c) => c.name === 'measurement')!.ok, 'a different vCPU count changes the measurement')
  })

  // ---- a simulated machine under a TEST root ----
  add('simulated hardware (TEST root): VCEK and VLEK reports verify under their root, never under AMD\'s', async () => {
    const sim = await simulatedSnp()
    const data = new Uint8Array(64).fill(9)
    const vcekReport = await sim.report(data)
    const v = await verifyReport(vcekReport, { cert: sim.vcekDer, at: AT, trust: sim.trust })
    deepEqual(failed(v.checks), [], 'VCEK under the TEST root')
    equal(v.trust, 'TEST (simulated hardware)', 'trust')
    const amd = await verifyReport(vcekReport, { cert: sim.vcekDer, at: AT })
    deepEqual(failed(amd.checks), ['chain'], 'under AMD: the TEST intermediate is not an AMD one')
    ok(!amd.verified, 'not verified under AMD')
    const vlekReport = await sim.report(data, { vlek: true })
    const l = await verifyReport(vlekReport, { cert: sim.vlekDer, at: AT, trust: sim.trust })
    deepEqual(failed(l.checks), [], 'VLEK under the TEST root')
    equal(l.certificateKind, 'VLEK', 'kind')
    const mixed = await verifyReport(vlekReport, { cert: sim.vcekDer, at: AT, trust: sim.trust })
    deepEqual(failed(mixed.checks), ['signing-key', 'chip-id', 'report-signature'], 'VLEK-signed report with the VCEK')
  })
  add('simulated generate → verify with a challenge (the relay\'s binding), and a replayed challenge fails', async () => {
    const sim = await simulatedSnp()
    const wallet = await loadJwk(hbWallet)
    const challenge = new Uint8Array(32).fill(3)
    const node = msg({ snp_trusted: [msg(TEST_HASHES)], priv_secret: 'never leaves' })
    const measurement = expectedMeasurement(msg(TEST_HASHES))
    const ev = await generateEvidence({
      address: wallet.address, node, challenge,
      hardware: async (rd) => ({ report: await sim.report(rd, { measurement }), certificates: { vcek: sim.vcekDer } }),
    })
    ok(!('priv_secret' in (ev['node-message'] as Message)), 'private keys are not reported')
    const signed = await commitMessage(ev, { wallet })
    const opts = { snpTrusted: [msg(TEST_HASHES)], trust: sim.trust, at: AT }
    const v = await verifyEvidence(signed, { ...opts, challenge })
    deepEqual(failed(v.checks), [], 'all checks')
    equal(v.hyperbeam, 'true', 'HyperBEAM answer')
    const replay = await verifyEvidence(signed, { ...opts, challenge: new Uint8Array(32).fill(4) })
    equal(replay.hyperbeam, 'nonce_mismatch', 'another challenge')
    deepEqual(failed(replay.checks), ['nonce'], 'only the nonce fails')
  })
  return { name: 'snp', cases }
}
