/**
 * AMD SEV-SNP attestation reports (ATTESTATION_REPORT, 1184 bytes, all
 * integers little-endian; offsets in ../shared/vectors/sev-snp/layout.json),
 * and the JSON form the Rust `sev` crate gives them (serde), which is what
 * HyperBEAM's `report` key carries:
 *
 * - the old form (sev 4.x/5.x, HyperBEAM's fixtures): `_author_key_en`,
 *   `_reserved_0.._reserved_4`, flat `current_build/minor/major`, TCBs as
 *   `{bootloader, tee, _reserved[4], snp, microcode}`, signature `{r, s, _reserved}`;
 * - the new form (sev 6.x/7.x): `key_info`, `cpuid_fam_id/mod_id/step`,
 *   `current{major,minor,build}`, `committed{…}`, TCBs with `fmc` (Turin),
 *   `launch_mit_vector`, `current_mit_vector`, signature `{r, s}`.
 *
 * Every form is turned into the binary report, whose first 0x2A0 bytes are
 * what the VCEK/VLEK signed; the parsed view is read from those bytes.
 */
import { parse as losslessParse, isLosslessNumber, type LosslessNumber } from 'lossless-json'
import { InvalidSnpReport } from '../core/errors.ts'

export const REPORT_SIZE = 1184
/** Bytes 0x000..0x29F are signed. */
export const SIGNED_SIZE = 0x2a0
export const SIG_R = 0x2a0
export const SIG_S = 0x2e8
/** Bit 19 of the guest policy: debugging allowed (HyperBEAM requires it off). */
export const POLICY_DEBUG_BIT = 19n

export type Product = 'Milan' | 'Genoa' | 'Turin'
export type SigningKey = 'VCEK' | 'VLEK' | 'none' | 'reserved'

/** A TCB_VERSION: its raw 8 bytes and the SVNs they hold (the layout depends on the product). */
export interface Tcb {
  raw: Uint8Array
  fmc?: number
  bootloader: number
  tee: number
  snp: number
  microcode: number
}

export interface SnpReport {
  /** The 1184 bytes (from a JSON form: rebuilt). */
  bytes: Uint8Array
  version: number
  guestSvn: number
  policy: bigint
  familyId: Uint8Array
  imageId: Uint8Array
  vmpl: number
  sigAlgo: number
  currentTcb: Uint8Array
  platformInfo: bigint
  signerInfo: number
  authorKeyEn: boolean
  maskChipKey: boolean
  signingKey: SigningKey
  reportData: Uint8Array
  measurement: Uint8Array
  hostData: Uint8Array
  idKeyDigest: Uint8Array
  authorKeyDigest: Uint8Array
  reportId: Uint8Array
  reportIdMa: Uint8Array
  reportedTcb: Uint8Array
  /** CPUID family/model/stepping (version 3 and later). */
  cpuid?: { family: number; model: number; stepping: number }
  chipId: Uint8Array
  committedTcb: Uint8Array
  current: { major: number; minor: number; build: number }
  committed: { major: number; minor: number; build: number }
  launchTcb: Uint8Array
  /** The signature as big-endian r ‖ s (96 bytes, what WebCrypto's ECDSA takes). */
  signatureP1363: Uint8Array
  /** True when bytes 48..71 of r or s are all zero, as a P-384 signature needs. */
  signatureHighZero: boolean
}

const u32 = (b: Uint8Array, o: number): number => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0
const u64 = (b: Uint8Array, o: number): bigint => BigInt(u32(b, o)) | (BigInt(u32(b, o + 4)) << 32n)
const slice = (b: Uint8Array, o: number, n: number): Uint8Array => b.slice(o, o + n)

/** The product a report's CPUID fields name (version 3+), if any. */
export function productOfCpuid(family: number, model: number): Product | undefined {
  if (family === 0x19) return model <= 0x0f ? 'Milan' : model >= 0x10 && model <= 0x1f ? 'Genoa' : undefined
  if (family === 0x1a) return model <= 0x1f ? 'Turin' : undefined
  return undefined
}

