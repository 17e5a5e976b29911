/**
 * `ao snp verify --report FILE [--cert VCEK_OR_VLEK] [--at ISO-DATE]`
 *
 * FILE is the raw 1184-byte report, the `sev` crate's JSON form (HyperBEAM's
 * `report`), or an snp@1.0 message in JSON with a `report` key. The
 * certificate is DER or PEM. Prints JSON: the verdict, the report's main
 * fields and every check with its detail. Exit 0 verified, 1 not verified,
 * 2 bad input.
 */
import { BadInput, InvalidSnpCertificate } from '../core/errors.ts'
import { parseReport, decodeTcb, type SnpReport } from '../snp/report.ts'
import { parseCert, type SnpCert } from '../snp/certs.ts'
import { verifyReport, hex } from '../snp/verify.ts'
import { CliUsage, parseArgs, readInput, writeOut } from './io.ts'

const USAGE = 'usage: ao snp verify --report FILE [--cert VCEK_OR_VLEK.der|.pem] [--at ISO-DATE]'

function reportFrom(bytes: Uint8Array): SnpReport {
  const first = bytes.find((b) => b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09)
  if (bytes.length !== 1184 && first === 0x7b) {
    const text = new TextDecoder().decode(bytes)
    let j: unknown
    try { j = JSON.parse(text) } catch { return parseReport(text) }
    if (j !== null && typeof j === 'object' && typeof (j as Record<string, unknown>)['report'] === 'string') return parseReport((j as Record<string, string>)['report']!)
    return parseReport(text)
  }
  return parseReport(bytes)
}

export async function snpCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args
  if (sub !== 'verify') throw new CliUsage(sub === undefined ? USAGE : `unknown snp command ${JSON.stringify(sub)}\n${USAGE}`)
  const { opts, rest: extra } = parseArgs(rest, ['report', 'cert', 'at'], [])
  if (extra.length > 0) throw new CliUsage(`unexpected argument ${JSON.stringify(extra[0])}\n${USAGE}`)
  if (typeof opts['report'] !== 'string') throw new CliUsage(`--report FILE is required\n${USAGE}`)
  const report = reportFrom(readInput(opts['report']))
  let cert: SnpCert | undefined
  if (typeof opts['cert'] === 'string') {
    try { cert = parseCert(readInput(opts['cert'])) } catch (e) {
      if (e instanceof InvalidSnpCertificate) throw e
      throw new InvalidSnpCertificate(`${opts['cert']}: ${(e as Error).message}`)
    }
  }
  let at: Date | undefined
  if (typeof opts['at'] === 'string') {
    at = new Date(opts['at'])
    if (Number.isNaN(at.getTime()) || !/^\d{4}-\d{2}-\d{2}/.test(opts['at'])) throw new BadInput(`--at ${JSON.stringify(opts['at'])} is not an ISO date`)
  }
  const v = await verifyReport(report, { ...(cert ? { cert } : {}), ...(at ? { at } : {}) })
  const tcb = decodeTcb(report.reportedTcb, v.product ?? 'Milan')
  const out = {
    verified: v.verified,
    product: v.product ?? null,
    certificate: v.certificateKind ?? null,
    trust: v.trust,
    at: v.at,
    report: {
      version: report.version,
      policy: `0x${report.policy.toString(16)}`,
      vmpl: report.vmpl,
      signing_key: report.signingKey,
      report_data: hex(report.reportData),
      measurement: hex(report.measurement),
      chip_id: hex(report.chipId),
      reported_tcb: { bootloader: tcb.bootloader, tee: tcb.tee, snp: tcb.snp, microcode: tcb.microcode, ...(tcb.fmc !== undefined ? { fmc: tcb.fmc } : {}) },
    },
    checks: v.checks,
  }
  writeOut(JSON.stringify(out, null, 2) + '\n')
  return v.verified ? 0 : 1
}
