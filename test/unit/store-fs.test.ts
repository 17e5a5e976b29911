/** FsStore beyond the contract: crash safety, torn and altered files, typed errors. */
import { describe, it, expect, afterAll } from 'vitest'
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, readdir, rm, truncate, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { FsStore, fsError } from '../../src/store/fs.ts'
import { encodeEntry } from '../../src/store/encoding.ts'
import { message, type Message } from '../../src/core/value.ts'

const HERE = fileURLToPath(new URL('.', import.meta.url))
const dirs: string[] = []
afterAll(async () => { for (const d of dirs) await rm(d, { recursive: true, force: true }) })
async function fresh(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'ao-store-fs-'))
  dirs.push(d)
  return d
}

describe('FsStore crash safety', () => {
  it('a torn entry (any prefix of a valid file) is StoreCorrupt, never a value', async () => {
    const root = await fresh()
    const s = new FsStore(root)
    const v = message({ n: 2n ** 100n, body: new Uint8Array(1000).fill(7) })
    await s.write('a/b', v)
    const file = join(root, 'a', 'b.e')
    const whole = await readFile(file)
    for (const len of [0, 1, 3, 5, 10, 100, whole.length - 9, whole.length - 1]) {
      await writeFile(file, whole.subarray(0, len))
      await expect(s.read('a/b'), `torn at ${len}`).rejects.toMatchObject({ name: 'StoreCorrupt', status: 500 })
    }
    await writeFile(file, whole)
    expect(((await s.read('a/b')) as Message).n).toBe(2n ** 100n)
  })

  it('an entry whose chunk of a long list is gone is StoreCorrupt, never a shorter list', async () => {
    const root = await fresh()
    const s = new FsStore(root)
    const list = Array.from({ length: 1000 }, (_, i) => `id-${i}`)
    await s.write('state', message({ dedup: list }))
    const chunks = await readdir(join(root, 'chunks'))
    expect(chunks.length).toBeGreaterThan(3)
    await rm(join(root, 'chunks', chunks[2]!))
    await expect(new FsStore(root).read('state')).rejects.toMatchObject({ name: 'StoreCorrupt', status: 500 })
  })

  it('an altered byte anywhere, or bytes appended, is StoreCorrupt', async () => {
    const root = await fresh()
    const s = new FsStore(root)
    await s.write('x', message({ k: 'value' }))
    const file = join(root, 'x.e')
    const whole = await readFile(file)
    for (let i = 0; i < whole.length; i++) {
      const bad = Buffer.from(whole)
      bad[i] = bad[i]! ^ 0x10
      await writeFile(file, bad)
      await expect(s.read('x'), `byte ${i}`).rejects.toMatchObject({ name: 'StoreCorrupt' })
    }
    await writeFile(file, Buffer.concat([whole, Buffer.from([0])]))
    await expect(s.read('x')).rejects.toMatchObject({ name: 'StoreCorrupt' })
  })

  it('a temporary file left by a crash before its rename is invisible; the old entry stays', async () => {
    const root = await fresh()
    const s = new FsStore(root)
    await s.write('g/k', 'old')
    // What a crash between the temporary write and the rename leaves: complete, and half-written.
    await writeFile(join(root, 'g', 'k.e.0a1b2c3d4e5f.tmp'), encodeEntry({ kind: 'value', value: 'new' }))
    await writeFile(join(root, 'g', 'k2.e.ffffffffffff.tmp'), encodeEntry({ kind: 'value', value: 'half' }).subarray(0, 6))
    expect(await s.read('g/k')).toBe('old')
    expect(await s.read('g/k2')).toBeUndefined()
    expect(await s.list('g')).toEqual(['k'])
    expect(await s.sweep()).toBe(2)
    expect((await readdir(join(root, 'g'))).sort()).toEqual(['k.e'])
  })

  it('a writer killed at random moments never leaves an entry that reads as anything but a whole value', async () => {
    const root = await fresh()
    let highest = -1
    for (let round = 0; round < 6; round++) {
      const done = await new Promise<number>((ok, fail) => {
        const child = spawn(process.execPath, ['--import', 'tsx', resolve(HERE, 'store-crash-child.ts'), root], { stdio: ['ignore', 'pipe', 'pipe'] })
        let out = '', err = ''
        let last = -1
        let armed = false
        child.stdout.on('data', (d) => {
          out += d
          const lines = out.split('\n')
          for (const l of lines.slice(0, -1)) if (/^\d+$/.test(l)) last = Number(l)
          out = lines.at(-1)!
          if (!armed && (last >= 0 || lines.includes('ready'))) {
            armed = true
            setTimeout(() => child.kill('SIGKILL'), 30 + Math.floor(Math.random() * 200))
          }
        })
        child.stderr.on('data', (d) => { err += d })
        child.on('error', fail)
        child.on('exit', (code, signal) => (signal === 'SIGKILL' ? ok(last) : fail(new Error(`child exited ${code}: ${err}`))))
      })
      highest = Math.max(highest, done)
      const s = new FsStore(root)
      for (let k = 0; k < 20; k++) {
        const v = (await s.read(`e/${k}`)) as Message | undefined
        if (v === undefined) { expect(highest < k, `e/${k} lost`).toBe(true); continue }
        const i = Number(v.i as bigint)
        const body = v.body as Uint8Array
        expect(i % 20).toBe(k)
        expect(body.length).toBe(200_000 + (i % 7) * 10_000)
        expect(body[body.length - 1]).toBe((i + body.length - 1) & 0xff)
        const l = (await s.read(`l/${k}`)) as Message | undefined
        if (l !== undefined) expect(l.i).toBe(v.i)
      }
      // Every write the child saw resolve is there (or a newer one).
      if (process.env.AO_CRASH_DEBUG) console.log(`round ${round}: killed after write ${done}`)
      if (done >= 0) expect(Number(((await s.read(`e/${done % 20}`)) as Message).i as bigint)).toBeGreaterThanOrEqual(done)
    }
  })
})