/** Read a TCB_VERSION: Milan and Genoa keep bootloader, tee, snp, microcode at bytes 0, 1, 6, 7; Turin has fmc, bootloader, tee, snp at 0..3 and microcode at 7. */
export function decodeTcb(raw: Uint8Array, product: Product = 'Milan'): Tcb {
  if (product === 'Turin') return { raw, fmc: raw[0]!, bootloader: raw[1]!, tee: raw[2]!, snp: raw[3]!, microcode: raw[7]! }
  return { raw, bootloader: raw[0]!, tee: raw[1]!, snp: raw[6]!, microcode: raw[7]! }
}

export function encodeTcb(t: { fmc?: number | null; bootloader: number; tee: number; snp: number; microcode: number; reserved?: Uint8Array }, turin: boolean): Uint8Array {
  const raw = new Uint8Array(8)
  if (turin) {
    raw[0] = t.fmc ?? 0; raw[1] = t.bootloader; raw[2] = t.tee; raw[3] = t.snp; raw[7] = t.microcode
  } else {
    raw[0] = t.bootloader; raw[1] = t.tee
    if (t.reserved) raw.set(t.reserved.subarray(0, 4), 2)
    raw[6] = t.snp; raw[7] = t.microcode
  }
  return raw
}

/** Big-endian P-384 scalar from a 72-byte little-endian field: the low 48 bytes, reversed. */
function beScalar(field: Uint8Array): Uint8Array {
  const out = new Uint8Array(48)
  for (let i = 0; i < 48; i++) out[i] = field[47 - i]!
  return out
}

const SIGNING_KEYS: Record<number, SigningKey> = { 0: 'VCEK', 1: 'VLEK', 7: 'none' }

/** Parse the 1184-byte binary report. Any version parses (fields of later versions are read when present). */
export function parseReportBinary(bytes: Uint8Array): SnpReport {
  if (bytes.length !== REPORT_SIZE) throw new InvalidSnpReport(`an SEV-SNP report is ${REPORT_SIZE} bytes, got ${bytes.length}`)
  const b = bytes.slice()
  const version = u32(b, 0x00)
  const signerInfo = u32(b, 0x48)
  const r = b.subarray(SIG_R, SIG_R + 72)
  const s = b.subarray(SIG_S, SIG_S + 72)
  const highZero = r.subarray(48).every((x) => x === 0) && s.subarray(48).every((x) => x === 0)
  const sig = new Uint8Array(96)
  sig.set(beScalar(r), 0)
  sig.set(beScalar(s), 48)
  return {
    bytes: b,
    version,
    guestSvn: u32(b, 0x04),
    policy: u64(b, 0x08),
    familyId: slice(b, 0x10, 16),
    imageId: slice(b, 0x20, 16),
    vmpl: u32(b, 0x30),
    sigAlgo: u32(b, 0x34),
    currentTcb: slice(b, 0x38, 8),
    platformInfo: u64(b, 0x40),
    signerInfo,
    authorKeyEn: (signerInfo & 1) === 1,
    maskChipKey: (signerInfo & 2) === 2,
    signingKey: SIGNING_KEYS[(signerInfo >> 2) & 7] ?? 'reserved',
    reportData: slice(b, 0x50, 64),
    measurement: slice(b, 0x90, 48),
    hostData: slice(b, 0xc0, 32),
    idKeyDigest: slice(b, 0xe0, 48),
    authorKeyDigest: slice(b, 0x110, 48),
    reportId: slice(b, 0x140, 32),
    reportIdMa: slice(b, 0x160, 32),
    reportedTcb: slice(b, 0x180, 8),
    ...(version >= 3 ? { cpuid: { family: b[0x188]!, model: b[0x189]!, stepping: b[0x18a]! } } : {}),
    chipId: slice(b, 0x1a0, 64),
    committedTcb: slice(b, 0x1e0, 8),
    current: { build: b[0x1e8]!, minor: b[0x1e9]!, major: b[0x1ea]! },
    committed: { build: b[0x1ec]!, minor: b[0x1ed]!, major: b[0x1ee]! },
    launchTcb: slice(b, 0x1f0, 8),
    signatureP1363: sig,
    signatureHighZero: highZero,
  }
}

