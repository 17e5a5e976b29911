/** The browser's stores and snapshots bundle for the browser: no Node built-in anywhere in their imports. */
import { describe, it, expect } from 'vitest'
import { build } from 'esbuild'
import { fileURLToPath } from 'node:url'
import { resolve } from 'node:path'

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..')

describe('browser purity', () => {
  it('src/store/idb.ts, src/store/encoding.ts and src/snapshot (but its fs blockstore) bundle with platform browser', async () => {
    const entries = ['src/store/idb.ts', 'src/store/encoding.ts', 'src/snapshot/index.ts', 'src/snapshot/idb-blockstore.ts']
    const r = await build({
      entryPoints: entries.map((e) => resolve(ROOT, e)), bundle: true, write: false, platform: 'browser', format: 'esm',
      outdir: '/nonexistent', metafile: true, logLevel: 'silent', splitting: true,
    })
    const inputs = Object.keys(r.metafile.inputs)
    expect(inputs.filter((i) => i.startsWith('node:') || /(^|\/)src\/store\/fs\.ts$|fs-blockstore/.test(i))).toEqual([])
    expect(inputs.some((i) => i.includes('dexie'))).toBe(true)
  })

  it('the Node blockstore is the one that needs Node', async () => {
    await expect(build({
      entryPoints: [resolve(ROOT, 'src/snapshot/fs-blockstore.ts')], bundle: true, write: false, platform: 'browser', logLevel: 'silent',
    })).rejects.toThrow()
  })
})
