/**
 * The few DER reads X.509 verification needs beyond the ASN.1 schema library:
 * the exact bytes of a certificate's TBSCertificate (what the issuer signed),
 * and the primitive values of AMD's VCEK extensions.
 */
import { InvalidSnpCertificate } from '../core/errors.ts'

export interface Tlv { tag: number; start: number; contentStart: number; end: number }

export function readTlv(b: Uint8Array, at: number): Tlv {
  if (at + 2 > b.length) throw new InvalidSnpCertificate('truncated DER')
  const tag = b[at]!
  if ((tag & 0x1f) === 0x1f) throw new InvalidSnpCertificate('multi-byte DER tags are not used in certificates')
  let len = b[at + 1]!
  let p = at + 2
  if (len & 0x80) {
    const n = len & 0x7f
    if (n === 0 || n > 4 || p + n > b.length) throw new InvalidSnpCertificate('bad DER length')
    len = 0
    for (let i = 0; i < n; i++) len = len * 256 + b[p + i]!
    p += n
  }
  if (p + len > b.length) throw new InvalidSnpCertificate('DER length runs past the end')
  return { tag, start: at, contentStart: p, end: p + len }
}

/** The TBSCertificate bytes of a DER certificate, exactly as signed. */
export function tbsBytes(der: Uint8Array): Uint8Array {
  const outer = readTlv(der, 0)
  if (outer.tag !== 0x30 || outer.end !== der.length) throw new InvalidSnpCertificate('a certificate is one DER SEQUENCE')
  const tbs = readTlv(der, outer.contentStart)
  if (tbs.tag !== 0x30) throw new InvalidSnpCertificate('the TBSCertificate is not a SEQUENCE')
  return der.subarray(tbs.start, tbs.end)
}

/** A small DER INTEGER (AMD's SPL extensions) or undefined when the value is not one. */
export function derSmallInt(v: Uint8Array): number | undefined {
  if (v.length < 3 || v[0] !== 0x02) return undefined
  const t = readTlv(v, 0)
  if (t.end !== v.length || t.end - t.contentStart > 6) return undefined
  let n = 0
  for (let i = t.contentStart; i < t.end; i++) n = n * 256 + v[i]!
  return n
}

/** A DER string (IA5String, UTF8String, PrintableString), or undefined. */
export function derString(v: Uint8Array): string | undefined {
  if (v.length < 2 || (v[0] !== 0x16 && v[0] !== 0x0c && v[0] !== 0x13)) return undefined
  const t = readTlv(v, 0)
  if (t.end !== v.length) return undefined
  return new TextDecoder().decode(v.subarray(t.contentStart, t.end))
}