// ---- the sev crate's JSON forms ----

type Json = null | boolean | string | LosslessNumber | Json[] | { [k: string]: Json }

class Writer {
  readonly b = new Uint8Array(REPORT_SIZE)
  constructor(private readonly j: Record<string, Json>) {}
  int(key: string, where = key): bigint | undefined {
    const v = this.j[key]
    if (v === undefined || v === null) return undefined
    return intOf(v, where)
  }
  put(o: number, size: number, v: bigint | undefined, what: string): void {
    if (v === undefined) return
    if (v < 0n || v >= 1n << BigInt(size * 8)) throw new InvalidSnpReport(`${what} does not fit in ${size} bytes`)
    for (let i = 0; i < size; i++) this.b[o + i] = Number((v >> BigInt(8 * i)) & 0xffn)
  }
  num(key: string, o: number, size: number): void { this.put(o, size, this.int(key), key) }
  bytes(key: string, o: number, size: number, src: Record<string, Json> = this.j, where = key): void {
    const v = src[key]
    if (v === undefined || v === null) return
    this.b.set(byteArray(v, size, where), o)
  }
}

function intOf(v: Json, where: string): bigint {
  if (isLosslessNumber(v)) {
    const t = v.toString()
    if (!/^[0-9]+$/.test(t)) throw new InvalidSnpReport(`${where} is not a non-negative integer: ${t}`)
    return BigInt(t)
  }
  throw new InvalidSnpReport(`${where} is not an integer`)
}

function byteArray(v: Json, size: number, where: string): Uint8Array {
  if (!Array.isArray(v)) throw new InvalidSnpReport(`${where} is not an array of bytes`)
  if (v.length !== size) throw new InvalidSnpReport(`${where} has ${v.length} bytes, expected ${size}`)
  const out = new Uint8Array(size)
  v.forEach((x, i) => {
    const n = intOf(x, `${where}[${i}]`)
    if (n > 255n) throw new InvalidSnpReport(`${where}[${i}] is not a byte`)
    out[i] = Number(n)
  })
  return out
}

const small = (v: Json | undefined, where: string): number => (v === undefined || v === null ? 0 : Number(checkByte(intOf(v, where), where)))
const checkByte = (n: bigint, where: string): bigint => {
  if (n > 255n) throw new InvalidSnpReport(`${where} is not a byte`)
  return n
}

function tcbJson(v: Json | undefined, where: string, turinHint: boolean): Uint8Array | undefined {
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'object' || Array.isArray(v) || isLosslessNumber(v)) throw new InvalidSnpReport(`${where} is not a TCB object`)
  const o = v as Record<string, Json>
  const fmc = o['fmc']
  const turin = turinHint || (fmc !== undefined && fmc !== null)
  const reserved = o['_reserved'] !== undefined && o['_reserved'] !== null ? byteArray(o['_reserved'], 4, `${where}._reserved`) : undefined
  return encodeTcb({
    fmc: fmc === undefined || fmc === null ? null : small(fmc, `${where}.fmc`),
    bootloader: small(o['bootloader'], `${where}.bootloader`),
    tee: small(o['tee'], `${where}.tee`),
    snp: small(o['snp'], `${where}.snp`),
    microcode: small(o['microcode'], `${where}.microcode`),
    ...(reserved ? { reserved } : {}),
  }, turin)
}

function objectAt(j: Record<string, Json>, key: string): Record<string, Json> | undefined {
  const v = j[key]
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'object' || Array.isArray(v) || isLosslessNumber(v)) throw new InvalidSnpReport(`${key} is not an object`)
  return v as Record<string, Json>
}

