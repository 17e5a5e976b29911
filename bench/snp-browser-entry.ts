/**
 * Worker side of bench/snp-browser.js: times snp@1.0 report verification in
 * a Chromium module worker against one raw WebCrypto ECDSA P-384 verify
 * measured in the same run.
 */
import { verifyReport } from '../src/snp/verify.ts'
import { freshAmdTrustStore, parseCert } from '../src/snp/certs.ts'
import { parseReport, SIGNED_SIZE } from '../src/snp/report.ts'

const scope = globalThis as unknown as { postMessage(m: unknown): void; onmessage: ((e: MessageEvent) => void) | null }
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

/** Median milliseconds per call, over rounds of `batch` sequential calls (timers in workers are coarse). */
async function time(fn: () => Promise<unknown>, rounds: number, batch: number): Promise<number> {
  for (let i = 0; i < 3; i++) await fn()
  const per: number[] = []
  for (let r = 0; r < rounds; r++) {
    const t = performance.now()
    for (let i = 0; i < batch; i++) await fn()
    per.push((performance.now() - t) / batch)
  }
  return median(per)
}

scope.onmessage = async (e: MessageEvent) => {
  try {
    const { report, cert, at } = e.data as { report: Uint8Array; cert: Uint8Array; at: string }
    const when = new Date(at)
    // The first verification a fresh tab does: parse and check AMD's roots, import every key.
    const first = performance.now()
    const v0 = await verifyReport(report, { cert, at: when, trust: freshAmdTrustStore() })
    const firstMs = performance.now() - first
    if (!v0.verified) throw new Error('the report did not verify')
    const cold = await time(() => verifyReport(report, { cert, at: when, trust: freshAmdTrustStore() }), 9, 5)
    // A report arriving at a warm verifier: parse report and VCEK, chain (roots cached), extensions, ECDSA.
    const warm = await time(() => verifyReport(report, { cert, at: when }), 15, 20)
    // Baseline: one raw ECDSA P-384/SHA-384 verify of the same bytes with an imported key.
    const vcek = parseCert(cert)
    if (vcek.key.kind !== 'ec-p384') throw new Error('not a P-384 VCEK')
    const key = await crypto.subtle.importKey('spki', vcek.key.spki as BufferSource, { name: 'ECDSA', namedCurve: 'P-384' }, false, ['verify'])
    const r = parseReport(report)
    const signed = r.bytes.subarray(0, SIGNED_SIZE)
    const baseline = await time(() => crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-384' }, key, r.signatureP1363 as BufferSource, signed as BufferSource), 15, 20)
    scope.postMessage({ ok: true, firstMs, cold, warm, baseline, worker: typeof (globalThis as any).WorkerGlobalScope !== 'undefined', ua: navigator.userAgent })
  } catch (err) {
    scope.postMessage({ ok: false, error: String((err as Error)?.stack ?? err) })
  }
}
