/**
 * The SEV-SNP launch digest (the report's `measurement`) of a QEMU/EC2/krun
 * guest booted from OVMF with a measured kernel, initrd and command line, as
 * AMD's firmware computes it and as the `sev` crate's snp_calc_launch_digest
 * (HyperBEAM's `compute_launch_digest`) predicts it:
 *
 *   LD' = SHA-384(LD ‖ contents(48) ‖ 0x0070 ‖ page_type ‖ is_imi ‖ vmpl3..1 perms ‖ 0 ‖ gpa(8))
 *
 * folded over the OVMF pages (or seeded with the OVMF hash), the OVMF SEV
 * metadata sections (zero, secrets, CPUID and kernel-hashes pages) and one
 * VMSA page per vCPU.
 *
 * HyperBEAM measures against `test/OVMF-1.55.fd`, a file its repository
 * stores outside git. What the digest needs from that file is its SEV
 * metadata (below as `OVMF_1_55`), which reproduces HyperBEAM's two known
 * answers (dev_snp_nif's compute_launch_digest_test and the measurement of
 * test/admissible-report.json). `parseOvmf` reads the same from any OVMF image.
 */
import { sha256, sha384 } from '../crypto/hash.ts'
import { InvalidOvmf } from '../core/errors.ts'

export const PAGE = 4096

/** SEV metadata section types (OvmfPkg/ResetVector/X64/OvmfSevMetadata.asm). */
export const SECTION = { SNP_SEC_MEM: 1, SNP_SECRETS: 2, CPUID: 3, SVSM_CAA: 4, SNP_KERNEL_HASHES: 0x10 } as const

export interface OvmfSection { gpa: number; size: number; type: number }

/** What the launch digest needs from an OVMF image. */
export interface OvmfLayout {
  name: string
  /** The SEV-ES reset EIP of the application processors (footer table, SEV_ES_RESET_BLOCK). */
  resetEip: number
  /** Where the kernel hashes table sits (footer table, SEV_HASH_TABLE_RV); 0 if absent. */
  sevHashesTableGpa: number
  sections: OvmfSection[]
  /** The image itself, when known (only needed without an OVMF hash). */
  data?: Uint8Array
}

/** The SEV metadata of HyperBEAM's test/OVMF-1.55.fd (an OvmfPkg/AmdSev build). */
export const OVMF_1_55: OvmfLayout = {
  name: 'OVMF-1.55',
  resetEip: 0x80b004,
  sevHashesTableGpa: 0x80fc00,
  sections: [
    { gpa: 0x800000, size: 0x9000, type: SECTION.SNP_SEC_MEM },
    { gpa: 0x80a000, size: 0x3000, type: SECTION.SNP_SEC_MEM },
    { gpa: 0x80d000, size: 0x1000, type: SECTION.SNP_SECRETS },
    { gpa: 0x80e000, size: 0x1000, type: SECTION.CPUID },
    { gpa: 0x80f000, size: 0x1000, type: SECTION.SNP_KERNEL_HASHES },
    { gpa: 0x810000, size: 0x10000, type: SECTION.SNP_SEC_MEM },
  ],
}

// ---- OVMF images ----

const guidLe = (s: string): Uint8Array => {
  const h = s.replace(/-/g, '')
  const b = Uint8Array.from({ length: 16 }, (_, i) => parseInt(h.slice(2 * i, 2 * i + 2), 16))
  // The first three fields are little-endian.
  return Uint8Array.from([b[3]!, b[2]!, b[1]!, b[0]!, b[5]!, b[4]!, b[7]!, b[6]!, ...b.subarray(8)])
}
const GUID = {
  footer: guidLe('96b582de-1fb2-45f7-baea-a366c55a082d'),
  sevHashTable: guidLe('7255371f-3a3b-4b04-927b-1da6efa8d454'),
  sevEsReset: guidLe('00f771de-1a7e-4fcb-890e-68c77e2fb44e'),
  sevMetadata: guidLe('dc886566-984a-4798-a75e-5585a7bf67cc'),
  hashTableHeader: guidLe('9438d606-4f22-4cc9-b479-a793d411fd21'),
  kernel: guidLe('4de79437-abd2-427f-b835-d5b172d2045b'),
  initrd: guidLe('44baf731-3a2f-4bd7-9af1-41e29169781d'),
  cmdline: guidLe('97d02dd8-bd20-4c94-aa78-e7714d36ab2a'),
}
const sameGuid = (a: Uint8Array, b: Uint8Array): boolean => a.length === 16 && a.every((x, i) => x === b[i])
const le16 = (b: Uint8Array, o: number): number => b[o]! | (b[o + 1]! << 8)
const le32 = (b: Uint8Array, o: number): number => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0

