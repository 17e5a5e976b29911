/**
 * X.509 certificates of the SEV-SNP chain (ARK → ASK/ASVK → VCEK/VLEK),
 * parsed with the @peculiar ASN.1 schemas and verified with WebCrypto.
 *
 * AMD signs with RSASSA-PSS / SHA-384 / salt 48; a VCEK has serial number 0,
 * which strict X.509 libraries reject: we accept it. The VCEK's own key is
 * ECDSA P-384 and signs the reports. AMD's custom extensions (OIDs under
 * 1.3.6.1.4.1.3704.1) carry the product name, the TCB SVNs the key was
 * derived for, and the chip ID (hwID, VCEK only) or CSP ID (VLEK only).
 */
import { AsnConvert } from '@peculiar/asn1-schema'
import { Certificate, Name } from '@peculiar/asn1-x509'
import { RsaSaPssParams, RSAPublicKey } from '@peculiar/asn1-rsa'
import { InvalidSnpCertificate } from '../core/errors.ts'
import { bytesEqual, fromB64, toB64Url } from '../core/bytes.ts'
import { derSmallInt, derString, tbsBytes } from './der.ts'
import { AMD_ROOTS_B64 } from './amd-roots.ts'
import type { Product } from './report.ts'

const OID = {
  rsaEncryption: '1.2.840.113549.1.1.1',
  rsaPss: '1.2.840.113549.1.1.10',
  sha256WithRsa: '1.2.840.113549.1.1.11',
  sha384WithRsa: '1.2.840.113549.1.1.12',
  sha512WithRsa: '1.2.840.113549.1.1.13',
  ecPublicKey: '1.2.840.10045.2.1',
  secp384r1: '1.3.132.0.34',
  ecdsaSha256: '1.2.840.10045.4.3.2',
  ecdsaSha384: '1.2.840.10045.4.3.3',
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',
  cn: '2.5.4.3',
} as const

/** AMD's VCEK/VLEK extension OIDs. */
export const AMD_EXT = {
  structVersion: '1.3.6.1.4.1.3704.1.1',
  productName: '1.3.6.1.4.1.3704.1.2',
  blSPL: '1.3.6.1.4.1.3704.1.3.1',
  teeSPL: '1.3.6.1.4.1.3704.1.3.2',
  snpSPL: '1.3.6.1.4.1.3704.1.3.3',
  ucodeSPL: '1.3.6.1.4.1.3704.1.3.8',
  fmcSPL: '1.3.6.1.4.1.3704.1.3.9',
  hwID: '1.3.6.1.4.1.3704.1.4',
  cspID: '1.3.6.1.4.1.3704.1.5',
} as const

export type SignatureScheme =
  | { kind: 'rsa-pss'; hash: string; saltLength: number }
  | { kind: 'rsa-pkcs1'; hash: string }
  | { kind: 'ecdsa'; hash: string }
  | { kind: 'unsupported'; oid: string }

export interface AmdExtensions {
  productName?: string
  blSPL?: number
  teeSPL?: number
  snpSPL?: number
  ucodeSPL?: number
  fmcSPL?: number
  hwID?: Uint8Array
  cspID?: string
}

export interface SnpCert {
  der: Uint8Array
  tbs: Uint8Array
  subject: string
  issuer: string
  subjectCN: string
  issuerCN: string
  /** DER of the names, compared byte for byte to link issuer and subject. */
  subjectDer: Uint8Array
  issuerDer: Uint8Array
  notBefore: Date
  notAfter: Date
  serial: Uint8Array
  scheme: SignatureScheme
  signature: Uint8Array
  key: { kind: 'rsa'; n: Uint8Array; e: Uint8Array } | { kind: 'ec-p384'; spki: Uint8Array } | { kind: 'other'; oid: string }
  amd: AmdExtensions
}

const HASHES: Record<string, string> = { [OID.sha256]: 'SHA-256', [OID.sha384]: 'SHA-384', [OID.sha512]: 'SHA-512' }

function dn(name: Name): string {
  return name.map((rdn) => rdn.map((a) => `${a.type === OID.cn ? 'CN' : a.type}=${a.value.toString()}`).join('+')).join(', ')
}

function cnOf(name: Name): string {
  for (const rdn of name) for (const a of rdn) if (a.type === OID.cn) return a.value.toString()
  return ''
}

