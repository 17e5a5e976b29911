/** The `ao` command, run as a user would (a child process), against HyperBEAM's known answers. */
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { SHARED } from './node-fixtures.ts'

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..')
const KEY = join(SHARED, 'hyperbeam-data/test/key-1.json')
const oracle = JSON.parse(readFileSync(join(SHARED, 'hyperbeam-data/vectors/oracle-vectors.json'), 'utf8'))
const cases = (cat: string, name: string) => oracle.categories[cat].cases.find((c: any) => c.name === name)

let dir: string
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'ao-cli-')) })
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function file(name: string, content: string | Uint8Array): string {
  const p = join(dir, name)
  writeFileSync(p, content)
  return p
}

function ao(args: string[], input?: string | Uint8Array) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/ao.js'), ...args], { input, cwd: ROOT, env: { ...process.env, AO_SHARED: SHARED } })
  return { code: r.status, out: r.stdout, text: r.stdout.toString('utf8'), err: r.stderr.toString('utf8') }
}

describe('ao CLI', () => {
  it('id: unsigned ID and id_all (HyperBEAM ids vector "combo", from a file and from stdin)', () => {
    const c = cases('ids', 'combo')
    const r = ao(['id', file('combo.json', JSON.stringify(c.input))])
    expect(r.code).toBe(0)
    expect(JSON.parse(r.text)).toEqual({ id: c.unsigned_id, id_all: c.id_all })
    const s = ao(['id', '-'], JSON.stringify(c.input))
    expect(JSON.parse(s.text).id).toBe(c.unsigned_id)
  })

  it('sigbase: the HMAC signature base byte for byte (non-UTF-8 value)', () => {
    const c = cases('ids', 'non-utf8-binary')
    const r = ao(['sigbase', file('bin.json', JSON.stringify(c.input))])
    expect(r.code).toBe(0)
    expect(Buffer.compare(r.out, Buffer.from(c.signature_base['@b64'], 'base64'))).toBe(0)
  })

  it('hashpath: one hashpath per step', () => {
    const c = cases('hashpath', 'mixed')
    const r = ao(['hashpath', file('hp.json', JSON.stringify({ base: c.base, requests: c.steps.map((s: any) => s.request) }))])
    expect(r.code).toBe(0)
    expect(JSON.parse(r.text)).toEqual(c.steps.map((s: any) => s.hashpath))
  })

  it('path: parsed messages; a path HyperBEAM rejects exits 2', () => {
    const c = cases('paths', '/~process@1.0/compute&slot=3/results')
    const r = ao(['path', c.request.path])
    expect(r.code).toBe(0)
    expect(JSON.parse(r.text)).toEqual(c.messages)
    const bad = ao(['path', '/a/b+c'])
    expect(bad.code).toBe(2)
    expect(bad.err.trim().split('\n')).toHaveLength(1)
  })

  it('encode --codec httpsig: headers and body as HyperBEAM; --bundle inlines nested messages as multipart', () => {
    const c = cases('httpsig_wire', 'typed-headers')
    const r = ao(['encode', '--codec', 'httpsig', file('typed.json', JSON.stringify(c.input))])
    expect(r.code).toBe(0)
    expect(JSON.parse(r.text)).toEqual({ headers: c.headers, body: null })
    const m = cases('httpsig_wire', 'nested-multipart')
    const b = ao(['encode', '--codec', 'httpsig', '--bundle', file('nested.json', JSON.stringify(m.input))])
    expect(JSON.parse(b.text)).toEqual({ headers: m.headers, body: m.body })
  })

  it('decode --codec httpsig gives the message with its commitments', () => {
    const c = cases('httpsig_wire', 'simple')
    const r = ao(['decode', '--codec', 'httpsig', file('wire.json', JSON.stringify({ headers: c.headers, body: null }))])
    expect(r.code).toBe(0)
    const msg = JSON.parse(r.text)
    expect(msg.a).toBe('b')
    expect(msg.n).toBe(1)
    expect(Object.keys(msg.commitments)).toEqual(Object.keys(c.hmac_commitment))
  })

  it('encode/decode --codec flat and json', () => {
    const c = cases('flat', 'flat-typed')
    const f = ao(['encode', '--codec', 'flat', file('flat.json', JSON.stringify(c.input))])
    expect(f.text).toBe(c.serialized)
    const back = ao(['decode', '--codec', 'flat', file('flat.txt', f.text)])
    expect(JSON.parse(back.text)).toEqual(c.input)
    const j = cases('json', 'json-typed')
    const e = ao(['encode', '--codec', 'json', file('json.json', JSON.stringify(j.input))])
    expect(e.text.trim()).toBe(j.json)
  })

  it('sign --wallet then verify: exit 0; tampered: exit 1; bad input: exit 2', () => {
    const r = ao(['sign', '--wallet', KEY, file('msg.json', JSON.stringify({ a: 'b', num: 7 }))])
    expect(r.code).toBe(0)
    const signed = JSON.parse(r.text)
    const v = ao(['verify', file('signed.json', r.text)])
    expect(v.code).toBe(0)
    expect(JSON.parse(v.text)).toMatchObject({ verified: true, committers: [oracle.wallet_address] })
    signed.a = 'tampered'
    const t = ao(['verify', file('tampered.json', JSON.stringify(signed))])
    expect(t.code).toBe(1)
    expect(JSON.parse(t.text).verified).toBe(false)
    const bad = ao(['verify', file('bad.json', '{not json')])
    expect(bad.code).toBe(2)
    expect(bad.err).toMatch(/^ao: InvalidTypedJson: /)
  })

  it('ans104: sign, encode to a binary item, verify the item, decode it', () => {
    const r = ao(['sign', '--codec', 'ans104', '--wallet', KEY, file('item-msg.json', JSON.stringify({ a: 'b', data: 'hello' }))])
    expect(r.code).toBe(0)
    const item = ao(['encode', '--codec', 'ans104', file('item-signed.json', r.text)])
    expect(item.code).toBe(0)
    const itemFile = file('item.bin', item.out)
    const v = ao(['verify', '--codec', 'ans104', itemFile])
    expect(v.code).toBe(0)
    expect(JSON.parse(v.text).committers).toEqual([oracle.wallet_address])
    const d = ao(['decode', '--codec', 'ans104', itemFile])
    expect(JSON.parse(d.text)).toMatchObject({ a: 'b', data: 'hello' })
    const real = ao(['verify', '--codec', 'ans104', join(SHARED, 'vectors/ans104/arbundles-items/_W_SpuPH0LTw7JrgWenwRdOYYJmBRY08kCDh1uKgY-Y.bin')])
    expect(JSON.parse(real.text)).toMatchObject({ verified: true, id: '_W_SpuPH0LTw7JrgWenwRdOYYJmBRY08kCDh1uKgY-Y' })
  })

  it('errors: one line on stderr, exit 2', () => {
    for (const args of [['nope'], ['id', join(dir, 'missing.json')], ['encode', '--codec', 'xml', '-'], ['sign', '-']]) {
      const r = ao(args, '{}')
      expect(r.code, args.join(' ')).toBe(2)
      expect(r.err.trim().split('\n'), args.join(' ')).toHaveLength(1)
    }
  })
})

describe('--wallet files (serve, relay)', () => {
  it('loads a JWK; a missing file or one that is not JSON is BadInput naming the file', async () => {
    const { walletFromFile } = await import('../../src/cli/io.ts')
    const w = await walletFromFile(KEY)
    expect(w.address).toMatch(/^[A-Za-z0-9_-]{43}$/)
    const missing = join(tmpdir(), 'no-such-wallet.json')
    await expect(walletFromFile(missing)).rejects.toMatchObject({ name: 'BadInput', message: `--wallet ${missing}: ENOENT` })
    const notJson = file('not-a-wallet.json', 'hello')
    await expect(walletFromFile(notJson)).rejects.toMatchObject({ name: 'BadInput', message: `--wallet ${notJson}: not a JSON file` })
  })
})
