/**
 * Runs every vector suite inside a Chromium module Web Worker. Bundled by
 * test/browser/run.js, which serves the shared folder under /shared/ and its
 * directory listings under /list/. Reports to the page with postMessage:
 *   { type: 'case', suite, name, ok, error? }   once per case
 *   { type: 'done' } | { type: 'fatal', error }
 */
import { parse as losslessParse } from 'lossless-json'
import type { Fixtures } from '../vectors/harness.ts'
import { suites } from '../vectors/index.ts'

const scope = globalThis as unknown as { postMessage(message: unknown): void }

export type Report =
  | { type: 'case'; suite: string; name: string; ok: boolean; error?: string }
  | { type: 'done' }
  | { type: 'fatal'; error: string }

const post = (r: Report): void => scope.postMessage(r)

const describe = (e: unknown): string =>
  e instanceof Error ? `${e.name}: ${e.message}` : `thrown: ${String(e)}`

async function get(prefix: '/shared/' | '/list/', rel: string): Promise<Response> {
  const url = prefix + rel.split('/').map(encodeURIComponent).join('/')
  const res = await fetch(url)
  if (!res.ok) throw new Error(`fixture ${rel}: HTTP ${res.status} ${await res.text()}`)
  return res
}

const fixtures: Fixtures = {
  async json(rel) { return losslessParse(await (await get('/shared/', rel)).text()) as any },
  async bytes(rel) { return new Uint8Array(await (await get('/shared/', rel)).arrayBuffer()) },
  async list(rel) { return (await (await get('/list/', rel)).json()) as string[] },
}

async function main(): Promise<void> {
  // Proof that the suites really run in a worker, not on a page.
  if (typeof document !== 'undefined' || typeof (globalThis as any).WorkerGlobalScope === 'undefined') {
    throw new Error('not running in a Web Worker')
  }
  for (const [i, load] of suites.entries()) {
    let suite
    try {
      suite = await load(fixtures)
    } catch (e) {
      post({ type: 'case', suite: load.name || `suite #${i}`, name: '(load)', ok: false, error: describe(e) })
      continue
    }
    for (const c of suite.cases) {
      try {
        await c.run()
        post({ type: 'case', suite: suite.name, name: c.name, ok: true })
      } catch (e) {
        post({ type: 'case', suite: suite.name, name: c.name, ok: false, error: describe(e) })
      }
    }
  }
}

main().then(
  () => post({ type: 'done' }),
  (e) => post({ type: 'fatal', error: describe(e) }),
)