/** Read the footer GUID table and the SEV metadata of an OVMF image (or of its last pages). */
export function parseOvmf(data: Uint8Array, name = 'OVMF'): OvmfLayout {
  const n = data.length
  const footerAt = n - 32 - 18
  if (footerAt < 0) throw new InvalidOvmf('too small for an OVMF image')
  if (!sameGuid(data.subarray(footerAt + 2, footerAt + 18), GUID.footer)) throw new InvalidOvmf('no OVMF footer table GUID 32 bytes before the end')
  const footerSize = le16(data, footerAt)
  if (footerSize < 18 || footerSize - 18 > footerAt) throw new InvalidOvmf('bad OVMF footer table size')
  const tableSize = footerSize - 18
  const table = data.subarray(footerAt - tableSize, footerAt)
  const entries: { guid: Uint8Array; data: Uint8Array }[] = []
  for (let off = tableSize; off >= 18;) {
    const size = le16(table, off - 18)
    if (size < 18 || size > off) break
    entries.push({ guid: table.subarray(off - 16, off), data: table.subarray(off - size, off - 18) })
    off -= size
  }
  const entry = (g: Uint8Array): Uint8Array | undefined => entries.find((e) => sameGuid(e.guid, g))?.data
  const reset = entry(GUID.sevEsReset)
  const meta = entry(GUID.sevMetadata)
  if (!reset || reset.length < 4) throw new InvalidOvmf('the OVMF footer table has no SEV-ES reset block')
  if (!meta || meta.length < 4) throw new InvalidOvmf('the OVMF footer table has no SEV metadata entry')
  const hashes = entry(GUID.sevHashTable)
  const fromEnd = le32(meta, 0)
  const hdr = n - fromEnd
  if (fromEnd > n || hdr + 16 > n || String.fromCharCode(...data.subarray(hdr, hdr + 4)) !== 'ASEV') throw new InvalidOvmf('the SEV metadata header (ASEV) is not where the footer says')
  if (le32(data, hdr + 8) !== 1) throw new InvalidOvmf(`SEV metadata version ${le32(data, hdr + 8)} is not 1`)
  const count = le32(data, hdr + 12)
  if (hdr + 16 + count * 12 > n) throw new InvalidOvmf('SEV metadata sections run past the end')
  const sections: OvmfSection[] = []
  for (let i = 0; i < count; i++) {
    const o = hdr + 16 + i * 12
    sections.push({ gpa: le32(data, o), size: le32(data, o + 4), type: le32(data, o + 8) })
  }
  return { name, resetEip: le32(reset, 0), sevHashesTableGpa: hashes && hashes.length >= 4 ? le32(hashes, 0) : 0, sections, data }
}

// ---- the guest context ----

const PAGE_TYPE = { NORMAL: 1, VMSA: 2, ZERO: 3, UNMEASURED: 4, SECRETS: 5, CPUID: 6 } as const
const VMSA_GPA = 0xfffffffff000n
const ZERO48 = new Uint8Array(48)

class Gctx {
  ld: Uint8Array
  private readonly info = new Uint8Array(0x70)
  private readonly view = new DataView(this.info.buffer)
  constructor(seed?: Uint8Array) { this.ld = seed ? seed.slice() : new Uint8Array(48) }
  update(type: number, gpa: bigint, contents: Uint8Array): void {
    this.info.set(this.ld, 0)
    this.info.set(contents, 48)
    this.view.setUint16(96, 0x70, true)
    this.info[98] = type
    this.info.fill(0, 99, 104) // is_imi, vmpl3/2/1 permissions, reserved
    this.view.setBigUint64(104, gpa, true)
    this.ld = sha384(this.info)
  }
  normal(gpa: bigint, data: Uint8Array): void {
    if (data.length % PAGE !== 0) throw new InvalidOvmf('page data is not a multiple of 4096 bytes')
    for (let o = 0; o < data.length; o += PAGE) this.update(PAGE_TYPE.NORMAL, gpa + BigInt(o), sha384(data.subarray(o, o + PAGE)))
  }
  zero(gpa: bigint, size: number): void {
    if (size % PAGE !== 0) throw new InvalidOvmf(`section size ${size} is not a multiple of 4096`)
    for (let o = 0; o < size; o += PAGE) this.update(PAGE_TYPE.ZERO, gpa + BigInt(o), ZERO48)
  }
}

// ---- kernel hashes (QEMU's SEV hash table) ----

