/**
 * SEV-SNP report generation on a Linux guest, for Node only: the `snp`
 * capability a node is composed with (src/core/device.ts Capabilities.snp).
 *
 * 1. configfs-tsm (Linux 6.7+, /sys/kernel/config/tsm/report): make a report
 *    entry, write the 64 bytes of report data to `inblob` (and `privlevel`,
 *    the VMPL), read the report from `outblob` and the host's certificate
 *    table (VCEK/VLEK, ASK, ARK) from `auxblob`, check `generation` did not
 *    move under us, remove the entry.
 * 2. /dev/sev-guest: the SNP_GET_REPORT ioctl, which Node cannot issue
 *    without a native addon, so through virtee's `snpguest` tool when it is
 *    installed (HyperBEAM ships it as release/snpguest).
 *
 * Without either: SnpHardwareUnavailable ("no SEV-SNP hardware").
 */
import { mkdir, readFile, rmdir, writeFile, access, mkdtemp, rm } from 'node:fs/promises'
import { execFile } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SnpGenerateFailed, SnpHardwareUnavailable } from '../core/errors.ts'
import { REPORT_SIZE } from './report.ts'
import type { SnpHardware, SnpHardwareReport } from './evidence.ts'

export const TSM_REPORT_DIR = '/sys/kernel/config/tsm/report'
export const SEV_GUEST_DEVICE = '/dev/sev-guest'

/** The file operations used on configfs (replaceable in tests). */
export interface TsmFs {
  exists(path: string): Promise<boolean>
  mkdir(path: string): Promise<void>
  rmdir(path: string): Promise<void>
  write(path: string, data: Uint8Array | string): Promise<void>
  read(path: string): Promise<Uint8Array>
}

export const nodeFs: TsmFs = {
  exists: (p) => access(p).then(() => true, () => false),
  mkdir: (p) => mkdir(p).then(() => undefined),
  rmdir: (p) => rmdir(p),
  write: (p, d) => writeFile(p, d),
  read: async (p) => new Uint8Array(await readFile(p)),
}

export interface NodeSnpOptions {
  /** configfs-tsm report directory (default /sys/kernel/config/tsm/report). */
  tsmDir?: string
  /** The sev-guest device (default /dev/sev-guest). */
  device?: string
  /** VMPL the report is requested for (HyperBEAM asks for 1). */
  vmpl?: number
  /** The snpguest executable for /dev/sev-guest (default: `snpguest` on PATH). */
  snpguest?: string
  fs?: TsmFs
}

/** The certificate table of an extended report: {GUID, offset, length} entries ended by a zero GUID. */
export function parseCertTable(aux: Uint8Array): NonNullable<SnpHardwareReport['certificates']> {
  const GUIDS: Record<string, 'vcek' | 'vlek' | 'ask' | 'ark'> = {
    '63da758d-e664-4564-adc5-f4b93be8accd': 'vcek',
    'a8074bc2-a25a-483e-aae6-39c045a0b8a1': 'vlek',
    '4ab7b379-bbac-4fe4-a02f-05aef327c782': 'ask',
    'c0b406a4-a803-4952-9743-3fb6014cd0ae': 'ark',
  }
  const out: NonNullable<SnpHardwareReport['certificates']> = {}
  const v = new DataView(aux.buffer, aux.byteOffset, aux.byteLength)
  for (let p = 0; p + 24 <= aux.length; p += 24) {
    const g = aux.subarray(p, p + 16)
    if (g.every((x) => x === 0)) break
    const h = (i: number, n: number): string => Array.from(g.subarray(i, i + n), (x) => x.toString(16).padStart(2, '0')).join('')
    const le = (i: number, n: number): string => h(i, n).match(/../g)!.reverse().join('')
    const guid = `${le(0, 4)}-${le(4, 2)}-${le(6, 2)}-${h(8, 2)}-${h(10, 6)}`
    const off = v.getUint32(p + 16, true)
    const len = v.getUint32(p + 20, true)
    const kind = GUIDS[guid]
    if (kind && off + len <= aux.length) out[kind] = aux.slice(off, off + len)
  }
  return out
}

