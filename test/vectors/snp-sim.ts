/**
 * Simulated SEV-SNP hardware for tests: a TEST trust root (ARK → ASK/ASVK →
 * VCEK/VLEK, shaped like AMD's: RSA-PSS SHA-384 salt 48, a P-384 VCEK with
 * serial 0 and AMD's extensions) generated in the test, and reports signed by
 * its VCEK. The root is named "ao-tab TEST root — not AMD"; it is never
 * shipped and never trusted outside the test that made it.
 *
 * Pure TypeScript over WebCrypto: runs in Node and in the browser worker.
 */
import { AsnConvert, OctetString } from '@peculiar/asn1-schema'
import {
  AlgorithmIdentifier, AttributeTypeAndValue, AttributeValue, Certificate, Extension, Extensions, Name,
  RelativeDistinguishedName, SubjectPublicKeyInfo, TBSCertificate, Validity, Version,
} from '@peculiar/asn1-x509'
import { RsaSaPssParams } from '@peculiar/asn1-rsa'
import { AMD_EXT, parseCert, trustStore, type SnpCert, type TrustStore } from '../../src/snp/certs.ts'
import { encodeTcb, REPORT_SIZE, SIG_R, SIG_S, SIGNED_SIZE, type Product } from '../../src/snp/report.ts'

const subtle = globalThis.crypto.subtle
const SHA384 = '2.16.840.1.101.3.4.2.2'

function pssAlg(): AlgorithmIdentifier {
  const hash = new AlgorithmIdentifier({ algorithm: SHA384, parameters: null })
  const params = new RsaSaPssParams({
    hashAlgorithm: hash,
    maskGenAlgorithm: new AlgorithmIdentifier({ algorithm: '1.2.840.113549.1.1.8', parameters: AsnConvert.serialize(hash) }),
    saltLength: 48,
  })
  return new AlgorithmIdentifier({ algorithm: '1.2.840.113549.1.1.10', parameters: AsnConvert.serialize(params) })
}

function name(cn: string): Name {
  const rdn = (type: string, v: string): RelativeDistinguishedName =>
    new RelativeDistinguishedName([new AttributeTypeAndValue({ type, value: new AttributeValue({ utf8String: v }) })])
  return new Name([rdn('2.5.4.10', 'ao-tab TEST root - not AMD'), rdn('2.5.4.3', cn)])
}

const derInt = (n: number): ArrayBuffer => new Uint8Array(n < 0x80 ? [0x02, 0x01, n] : [0x02, 0x02, 0x00, n]).buffer
const derIa5 = (s: string): ArrayBuffer => new Uint8Array([0x16, s.length, ...new TextEncoder().encode(s)]).buffer

async function makeCert(o: {
  subject: string; issuer: string; serial: number; spki: ArrayBuffer; signer: CryptoKey
  notBefore: Date; notAfter: Date; ext?: [string, ArrayBuffer][]
}): Promise<Uint8Array> {
  const alg = pssAlg()
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: new Uint8Array([o.serial]).buffer,
    signature: alg,
    issuer: name(o.issuer),
    validity: new Validity({ notBefore: o.notBefore, notAfter: o.notAfter }),
    subject: name(o.subject),
    subjectPublicKeyInfo: AsnConvert.parse(o.spki, SubjectPublicKeyInfo),
    ...(o.ext ? { extensions: new Extensions(o.ext.map(([id, v]) => new Extension({ extnID: id, critical: false, extnValue: new OctetString(v) }))) } : {}),
  })
  const sig = await subtle.sign({ name: 'RSA-PSS', saltLength: 48 }, o.signer, AsnConvert.serialize(tbs))
  return new Uint8Array(AsnConvert.serialize(new Certificate({ tbsCertificate: tbs, signatureAlgorithm: alg, signatureValue: sig })))
}