describe('FsStore errors', () => {
  it('I/O failures are StoreFailed (a root below a regular file)', async () => {
    const root = await fresh()
    await writeFile(join(root, 'file'), 'not a directory')
    const s = new FsStore(join(root, 'file', 'store'))
    await expect(s.write('a', 'x')).rejects.toMatchObject({ name: 'StoreFailed', status: 500 })
    expect(await s.read('a')).toBeUndefined()
    expect(await s.list('')).toEqual([])
  })

  it('a directory where an entry file should be is StoreFailed, not a missing value', async () => {
    const root = await fresh()
    const s = new FsStore(root)
    await s.write('a/b', 'x')
    await rm(join(root, 'a', 'b.e'))
    const { mkdir } = await import('node:fs/promises')
    await mkdir(join(root, 'a', 'b.e'))
    await expect(s.read('a/b')).rejects.toMatchObject({ name: 'StoreFailed' })
    await expect(s.write('a/b', 'y')).rejects.toMatchObject({ name: 'StoreFailed' })
  })

  it('out of space (ENOSPC, EDQUOT) is StoreQuotaExceeded, 507', () => {
    for (const code of ['ENOSPC', 'EDQUOT']) {
      const e = fsError(Object.assign(new Error(`${code}: no space left`), { code }), 'cannot write x')
      expect(e).toMatchObject({ name: 'StoreQuotaExceeded', status: 507 })
      expect(e.message).toContain(code)
    }
    expect(fsError(Object.assign(new Error('EIO'), { code: 'EIO' }), 'w')).toMatchObject({ name: 'StoreFailed', status: 500 })
  })

  it('a value the encoding cannot hold exactly is refused before anything is written', async () => {
    const root = await fresh()
    const s = new FsStore(root)
    await expect(s.write('a', message({ bad: 'lone \ud800 surrogate' }))).rejects.toMatchObject({ name: 'UnencodableValue', status: 400 })
    expect(await s.list('')).toEqual([])
  })

  it('a segment too long for a file name is a typed StoreFailed, on write and on read', async () => {
    const s = new FsStore(await fresh())
    const long = 'é'.repeat(60) // 360 bytes once escaped: past the usual 255-byte name limit
    await expect(s.write(`g/${long}`, 'x')).rejects.toMatchObject({ name: 'StoreFailed' })
    await expect(s.read(`g/${long}`)).rejects.toMatchObject({ name: 'StoreFailed' })
    await s.write(`g/${'a'.repeat(200)}`, 'fits')
    expect(await s.read(`g/${'a'.repeat(200)}`)).toBe('fits')
  })

  it('an empty path and an empty link target are InvalidPath', async () => {
    const s = new FsStore(await fresh())
    await expect(s.write('/', 'x')).rejects.toMatchObject({ name: 'InvalidPath' })
    await expect(s.link('a', '/')).rejects.toMatchObject({ name: 'InvalidPath' })
  })
})

describe('FsStore directories', () => {
  it('a group removed behind the store\'s back is recreated on the next write', async () => {
    const root = await fresh()
    for (const durable of [true, false]) {
      const s = new FsStore(root, { durable })
      await s.write('g/a', 'one')
      await rm(join(root, 'g'), { recursive: true })
      await s.write('g/b', 'two')
      expect(await s.read('g/b')).toBe('two')
      expect(await s.list('g')).toEqual(['b'])
      await rm(join(root, 'g'), { recursive: true })
    }
  })
})