/** The page QEMU fills with the SHA-256 of the command line, initrd and kernel, at the table's offset in its page. */
export function sevHashesPage(offset: number, kernel: Uint8Array, initrd: Uint8Array, cmdline: Uint8Array): Uint8Array {
  if (offset >= PAGE) throw new InvalidOvmf(`the SEV hashes table offset ${offset} is outside its page`)
  const page = new Uint8Array(PAGE)
  let p = offset
  const put = (b: Uint8Array): void => { page.set(b, p); p += b.length }
  const u16 = (n: number): Uint8Array => Uint8Array.of(n & 0xff, n >> 8)
  put(GUID.hashTableHeader); put(u16(16 + 2 + 3 * 50))
  for (const [g, h] of [[GUID.cmdline, cmdline], [GUID.initrd, initrd], [GUID.kernel, kernel]] as const) {
    if (h.length !== 32) throw new InvalidOvmf('kernel, initrd and append hashes are SHA-256 (32 bytes)')
    put(g); put(u16(50)); put(h)
  }
  // The table (168 bytes) is padded to 176; the padding is zero like the rest of the page.
  if (offset + 176 > PAGE) throw new InvalidOvmf('the SEV hashes table does not fit in its page')
  return page
}

// ---- VMSA ----

/** QEMU CPU models (the `sev` crate's CpuType numbering, which HyperBEAM's `vcpu_type` uses) → CPUID signature. */
export function vcpuSignature(vcpuType: number): number {
  const sig = (family: number, model: number, stepping: number): number => {
    const [fl, fh] = family > 0xf ? [0xf, (family - 0xf) & 0xff] : [family, 0]
    return (fh << 20) | (((model >> 4) & 0xf) << 16) | (fl << 8) | ((model & 0xf) << 4) | (stepping & 0xf)
  }
  if ([0, 1, 3, 4, 5].includes(vcpuType)) return sig(23, 1, 2) // EPYC, -v1, -IBPB, -v3, -v4
  if (vcpuType >= 6 && vcpuType <= 9) return sig(23, 49, 0) // EPYC-Rome(-v1..v3)
  if (vcpuType >= 10 && vcpuType <= 12) return sig(25, 1, 1) // EPYC-Milan(-v1, -v2)
  if (vcpuType === 13 || vcpuType === 14) return sig(25, 17, 0) // EPYC-Genoa(-v1)
  throw new InvalidOvmf(`unknown vcpu_type ${vcpuType}`)
}

export const VMM = { QEMU: 1, EC2: 2, KRUN: 3 } as const

/** One SEV-ES save area (VMSA) page as the guest starts: real mode at `eip`. */
export function vmsaPage(eip: number, vcpuType: number, vmmType: number, vcpus: number, guestFeatures: bigint): Uint8Array {
  const page = new Uint8Array(PAGE)
  const v = new DataView(page.buffer)
  const q = (o: number, n: bigint | number): void => v.setBigUint64(o, BigInt(n), true)
  const seg = (i: number, selector: number, attrib: number, limit: number, base: number): void => {
    v.setUint16(i * 16, selector, true); v.setUint16(i * 16 + 2, attrib, true); v.setUint32(i * 16 + 4, limit, true); q(i * 16 + 8, base)
  }
  let cs = 0x9b, ss = 0x93, tr = 0x8b, rdx = 0, mxcsr = 0x1f80, fcw = 0x37f
  if (vmmType === VMM.QEMU) rdx = vcpuSignature(vcpuType)
  else if (vmmType === VMM.EC2) { cs = eip === 0xfffffff0 ? 0x9a : 0x9b; ss = 0x92; tr = 0x83; mxcsr = 0; fcw = 0 }
  else if (vmmType === VMM.KRUN) {
    cs = 0x9a; ss = 0x92; tr = 0x83; mxcsr = 0; fcw = 0
    // The `sev` crate passes the vCPU count here: with any vCPU the registers stay zero.
    if (!(vcpus > 0)) { q(0x330, 0x7000); q(0x328, 0x8ff0); q(0x1d8, 0x8ff0) }
  } else throw new InvalidOvmf(`unknown vmm_type ${vmmType}`)
  seg(0, 0, 0x93, 0xffff, 0) // es
  seg(1, 0xf000, cs, 0xffff, (eip & 0xffff0000) >>> 0) // cs (unsigned: JS bit operators are signed)
  seg(2, 0, ss, 0xffff, 0) // ss
  seg(3, 0, 0x93, 0xffff, 0) // ds
  seg(4, 0, 0x93, 0xffff, 0) // fs
  seg(5, 0, 0x93, 0xffff, 0) // gs
  seg(6, 0, 0, 0xffff, 0) // gdtr
  seg(7, 0, 0x82, 0xffff, 0) // ldtr
  seg(8, 0, 0, 0xffff, 0) // idtr
  seg(9, 0, tr, 0xffff, 0) // tr
  q(0xd0, 0x1000) // efer: SVME
  q(0x148, 0x40) // cr4: MCE
  q(0x158, 0x10) // cr0: ET
  q(0x160, 0x400) // dr7
  q(0x168, 0xffff0ff0) // dr6
  q(0x170, 0x2) // rflags
  q(0x178, eip & 0xffff) // rip
  q(0x268, 0x0007040600070406n) // g_pat
  q(0x310, rdx)
  q(0x3b0, guestFeatures) // sev_features
  q(0x3e8, 0x1) // xcr0
  v.setUint32(0x408, mxcsr, true)
  v.setUint16(0x410, fcw, true)
  return page
}