async function viaTsm(dir: string, reportData: Uint8Array, o: NodeSnpOptions, fs: TsmFs): Promise<SnpHardwareReport> {
  const entry = join(dir, `ao-tab-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`)
  try { await fs.mkdir(entry) } catch (e) { throw new SnpGenerateFailed(`configfs-tsm: cannot create ${entry}: ${(e as Error).message}`) }
  try {
    const provider = new TextDecoder().decode(await fs.read(join(entry, 'provider')).catch(() => new Uint8Array())).trim()
    if (provider && provider !== 'sev_guest') throw new SnpHardwareUnavailable(`configfs-tsm provider is ${provider}, not sev_guest (SEV-SNP)`)
    if (o.vmpl !== undefined) await fs.write(join(entry, 'privlevel'), String(o.vmpl)).catch((e: Error) => { throw new SnpGenerateFailed(`configfs-tsm: privlevel ${o.vmpl}: ${e.message}`) })
    await fs.write(join(entry, 'inblob'), reportData)
    const gen = new TextDecoder().decode(await fs.read(join(entry, 'generation')).catch(() => new Uint8Array())).trim()
    const report = await fs.read(join(entry, 'outblob'))
    const aux = await fs.read(join(entry, 'auxblob')).catch(() => new Uint8Array())
    const gen2 = new TextDecoder().decode(await fs.read(join(entry, 'generation')).catch(() => new Uint8Array())).trim()
    if (gen !== gen2) throw new SnpGenerateFailed('configfs-tsm: the report entry was written concurrently (generation changed)')
    if (report.length < REPORT_SIZE) throw new SnpGenerateFailed(`configfs-tsm: outblob has ${report.length} bytes, not a ${REPORT_SIZE}-byte report`)
    return { report: report.slice(0, REPORT_SIZE), ...(aux.length > 0 ? { certificates: parseCertTable(aux) } : {}) }
  } catch (e) {
    if (e instanceof SnpGenerateFailed || e instanceof SnpHardwareUnavailable) throw e
    throw new SnpGenerateFailed(`configfs-tsm: ${(e as Error).message}`)
  } finally {
    await fs.rmdir(entry).catch(() => {})
  }
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((ok, fail) => execFile(cmd, args, { timeout: 30_000 }, (err, _out, stderr) => err ? fail(Object.assign(err, { stderr })) : ok()))
}

async function viaSnpguest(reportData: Uint8Array, o: NodeSnpOptions): Promise<SnpHardwareReport> {
  const dir = await mkdtemp(join(tmpdir(), 'ao-tab-snp-'))
  try {
    const req = join(dir, 'request.bin')
    const out = join(dir, 'report.bin')
    await writeFile(req, reportData)
    const exe = o.snpguest ?? 'snpguest'
    try {
      await run(exe, ['report', out, req, ...(o.vmpl !== undefined ? ['--vmpl', String(o.vmpl)] : [])])
    } catch (e) {
      const err = e as NodeJS.ErrnoException & { stderr?: string }
      if (err.code === 'ENOENT') throw new SnpHardwareUnavailable(`${SEV_GUEST_DEVICE} exists but Node cannot issue its ioctl, and ${exe} is not installed (no configfs-tsm either)`)
      throw new SnpGenerateFailed(`${exe} report failed: ${(err.stderr ?? err.message).trim().split('\n')[0]}`)
    }
    const report = new Uint8Array(await readFile(out))
    if (report.length !== REPORT_SIZE) throw new SnpGenerateFailed(`${exe} wrote ${report.length} bytes, not a ${REPORT_SIZE}-byte report`)
    return { report }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** Which interface this machine has, if any. */
export async function detectSnp(o: NodeSnpOptions = {}): Promise<'configfs-tsm' | 'sev-guest' | undefined> {
  const fs = o.fs ?? nodeFs
  if (await fs.exists(o.tsmDir ?? TSM_REPORT_DIR)) return 'configfs-tsm'
  if (await fs.exists(o.device ?? SEV_GUEST_DEVICE)) return 'sev-guest'
  return undefined
}

/** The `snp` capability for a Node peer: a report over 64 bytes of report data, from this machine's hardware. */
export function nodeSnpHardware(o: NodeSnpOptions = {}): SnpHardware {
  const fs = o.fs ?? nodeFs
  const opts = { vmpl: 1, ...o }
  return async (reportData) => {
    if (reportData.length !== 64) throw new SnpGenerateFailed('report data is exactly 64 bytes')
    const kind = await detectSnp(opts)
    if (kind === 'configfs-tsm') return viaTsm(opts.tsmDir ?? TSM_REPORT_DIR, reportData, opts, fs)
    if (kind === 'sev-guest') return viaSnpguest(reportData, opts)
    throw new SnpHardwareUnavailable(`no SEV-SNP hardware: neither ${opts.tsmDir ?? TSM_REPORT_DIR} (configfs-tsm) nor ${opts.device ?? SEV_GUEST_DEVICE} exists on this machine`)
  }
}