/** The binary report from the sev crate's JSON (old or new form). Missing fields read as zero, as HyperBEAM's NIF reads them. */
export function reportBytesFromJson(text: string): Uint8Array {
  let parsed: unknown
  try { parsed = losslessParse(text) } catch (e) { throw new InvalidSnpReport(`the report is not JSON: ${(e as Error).message}`) }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new InvalidSnpReport('the report JSON is not an object')
  const j = parsed as Record<string, Json>
  if (j['version'] === undefined || j['measurement'] === undefined) throw new InvalidSnpReport('the JSON is not an SEV-SNP report (no version or measurement)')
  const w = new Writer(j)
  w.num('version', 0x00, 4)
  w.num('guest_svn', 0x04, 4)
  w.num('policy', 0x08, 8)
  w.bytes('family_id', 0x10, 16)
  w.bytes('image_id', 0x20, 16)
  w.num('vmpl', 0x30, 4)
  w.num('sig_algo', 0x34, 4)
  w.num('plat_info', 0x40, 8)
  if (j['key_info'] !== undefined) w.num('key_info', 0x48, 4)
  else w.num('_author_key_en', 0x48, 4)
  w.num('_reserved_0', 0x4c, 4)
  w.bytes('report_data', 0x50, 64)
  w.bytes('measurement', 0x90, 48)
  w.bytes('host_data', 0xc0, 32)
  w.bytes('id_key_digest', 0xe0, 48)
  w.bytes('author_key_digest', 0x110, 48)
  w.bytes('report_id', 0x140, 32)
  w.bytes('report_id_ma', 0x160, 32)
  w.bytes('_reserved_1', 0x188, 24)
  const fam = j['cpuid_fam_id']
  if (fam !== undefined && fam !== null) {
    w.b[0x188] = small(fam, 'cpuid_fam_id')
    w.b[0x189] = small(j['cpuid_mod_id'], 'cpuid_mod_id')
    w.b[0x18a] = small(j['cpuid_step'], 'cpuid_step')
  }
  const cpuProduct = fam !== undefined && fam !== null ? productOfCpuid(w.b[0x188]!, w.b[0x189]!) : undefined
  const turin = cpuProduct === 'Turin'
  for (const [key, o] of [['current_tcb', 0x38], ['reported_tcb', 0x180], ['committed_tcb', 0x1e0], ['launch_tcb', 0x1f0]] as const) {
    const raw = tcbJson(j[key], key, turin)
    if (raw) w.b.set(raw, o)
  }
  w.bytes('chip_id', 0x1a0, 64)
  const cur = objectAt(j, 'current')
  const com = objectAt(j, 'committed')
  if (cur) {
    w.b[0x1e8] = small(cur['build'], 'current.build'); w.b[0x1e9] = small(cur['minor'], 'current.minor'); w.b[0x1ea] = small(cur['major'], 'current.major')
  } else {
    w.b[0x1e8] = small(j['current_build'], 'current_build'); w.b[0x1e9] = small(j['current_minor'], 'current_minor'); w.b[0x1ea] = small(j['current_major'], 'current_major')
    w.b[0x1eb] = small(j['_reserved_2'], '_reserved_2')
  }
  if (com) {
    w.b[0x1ec] = small(com['build'], 'committed.build'); w.b[0x1ed] = small(com['minor'], 'committed.minor'); w.b[0x1ee] = small(com['major'], 'committed.major')
  } else {
    w.b[0x1ec] = small(j['committed_build'], 'committed_build'); w.b[0x1ed] = small(j['committed_minor'], 'committed_minor'); w.b[0x1ee] = small(j['committed_major'], 'committed_major')
    w.b[0x1ef] = small(j['_reserved_3'], '_reserved_3')
  }
  w.bytes('_reserved_4', 0x1f8, 168)
  w.num('launch_mit_vector', 0x1f8, 8)
  w.num('current_mit_vector', 0x200, 8)
  const sig = objectAt(j, 'signature')
  if (sig) {
    w.bytes('r', SIG_R, 72, sig, 'signature.r')
    w.bytes('s', SIG_S, 72, sig, 'signature.s')
    w.bytes('_reserved', 0x330, 368, sig, 'signature._reserved')
  }
  return w.b
}