// ---- the digest ----

export interface LaunchDigestArgs {
  vcpus: number
  vcpuType: number
  vmmType: number
  guestFeatures: bigint
  /** SHA-384 launch digest of the OVMF pages alone (HyperBEAM's `firmware`); else `ovmf.data` is measured. */
  ovmfHash?: Uint8Array
  kernelHash?: Uint8Array
  initrdHash?: Uint8Array
  appendHash?: Uint8Array
  ovmf?: OvmfLayout
}

const FOUR_GB = 0x100000000n

export function launchDigest(a: LaunchDigestArgs): Uint8Array {
  const ovmf = a.ovmf ?? OVMF_1_55
  let g: Gctx
  if (a.ovmfHash) {
    if (a.ovmfHash.length !== 48) throw new InvalidOvmf('the OVMF hash is a 48-byte SHA-384 launch digest')
    g = new Gctx(a.ovmfHash)
  } else {
    if (!ovmf.data) throw new InvalidOvmf(`no OVMF hash and no image for ${ovmf.name}`)
    g = new Gctx()
    g.normal(FOUR_GB - BigInt(ovmf.data.length), ovmf.data)
  }
  const hashes = a.kernelHash
    ? { kernel: a.kernelHash, initrd: a.initrdHash ?? sha256(new Uint8Array()), cmdline: a.appendHash ?? sha256(new Uint8Array(1)) }
    : undefined
  for (const s of ovmf.sections) {
    const gpa = BigInt(s.gpa)
    switch (s.type) {
      case SECTION.SNP_SEC_MEM: case SECTION.SVSM_CAA: g.zero(gpa, s.size); break
      case SECTION.SNP_SECRETS: g.update(PAGE_TYPE.SECRETS, gpa, ZERO48); break
      case SECTION.CPUID: if (a.vmmType !== VMM.EC2) g.update(PAGE_TYPE.CPUID, gpa, ZERO48); break
      case SECTION.SNP_KERNEL_HASHES:
        if (hashes) {
          if (s.size !== PAGE) throw new InvalidOvmf('the kernel hashes section is not one page')
          g.update(PAGE_TYPE.NORMAL, gpa, sha384(sevHashesPage(ovmf.sevHashesTableGpa & 0xfff, hashes.kernel, hashes.initrd, hashes.cmdline)))
        } else g.zero(gpa, s.size)
        break
      default: throw new InvalidOvmf(`unknown SEV metadata section type ${s.type}`)
    }
  }
  if (a.vmmType === VMM.EC2) for (const s of ovmf.sections) if (s.type === SECTION.CPUID) g.update(PAGE_TYPE.CPUID, BigInt(s.gpa), ZERO48)
  if (hashes && !ovmf.sections.some((s) => s.type === SECTION.SNP_KERNEL_HASHES)) throw new InvalidOvmf(`${ovmf.name} has no SNP_KERNEL_HASHES section for the kernel hashes`)
  if (!Number.isInteger(a.vcpus) || a.vcpus < 0 || a.vcpus > 0xffffffff) throw new InvalidOvmf(`vcpus ${a.vcpus} is not a u32`)
  const bsp = vmsaPage(0xfffffff0, a.vcpuType, a.vmmType, a.vcpus, a.guestFeatures)
  const ap = ovmf.resetEip > 0 ? vmsaPage(ovmf.resetEip, a.vcpuType, a.vmmType, a.vcpus, a.guestFeatures) : undefined
  const bspHash = sha384(bsp)
  const apHash = ap ? sha384(ap) : undefined
  for (let i = 0; i < a.vcpus; i++) {
    if (i === 0) g.update(PAGE_TYPE.VMSA, VMSA_GPA, bspHash)
    else if (apHash) g.update(PAGE_TYPE.VMSA, VMSA_GPA, apHash)
  }
  return g.ld
}