function schemeOf(alg: { algorithm: string; parameters?: ArrayBuffer | null }): SignatureScheme {
  switch (alg.algorithm) {
    case OID.rsaPss: {
      // RFC 4055 defaults: SHA-1 and salt 20; AMD states SHA-384 and 48.
      let hash = 'SHA-1'
      let saltLength = 20
      if (alg.parameters && alg.parameters.byteLength > 0) {
        const p = AsnConvert.parse(alg.parameters, RsaSaPssParams)
        hash = HASHES[p.hashAlgorithm.algorithm] ?? `unsupported ${p.hashAlgorithm.algorithm}`
        saltLength = p.saltLength
      }
      return { kind: 'rsa-pss', hash, saltLength }
    }
    case OID.sha256WithRsa: return { kind: 'rsa-pkcs1', hash: 'SHA-256' }
    case OID.sha384WithRsa: return { kind: 'rsa-pkcs1', hash: 'SHA-384' }
    case OID.sha512WithRsa: return { kind: 'rsa-pkcs1', hash: 'SHA-512' }
    case OID.ecdsaSha256: return { kind: 'ecdsa', hash: 'SHA-256' }
    case OID.ecdsaSha384: return { kind: 'ecdsa', hash: 'SHA-384' }
    default: return { kind: 'unsupported', oid: alg.algorithm }
  }
}

const unsignedBytes = (b: Uint8Array): Uint8Array => {
  let i = 0
  while (i < b.length - 1 && b[i] === 0) i++
  return b.subarray(i)
}

/** Parse a certificate from DER bytes or PEM text. */
export function parseCert(input: Uint8Array | string): SnpCert {
  const der = typeof input === 'string' ? pemToDer(input)[0]! : looksLikePem(input) ? pemToDer(new TextDecoder().decode(input))[0]! : input
  let cert: Certificate
  let tbs: Uint8Array
  try {
    tbs = tbsBytes(der)
    cert = AsnConvert.parse(der, Certificate)
  } catch (e) {
    if (e instanceof InvalidSnpCertificate) throw e
    throw new InvalidSnpCertificate(`not an X.509 certificate: ${(e as Error).message}`)
  }
  const t = cert.tbsCertificate
  const spkiAlg = t.subjectPublicKeyInfo.algorithm
  let key: SnpCert['key']
  if (spkiAlg.algorithm === OID.rsaEncryption || spkiAlg.algorithm === OID.rsaPss) {
    const k = AsnConvert.parse(t.subjectPublicKeyInfo.subjectPublicKey, RSAPublicKey)
    key = { kind: 'rsa', n: unsignedBytes(new Uint8Array(k.modulus)), e: unsignedBytes(new Uint8Array(k.publicExponent)) }
  } else if (spkiAlg.algorithm === OID.ecPublicKey) {
    const params = spkiAlg.parameters ? new Uint8Array(spkiAlg.parameters) : new Uint8Array()
    const isP384 = bytesEqual(params, new Uint8Array([0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22]))
    key = isP384 ? { kind: 'ec-p384', spki: new Uint8Array(AsnConvert.serialize(t.subjectPublicKeyInfo)) } : { kind: 'other', oid: `${spkiAlg.algorithm} (not P-384)` }
  } else key = { kind: 'other', oid: spkiAlg.algorithm }
  const amd: AmdExtensions = {}
  for (const ext of t.extensions ?? []) {
    const v = new Uint8Array(ext.extnValue.buffer)
    switch (ext.extnID) {
      case AMD_EXT.productName: { const s = derString(v); if (s !== undefined) amd.productName = s; break }
      case AMD_EXT.blSPL: { const n = derSmallInt(v); if (n !== undefined) amd.blSPL = n; break }
      case AMD_EXT.teeSPL: { const n = derSmallInt(v); if (n !== undefined) amd.teeSPL = n; break }
      case AMD_EXT.snpSPL: { const n = derSmallInt(v); if (n !== undefined) amd.snpSPL = n; break }
      case AMD_EXT.ucodeSPL: { const n = derSmallInt(v); if (n !== undefined) amd.ucodeSPL = n; break }
      case AMD_EXT.fmcSPL: { const n = derSmallInt(v); if (n !== undefined) amd.fmcSPL = n; break }
      // hwID is the raw chip ID (64 bytes; 8 on Turin), not DER-wrapped.
      case AMD_EXT.hwID: amd.hwID = v.slice(); break
      case AMD_EXT.cspID: { const s = derString(v); amd.cspID = s ?? new TextDecoder().decode(v); break }
    }
  }
  return {
    der, tbs,
    subject: dn(t.subject), issuer: dn(t.issuer), subjectCN: cnOf(t.subject), issuerCN: cnOf(t.issuer),
    subjectDer: new Uint8Array(AsnConvert.serialize(t.subject)), issuerDer: new Uint8Array(AsnConvert.serialize(t.issuer)),
    notBefore: t.validity.notBefore.getTime(), notAfter: t.validity.notAfter.getTime(),
    serial: new Uint8Array(t.serialNumber),
    scheme: schemeOf(cert.signatureAlgorithm),
    signature: new Uint8Array(cert.signatureValue),
    key, amd,
  }
}