/** Parse a report given as the binary 1184 bytes or as the sev crate's JSON (bytes or text). */
export function parseReport(input: Uint8Array | string): SnpReport {
  if (typeof input === 'string') return parseReportBinary(reportBytesFromJson(input))
  let i = 0
  while (i < input.length && (input[i] === 0x20 || input[i] === 0x0a || input[i] === 0x0d || input[i] === 0x09)) i++
  if (input.length !== REPORT_SIZE && input[i] === 0x7b /* { */) {
    return parseReportBinary(reportBytesFromJson(new TextDecoder('utf-8', { fatal: false }).decode(input)))
  }
  return parseReportBinary(input)
}

const arr = (b: Uint8Array): number[] => Array.from(b)

function oldTcb(raw: Uint8Array): Record<string, unknown> {
  const t = decodeTcb(raw, 'Milan')
  return { bootloader: t.bootloader, tee: t.tee, _reserved: arr(raw.subarray(2, 6)), snp: t.snp, microcode: t.microcode }
}

/**
 * The report as the JSON text of the `sev` crate 5.x (HyperBEAM's form, key
 * order as serde writes it). Fields newer than version 2 (CPUID, mitigation
 * vectors) travel inside `_reserved_1` and `_reserved_4`, so the bytes and the
 * signature survive the round trip.
 */
export function reportToHyperbeamJson(r: SnpReport): string {
  const b = r.bytes
  const num = (n: bigint | number): string => n.toString()
  const parts: [string, string][] = [
    ['version', num(r.version)], ['guest_svn', num(r.guestSvn)], ['policy', num(r.policy)],
    ['family_id', JSON.stringify(arr(r.familyId))], ['image_id', JSON.stringify(arr(r.imageId))],
    ['vmpl', num(r.vmpl)], ['sig_algo', num(r.sigAlgo)], ['current_tcb', JSON.stringify(oldTcb(r.currentTcb))],
    ['plat_info', num(r.platformInfo)], ['_author_key_en', num(r.signerInfo)], ['_reserved_0', num(u32(b, 0x4c))],
    ['report_data', JSON.stringify(arr(r.reportData))], ['measurement', JSON.stringify(arr(r.measurement))],
    ['host_data', JSON.stringify(arr(r.hostData))], ['id_key_digest', JSON.stringify(arr(r.idKeyDigest))],
    ['author_key_digest', JSON.stringify(arr(r.authorKeyDigest))], ['report_id', JSON.stringify(arr(r.reportId))],
    ['report_id_ma', JSON.stringify(arr(r.reportIdMa))], ['reported_tcb', JSON.stringify(oldTcb(r.reportedTcb))],
    ['_reserved_1', JSON.stringify(arr(b.subarray(0x188, 0x1a0)))], ['chip_id', JSON.stringify(arr(r.chipId))],
    ['committed_tcb', JSON.stringify(oldTcb(r.committedTcb))],
    ['current_build', num(b[0x1e8]!)], ['current_minor', num(b[0x1e9]!)], ['current_major', num(b[0x1ea]!)], ['_reserved_2', num(b[0x1eb]!)],
    ['committed_build', num(b[0x1ec]!)], ['committed_minor', num(b[0x1ed]!)], ['committed_major', num(b[0x1ee]!)], ['_reserved_3', num(b[0x1ef]!)],
    ['launch_tcb', JSON.stringify(oldTcb(r.launchTcb))], ['_reserved_4', JSON.stringify(arr(b.subarray(0x1f8, 0x2a0)))],
    ['signature', `{"r":${JSON.stringify(arr(b.subarray(SIG_R, SIG_R + 72)))},"s":${JSON.stringify(arr(b.subarray(SIG_S, SIG_S + 72)))},"_reserved":${JSON.stringify(arr(b.subarray(0x330, REPORT_SIZE)))}}`],
  ]
  // The old TCB encoding only knows the Milan/Genoa layout: Turin's bytes 2..5 ride in `_reserved`, bytes 0,1,6,7 in the named fields.
  return '{' + parts.map(([k, v]) => `"${k}":${v}`).join(',') + '}'
}

/** True when the guest policy allows debugging (bit 19). */
export const debugAllowed = (r: SnpReport): boolean => ((r.policy >> POLICY_DEBUG_BIT) & 1n) === 1n
