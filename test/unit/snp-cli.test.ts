/** `ao snp verify`, run as a child process: verdicts, checks and exit codes (0 verified, 1 not, 2 bad input). */
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { SHARED } from './node-fixtures.ts'
import { parseReport, reportToHyperbeamJson } from '../../src/snp/report.ts'

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..')
const R = join(SHARED, 'vectors/sev-snp/reports')
const GOSEV = join(R, 'gosev-milan-vcek-v2')
const VIRTEE = join(R, 'virtee-milan-vcek-v2')

let dir: string
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'ao-snp-cli-')) })
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function ao(args: string[]) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/ao.js'), 'snp', ...args], { cwd: ROOT })
  const text = r.stdout.toString('utf8')
  return { code: r.status, json: text ? JSON.parse(text) : undefined, err: r.stderr.toString('utf8') }
}
const failed = (j: any): string[] => j.checks.filter((c: any) => !c.ok).map((c: any) => c.name)

describe('ao snp verify', () => {
  it('a real Milan report with its VCEK: verified, exit 0, every check listed', () => {
    const r = ao(['verify', '--report', join(GOSEV, 'report.bin'), '--cert', join(GOSEV, 'vcek.der'), '--at', '2026-01-01'])
    expect(r.code).toBe(0)
    expect(r.json.verified).toBe(true)
    expect(r.json.product).toBe('Milan')
    expect(r.json.certificate).toBe('VCEK')
    expect(r.json.at).toBe('2026-01-01T00:00:00.000Z')
    expect(r.json.report.chip_id).toMatch(/^3ac3fe21/)
    expect(r.json.checks.map((c: any) => c.name)).toContain('report-signature')
    expect(failed(r.json)).toEqual([])
  })

  it('the report in the sev crate JSON form (HyperBEAM\'s), and a PEM certificate', () => {
    const json = join(dir, 'report.json')
    writeFileSync(json, reportToHyperbeamJson(parseReport(new Uint8Array(readFileSync(join(VIRTEE, 'report.bin'))))))
    const pem = join(dir, 'vcek.pem')
    writeFileSync(pem, `-----BEGIN CERTIFICATE-----\n${readFileSync(join(VIRTEE, 'vcek.der')).toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`)
    const r = ao(['verify', '--report', json, '--cert', pem, '--at', '2026-01-01'])
    expect(r.code).toBe(0)
    expect(r.json.verified).toBe(true)
  })

  it('not verified (exit 1): the other report\'s VCEK, no certificate, an expired date', () => {
    const other = ao(['verify', '--report', join(GOSEV, 'report.bin'), '--cert', join(VIRTEE, 'vcek.der'), '--at', '2026-01-01'])
    expect(other.code).toBe(1)
    expect(failed(other.json)).toEqual(['chip-id', 'tcb', 'report-signature'])
    const none = ao(['verify', '--report', join(GOSEV, 'report.bin')])
    expect(none.code).toBe(1)
    expect(failed(none.json)).toEqual(['certificate'])
    const late = ao(['verify', '--report', join(GOSEV, 'report.bin'), '--cert', join(GOSEV, 'vcek.der'), '--at', '2031-06-01T00:00:00Z'])
    expect(late.code).toBe(1)
    expect(failed(late.json)).toEqual(['validity'])
    const hb = ao(['verify', '--report', join(SHARED, 'hyperbeam-data/test/admissible-report.json')])
    expect(hb.code).toBe(1)
    expect(hb.json.report.version).toBe(2)
  })

  it('a tampered report (one byte of the measurement) is not verified', () => {
    const b = new Uint8Array(readFileSync(join(GOSEV, 'report.bin')))
    b[0x90] ^= 1
    const p = join(dir, 'tampered.bin')
    writeFileSync(p, b)
    const r = ao(['verify', '--report', p, '--cert', join(GOSEV, 'vcek.der'), '--at', '2026-01-01'])
    expect(r.code).toBe(1)
    expect(failed(r.json)).toEqual(['report-signature'])
  })

  it('bad input exits 2 with one line on stderr', () => {
    const cases: [string[], RegExp][] = [
      [['verify'], /CliUsage: --report FILE is required/],
      [['frobnicate'], /CliUsage: unknown snp command/],
      [['verify', '--report', join(dir, 'missing.bin')], /CliFileError/],
      [['verify', '--report', join(GOSEV, 'vcek.der')], /InvalidSnpReport/],
      [['verify', '--report', join(GOSEV, 'report.bin'), '--cert', join(GOSEV, 'report.bin')], /InvalidSnpCertificate/],
      [['verify', '--report', join(GOSEV, 'report.bin'), '--at', 'tomorrow'], /BadInput/],
    ]
    for (const [args, err] of cases) {
      const r = ao(args)
      expect(r.code, args.join(' ')).toBe(2)
      expect(r.err).toMatch(err)
      expect(r.err.trim().split('\n')).toHaveLength(1)
    }
  })
})