const looksLikePem = (b: Uint8Array): boolean => b.length > 10 && b[0] === 0x2d /* - */

/** Every certificate of a PEM text, as DER. */
export function pemToDer(text: string): Uint8Array[] {
  const out = [...text.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)].map((m) => fromB64(m[1]!.replace(/\s+/g, '')))
  if (out.length === 0) throw new InvalidSnpCertificate('no PEM certificate found')
  return out
}

// ---- signatures ----

const subtle = (): SubtleCrypto => globalThis.crypto.subtle
const keyCache = new WeakMap<SnpCert, Map<string, Promise<CryptoKey>>>()

function importKey(cert: SnpCert, usage: string, alg: RsaHashedImportParams | EcKeyImportParams): Promise<CryptoKey> {
  let m = keyCache.get(cert)
  if (!m) keyCache.set(cert, (m = new Map()))
  let k = m.get(usage)
  if (!k) {
    const key = cert.key
    k = key.kind === 'rsa'
      ? subtle().importKey('jwk', { kty: 'RSA', n: toB64Url(key.n), e: toB64Url(key.e), ext: true }, alg, false, ['verify'])
      : key.kind === 'ec-p384'
        ? subtle().importKey('spki', key.spki as BufferSource, alg, false, ['verify'])
        : Promise.reject(new InvalidSnpCertificate(`unsupported public key ${key.oid}`))
    k.catch(() => {})
    m.set(usage, k)
  }
  return k
}

/** Does `issuer`'s key verify `cert`'s signature? Errors (bad key, unsupported scheme) answer false with a reason. */
export async function verifyCertSignature(cert: SnpCert, issuer: SnpCert): Promise<{ ok: boolean; reason?: string }> {
  const s = cert.scheme
  try {
    if (s.kind === 'rsa-pss' || s.kind === 'rsa-pkcs1') {
      if (issuer.key.kind !== 'rsa') return { ok: false, reason: `${cert.subjectCN} is RSA-signed but ${issuer.subjectCN}'s key is not RSA` }
      if (!s.hash.startsWith('SHA-')) return { ok: false, reason: `unsupported hash ${s.hash}` }
      const name = s.kind === 'rsa-pss' ? 'RSA-PSS' : 'RSASSA-PKCS1-v1_5'
      const key = await importKey(issuer, `${name}/${s.hash}`, { name, hash: s.hash })
      const params = s.kind === 'rsa-pss' ? { name, saltLength: s.saltLength } : { name }
      const ok = await subtle().verify(params, key, cert.signature as BufferSource, cert.tbs as BufferSource)
      return ok ? { ok } : { ok, reason: `${issuer.subjectCN}'s key does not verify the signature of ${cert.subjectCN}` }
    }
    if (s.kind === 'ecdsa') {
      if (issuer.key.kind !== 'ec-p384') return { ok: false, reason: `${cert.subjectCN} is ECDSA-signed but ${issuer.subjectCN}'s key is not P-384` }
      const key = await importKey(issuer, 'ECDSA', { name: 'ECDSA', namedCurve: 'P-384' })
      const sig = derEcdsaToP1363(cert.signature, 48)
      const ok = sig !== undefined && await subtle().verify({ name: 'ECDSA', hash: s.hash }, key, sig as BufferSource, cert.tbs as BufferSource)
      return ok ? { ok } : { ok, reason: `${issuer.subjectCN}'s key does not verify the signature of ${cert.subjectCN}` }
    }
    return { ok: false, reason: `unsupported certificate signature algorithm ${s.oid}` }
  } catch (e) {
    return { ok: false, reason: `signature check failed: ${(e as Error).message}` }
  }
}