const rsaKey = (): Promise<CryptoKeyPair> => subtle.generateKey(
  { name: 'RSA-PSS', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-384' }, true, ['sign', 'verify']) as Promise<CryptoKeyPair>
const p384 = (): Promise<CryptoKeyPair> => subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, true, ['sign', 'verify']) as Promise<CryptoKeyPair>

export interface SimTcb { bootloader: number; tee: number; snp: number; microcode: number }

export interface SimulatedSnp {
  trust: TrustStore
  vcek: SnpCert
  vcekDer: Uint8Array
  vlekDer: Uint8Array
  chipId: Uint8Array
  tcb: SimTcb
  /** A signed report over report_data (and a measurement, default zeros). */
  report(reportData: Uint8Array, o?: { measurement?: Uint8Array; policy?: bigint; vlek?: boolean }): Promise<Uint8Array>
}

/** A fresh simulated machine: its own TEST root, one chip, one TCB. */
export async function simulatedSnp(o: { product?: Product; notBefore?: Date; notAfter?: Date; tcb?: SimTcb } = {}): Promise<SimulatedSnp> {
  const product = o.product ?? 'Milan'
  const notBefore = o.notBefore ?? new Date('2024-01-01T00:00:00Z')
  const notAfter = o.notAfter ?? new Date('2044-01-01T00:00:00Z')
  const tcb = o.tcb ?? { bootloader: 4, tee: 0, snp: 22, microcode: 213 }
  const chipId = globalThis.crypto.getRandomValues(new Uint8Array(64))
  const [ark, ask, asvk, vcek, vlek] = await Promise.all([rsaKey(), rsaKey(), rsaKey(), p384(), p384()])
  const spki = (k: CryptoKeyPair): Promise<ArrayBuffer> => subtle.exportKey('spki', k.publicKey)
  const spl: [string, ArrayBuffer][] = [
    [AMD_EXT.structVersion, derInt(1)], [AMD_EXT.productName, derIa5(`${product}-B0`)],
    [AMD_EXT.blSPL, derInt(tcb.bootloader)], [AMD_EXT.teeSPL, derInt(tcb.tee)], [AMD_EXT.snpSPL, derInt(tcb.snp)], [AMD_EXT.ucodeSPL, derInt(tcb.microcode)],
  ]
  const arkDer = await makeCert({ subject: `ARK-${product}`, issuer: `ARK-${product}`, serial: 1, spki: await spki(ark), signer: ark.privateKey, notBefore, notAfter })
  const askDer = await makeCert({ subject: `SEV-${product}`, issuer: `ARK-${product}`, serial: 2, spki: await spki(ask), signer: ark.privateKey, notBefore, notAfter })
  const asvkDer = await makeCert({ subject: `SEV-VLEK-${product}`, issuer: `ARK-${product}`, serial: 3, spki: await spki(asvk), signer: ark.privateKey, notBefore, notAfter })
  const vcekDer = await makeCert({
    subject: 'SEV-VCEK', issuer: `SEV-${product}`, serial: 0, spki: await spki(vcek), signer: ask.privateKey, notBefore, notAfter,
    ext: [...spl, [AMD_EXT.hwID, chipId.slice().buffer]],
  })
  const vlekDer = await makeCert({
    subject: 'SEV-VLEK', issuer: `SEV-VLEK-${product}`, serial: 0, spki: await spki(vlek), signer: asvk.privateKey, notBefore, notAfter,
    ext: [...spl, [AMD_EXT.cspID, derIa5('ao-tab-test-csp')]],
  })
  const trust = trustStore('TEST (simulated hardware)', [{ product, ark: parseCert(arkDer), ask: parseCert(askDer), asvk: parseCert(asvkDer) }])
  const tcbRaw = encodeTcb(tcb, false)
  return {
    trust, vcek: parseCert(vcekDer), vcekDer, vlekDer, chipId, tcb,
    async report(reportData, r = {}) {
      if (reportData.length !== 64) throw new Error('report_data is 64 bytes')
      const b = new Uint8Array(REPORT_SIZE)
      const v = new DataView(b.buffer)
      v.setUint32(0x00, 2, true)
      v.setBigUint64(0x08, r.policy ?? 0x30000n, true)
      v.setUint32(0x30, 1, true)
      v.setUint32(0x34, 1, true)
      b.set(tcbRaw, 0x38)
      v.setBigUint64(0x40, 3n, true)
      v.setUint32(0x48, r.vlek ? 1 << 2 : 0, true)
      b.set(reportData, 0x50)
      if (r.measurement) b.set(r.measurement, 0x90)
      b.set(globalThis.crypto.getRandomValues(new Uint8Array(32)), 0x140)
      b.fill(0xff, 0x160, 0x180)
      b.set(tcbRaw, 0x180)
      if (!r.vlek) b.set(chipId, 0x1a0)
      b.set(tcbRaw, 0x1e0)
      b.set([7, 55, 1], 0x1e8)
      b.set([7, 55, 1], 0x1ec)
      b.set(tcbRaw, 0x1f0)
      const sig = new Uint8Array(await subtle.sign({ name: 'ECDSA', hash: 'SHA-384' }, (r.vlek ? vlek : vcek).privateKey, b.subarray(0, SIGNED_SIZE)))
      for (let i = 0; i < 48; i++) { b[SIG_R + i] = sig[47 - i]!; b[SIG_S + i] = sig[95 - i]! }
      return b
    },
  }
}