/** An X.509 ECDSA-Sig-Value (DER SEQUENCE of r, s) as fixed-size r ‖ s. */
function derEcdsaToP1363(der: Uint8Array, size: number): Uint8Array | undefined {
  if (der[0] !== 0x30) return undefined
  let p = 2
  if (der[1]! & 0x80) p = 2 + (der[1]! & 0x7f)
  const out = new Uint8Array(size * 2)
  for (let i = 0; i < 2; i++) {
    if (der[p] !== 0x02) return undefined
    const len = der[p + 1]!
    const v = unsignedBytes(der.subarray(p + 2, p + 2 + len))
    if (v.length > size) return undefined
    out.set(v, size * (i + 1) - v.length)
    p += 2 + len
  }
  return out
}

/** Verify an ECDSA P-384 / SHA-384 signature (r ‖ s, big-endian) with a certificate's key. */
export async function verifyP384(cert: SnpCert, message: Uint8Array, p1363: Uint8Array): Promise<boolean> {
  const key = await importKey(cert, 'ECDSA', { name: 'ECDSA', namedCurve: 'P-384' })
  return subtle().verify({ name: 'ECDSA', hash: 'SHA-384' }, key, p1363 as BufferSource, message as BufferSource)
}

export const validAt = (c: SnpCert, at: Date): boolean => c.notBefore.getTime() <= at.getTime() && at.getTime() <= c.notAfter.getTime()

// ---- trust anchors ----

/** One product's roots: the ARK and the intermediates it signs (ASK for VCEKs, ASVK for VLEKs). */
export interface ProductRoots { product: Product; ark: SnpCert; ask?: SnpCert; asvk?: SnpCert }

export interface TrustStore {
  /** `AMD` for the shipped roots; anything else is a test or private root. */
  name: string
  roots: ProductRoots[]
  /** Self-signature and intermediate checks of the roots, done once per store. */
  checked: Map<SnpCert, Promise<{ ok: boolean; reason?: string }>>
}

export function trustStore(name: string, roots: ProductRoots[]): TrustStore {
  return { name, roots, checked: new Map() }
}

let amdStore: TrustStore | undefined

/** AMD's roots for Milan, Genoa and Turin, shipped with the project (src/snp/amd-roots.ts). */
export function amdTrustStore(): TrustStore {
  amdStore ??= freshAmdTrustStore()
  return amdStore
}

/**
 * A new store over the shipped AMD roots, with nothing cached (benchmarks measure the cold path with it).
 * Each certificate is parsed the first time it is needed, so a first verification parses three, not nine.
 */
export function freshAmdTrustStore(): TrustStore {
  return trustStore('AMD', AMD_ROOTS_B64.map((r) => {
    const lazy: Partial<Record<'ark' | 'ask' | 'asvk', SnpCert>> = {}
    const get = (k: 'ark' | 'ask' | 'asvk'): SnpCert => (lazy[k] ??= parseCert(fromB64(r[k])))
    return {
      product: r.product,
      get ark() { return get('ark') },
      get ask() { return get('ask') },
      get asvk() { return get('asvk') },
    }
  }))
}

/** Checked once per store: `cert` signed by `issuer` (the ARK by itself). */
export function checkedOnce(store: TrustStore, cert: SnpCert, issuer: SnpCert): Promise<{ ok: boolean; reason?: string }> {
  let p = store.checked.get(cert)
  if (!p) store.checked.set(cert, (p = verifyCertSignature(cert, issuer)))
  return p
}

/** The product roots and intermediate whose subject is the certificate's issuer. */
export function findIssuer(store: TrustStore, cert: SnpCert): { roots: ProductRoots; intermediate: SnpCert; kind: 'ASK' | 'ASVK' } | undefined {
  // AMD names intermediates SEV-<product> and SEV-VLEK-<product>: look there first (the match itself is on the DER names).
  const named = store.roots.filter((r) => cert.issuerCN.endsWith(`-${r.product}`))
  for (const roots of [...named, ...store.roots.filter((r) => !named.includes(r))]) {
    if (roots.ask && bytesEqual(roots.ask.subjectDer, cert.issuerDer)) return { roots, intermediate: roots.ask, kind: 'ASK' }
    if (roots.asvk && bytesEqual(roots.asvk.subjectDer, cert.issuerDer)) return { roots, intermediate: roots.asvk, kind: 'ASVK' }
  }
  return undefined
}
