/**
 * HyperBEAM's HTTP API (spec §5) over real sockets: servers started in process
 * on 127.0.0.1 with random ports (startServer, what `ao serve` runs), one
 * `ao serve` child process (static files, the filesystem store), and the
 * devices behind the API (meta@1.0, relay@1.0, router@1.0).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { spawn, type ChildProcess } from 'node:child_process'
import { get as httpGet } from 'node:http'
import { mkdtempSync, writeFileSync, readFileSync, rmSync, mkdirSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { SHARED } from './node-fixtures.ts'
import { createNode, type AoNode } from '../../src/node/node.ts'
import { startServer, type RunningServer } from '../../src/cli/serve.ts'
import { loadJwk, type Wallet } from '../../src/crypto/wallet.ts'
import { DeviceRegistry, PRELOADED } from '../../src/devices/index.ts'
import { ok, type Device } from '../../src/core/device.ts'
import { emptyMessage, isMessage, message, type Message } from '../../src/core/value.ts'
import { commitMessage } from '../../src/codecs/commitments.ts'
import { messageId } from '../../src/core/id.ts'
import { toTabm, fromTabm } from '../../src/codecs/structured.ts'
import { tabmToItem, itemToTabm } from '../../src/codecs/ans104/convert.ts'
import { parseItem, serializeItem } from '../../src/codecs/ans104/data-item.ts'
import { messageToHttpParts, responseToMessage } from '../../src/devices/relay.ts'
import { chooseNodes, routingBase, regexMatches, matchRoutes } from '../../src/devices/router.ts'
import { FsStore } from '../../src/store/fs.ts'
import { Float, Link } from '../../src/core/value.ts'

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..')
const KEY1 = join(SHARED, 'hyperbeam-data/test/key-1.json')
const KEY2 = join(SHARED, 'hyperbeam-data/test/key-2.json')

let w1: Wallet
let w2: Wallet
const servers: RunningServer[] = []
const capabilities = { fetch: (r: Request) => fetch(r) }

/** Test devices: one that loops back into the resolver, and hooks. */
const loopDevice: Device = { name: 'loop@1.0', keys: { again: (base, req, ctx) => ctx.resolve(base, req) } }
const stampDevice: Device = {
  name: 'stamp@1.0',
  keys: {
    // A response hook: adds a key to every answer.
    response: (_base, req) => {
      const body = req['body']
      const out = emptyMessage()
      if (isMessage(body)) Object.assign(out, body)
      out['stamped'] = 'yes'
      return ok(message({ body: out }))
    },
  },
}
const devices = () => new DeviceRegistry([...PRELOADED, loopDevice, stampDevice])

async function serve(wallet: Wallet, config?: Message): Promise<RunningServer> {
  const node = await createNode({ wallet, capabilities, devices: devices(), config })
  const s = await startServer({ node, port: 0 })
  servers.push(s)
  return s
}

/** A fetch whose answer is decoded as a message (as relay@1.0 decodes peers). */
async function get(url: string, init?: RequestInit): Promise<{ status: number; headers: Headers; msg: Message; text: string }> {
  const r = await fetch(url, init)
  const body = new Uint8Array(await r.arrayBuffer())
  const headers: Array<[string, string]> = []
  r.headers.forEach((v, k) => headers.push([k, v]))
  const ct = r.headers.get('content-type') ?? ''
  const msg = ct.startsWith('application/json') ? emptyMessage() : responseToMessage(r.status, headers, body)
  return { status: r.status, headers: r.headers, msg, text: new TextDecoder().decode(body) }
}

/** Send a message as an HTTP request: httpsig headers (signature headers when committed) and body. */
function sendMessage(url: string, msg: Message, method = 'POST', edit?: (h: Record<string, string>) => void) {
  const { headers, body } = messageToHttpParts(msg)
  edit?.(headers)
  const path = typeof msg['path'] === 'string' ? msg['path'] : '/'
  return get(url.replace(/\/$/, '') + path, { method, headers, body: body as Uint8Array<ArrayBuffer> | undefined })
}

let A: RunningServer
let B: RunningServer

beforeAll(async () => {
  w1 = await loadJwk(JSON.parse(readFileSync(KEY1, 'utf8')))
  w2 = await loadJwk(JSON.parse(readFileSync(KEY2, 'utf8')))
  A = await serve(w1, message({ priv_secret: 'never shown', nested: message({ private: 'hidden', shown: 'yes' }) }))
  B = await serve(w2)
})
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()))
})

describe('HyperPATHs over HTTP', () => {
  it('GET a HyperPATH: device, inline keys, a key lookup', async () => {
    const r = await get(A.url + '~message@1.0&a=1&b=2/a')
    expect(r.status).toBe(200)
    expect(r.text).toBe('1')
    expect(r.msg['ao-result']).toBe('body')
    expect(r.msg['status']).toBe(200n)
  })

  it('a missing key is 404 with the reason in the body', async () => {
    const r = await get(A.url + '~message@1.0&a=1/nope')
    expect(r.status).toBe(404)
    expect(r.text).toContain('nope')
  })

  it('POST a HyperPATH: the body is a key of the request', async () => {
    const r = await get(A.url + '~message@1.0/body', { method: 'POST', body: 'posted text' })
    expect(r.status).toBe(200)
    expect(r.text).toBe('posted text')
  })

  it('typed keys in the query and in the path (k+integer=5)', async () => {
    for (const path of ['~message@1.0/k?k+integer=5', '~message@1.0&k+integer=5/k']) {
      const r = await get(A.url + path)
      expect(r.status).toBe(200)
      expect(r.msg['body']).toBe(5n)
      expect(r.headers.get('ao-types')).toContain('body="integer"')
    }
  })

  it('scoped keys (1.k=v) apply to one step only', async () => {
    const set = await get(A.url + '~message@1.0/set/k?1.k=v')
    expect(set.status).toBe(200)
    expect(set.text).toBe('v')
    // On the lookup step the key is not on the base: not found.
    expect((await get(A.url + '~message@1.0/k?1.k=v')).status).toBe(404)
  })

  it('sub-paths (…) resolve first', async () => {
    const r = await get(A.url + '~message@1.0&a=1&b=(~message@1.0&x=7/x)/b')
    expect(r.status).toBe(200)
    expect(r.text).toBe('7')
  })

  it('a list result is numbered', async () => {
    const r = await get(A.url + '~message@1.0&a=1/keys')
    expect(r.status).toBe(200)
    expect(Object.values(r.msg)).toContain('a')
  })

  it('/ redirects to the default request', async () => {
    const r = await fetch(A.url, { redirect: 'manual' })
    expect(r.status).toBe(302)
    expect(r.headers.get('location')).toBe('/~meta@1.0/info')
  })
})

describe('errors and statuses', () => {
  it('infinite recursion → 508', async () => {
    const r = await get(A.url + '~loop@1.0/again')
    expect(r.status).toBe(508)
    expect(r.msg['error']).toBe('InfiniteRecursion')
  })

  it('a path segment over 512 bytes → 400 PathSegmentTooLong (HyperBEAM: an uncaught throw, 500)', async () => {
    const r = await get(A.url + 'x'.repeat(513))
    expect(r.status).toBe(400)
    expect(r.msg['error']).toBe('PathSegmentTooLong')
    expect(r.text).toContain('512')
  })

  it('an unknown device → 404 UnknownDevice', async () => {
    const r = await get(A.url + '~nothing@9.9/x')
    expect(r.status).toBe(404)
    expect(r.msg['error']).toBe('UnknownDevice')
    expect(r.text).toContain('nothing@9.9')
  })

  it('a message the store does not hold → 404', async () => {
    const r = await get(A.url + 'A'.repeat(43) + '/x')
    expect(r.status).toBe(404)
  })

  it('an unknown accept-codec → 400, answered in httpsig', async () => {
    const r = await get(A.url + '~message@1.0&a=1/a', { headers: { 'accept-codec': 'nope@1.0' } })
    expect(r.status).toBe(400)
    expect(r.msg['error']).toBe('UnknownCodec')
  })

  it('errors never stop the server', async () => {
    expect((await get(A.url + '~message@1.0&a=1/a')).status).toBe(200)
  })
})

describe('meta@1.0', () => {
  it('info GET: the node message without private keys, with the address', async () => {
    const r = await get(A.url + '~meta@1.0/info')
    expect(r.status).toBe(200)
    expect(r.msg['address']).toBe(w1.address)
    expect(r.msg['operator']).toBe(w1.address)
    expect(r.text).not.toContain('never shown')
    expect(JSON.stringify([...r.headers])).not.toContain('priv')
    const nested = await get(A.url + '~meta@1.0/info/nested')
    expect(nested.msg['shown']).toBe('yes')
    expect(nested.msg['private']).toBeUndefined()
    expect((await get(A.url + '~meta@1.0/info/address')).text).toBe(w1.address)
  })

  it('info POST unsigned → 401', async () => {
    const r = await sendMessage(A.url, message({ path: '/~meta@1.0/info', 'test-setting': 'x' }))
    expect(r.status).toBe(401)
    expect(r.msg['error']).toBe('Unauthorized')
  })

  it('info POST signed by another wallet → 403', async () => {
    const signed = await commitMessage(message({ path: '/~meta@1.0/info', 'test-setting': 'x' }), { wallet: w2 })
    const r = await sendMessage(A.url, signed)
    expect(r.status).toBe(403)
    expect(r.msg['error']).toBe('Forbidden')
  })

  it('info POST signed by the operator updates the node message', async () => {
    const signed = await commitMessage(message({ path: '/~meta@1.0/info', 'test-setting': 'from the operator' }), { wallet: w1 })
    const r = await sendMessage(A.url, signed)
    expect(r.status).toBe(200)
    expect(r.text).toContain('Node message updated')
    expect(r.msg['history-length']).toBe(1n)
    expect((await get(A.url + '~meta@1.0/info/test-setting')).text).toBe('from the operator')
  })

  it('info POST with a node option that is not an integer → 400 InvalidNodeOption; nothing adopted', async () => {
    for (const [key, value] of [['scheduler_signatures', 'many'], ['scheduler_signatures', '0'], ['process_cache_frequency', '-1'], ['lua_max_memory', 'lots']] as const) {
      const signed = await commitMessage(message({ path: '/~meta@1.0/info', [key]: value, 'test-other': 'not adopted' }), { wallet: w1 })
      const r = await sendMessage(A.url, signed)
      expect(r.status, `${key}=${value}`).toBe(400)
      expect(r.text).toContain(`node option ${key} must be an integer`)
    }
    expect((await get(A.url + '~meta@1.0/info/test-other')).status).toBe(404)
  })

  it('build', async () => {
    const r = await get(A.url + '~meta@1.0/build/node')
    expect(r.text).toBe('ao-tab')
  })
})

describe('signed requests', () => {
  it('a signed request is verified and resolved; it is stored under its ID', async () => {
    const signed = await commitMessage(message({ path: '/key1', key1: 'Value1' }), { wallet: w2 })
    const r = await sendMessage(A.url, signed)
    expect(r.status).toBe(200)
    expect(r.text).toBe('Value1')
    const id = messageId(signed, 'signed')
    const again = await get(A.url + id + '/key1')
    expect(again.status).toBe(200)
    expect(again.text).toBe('Value1')
  })

  it('uncommitted headers of a signed request are dropped', async () => {
    const signed = await commitMessage(message({ path: '/extra', key1: 'v' }), { wallet: w2 })
    const r = await sendMessage(A.url, signed, 'POST', (h) => { h['extra'] = 'added after signing' })
    expect(r.status).toBe(404)
  })

  it('a tampered signed request → 400', async () => {
    const signed = await commitMessage(message({ path: '/key1', key1: 'Value1' }), { wallet: w2 })
    const r = await sendMessage(A.url, signed, 'POST', (h) => { h['key1'] = 'Value2' })
    expect(r.status).toBe(400)
    expect(r.msg['error']).toBe('InvalidCommitment')
  })

  it('an ans104@1.0 request (codec-device): a signed data item', async () => {
    const signed = await commitMessage(message({ path: '/key1', key1: 'from an item' }), { wallet: w1, device: 'ans104@1.0' })
    const item = serializeItem(tabmToItem(toTabm(signed, { linkify: 'discard' })))
    const r = await get(A.url + 'key1', { method: 'POST', headers: { 'codec-device': 'ans104@1.0', 'content-type': 'application/ans104' }, body: item as Uint8Array<ArrayBuffer> })
    expect(r.status).toBe(200)
    expect(r.text).toBe('from an item')
    const tampered = item.slice()
    tampered[tampered.length - 1] ^= 1
    const bad = await get(A.url + 'key1', { method: 'POST', headers: { 'codec-device': 'ans104@1.0' }, body: tampered as Uint8Array<ArrayBuffer> })
    expect(bad.status).toBe(400)
  })
})

describe('reply codecs and CORS', () => {
  it('accept-codec: json@1.0 (and accept: application/json)', async () => {
    for (const headers of [{ 'accept-codec': 'json@1.0' }, { accept: 'application/json' }] as Record<string, string>[]) {
      const r = await fetch(A.url + '~message@1.0&a=1&b=2/a', { headers })
      expect(r.status).toBe(200)
      expect(r.headers.get('content-type')).toBe('application/json')
      expect(r.headers.get('codec-device')).toBe('json@1.0')
      const j = await r.json()
      expect(j.body).toBe('1')
      expect(j['ao-result']).toBe('body')
      expect(j.status).toBe('200')
    }
  })

  it('accept-codec: ans104@1.0 answers with a data item', async () => {
    const r = await fetch(A.url + '~message@1.0&a=1&b=2/a', { headers: { 'accept-codec': 'ans104@1.0' } })
    expect(r.status).toBe(200)
    expect(r.headers.get('content-type')).toBe('application/ans104')
    const m = fromTabm(itemToTabm(parseItem(new Uint8Array(await r.arrayBuffer())))) as Message
    expect(m['body']).toBe('1')
    expect(m['status']).toBe(200n)
  })

  it('accept-bundle: nested messages inline (multipart) instead of links', async () => {
    const linked = await get(A.url + '~meta@1.0/info')
    expect(linked.msg['nested']).toBeInstanceOf(Link)
    // The linked child was written to the store: its ID serves it.
    const child = await get(A.url + (linked.msg['nested'] as Link).id + '/shown')
    expect(child.text).toBe('yes')
    const bundled = await get(A.url + '~meta@1.0/info', { headers: { 'accept-bundle': 'true' } })
    expect(bundled.headers.get('content-type')).toMatch(/^multipart\/form-data/)
    expect(isMessage(bundled.msg['nested'])).toBe(true)
  })

  it('CORS on every reply, errors included', async () => {
    for (const path of ['~message@1.0&a=1/a', '~nothing@1.0/x']) {
      const r = await fetch(A.url + path, { headers: { origin: 'http://elsewhere.example' } })
      expect(r.headers.get('access-control-allow-origin')).toBe('*')
      expect(r.headers.get('access-control-expose-headers')).toBe('*')
    }
  })

  it('OPTIONS preflight → 204 with CORS headers', async () => {
    const r = await fetch(A.url + '~meta@1.0/info', {
      method: 'OPTIONS',
      headers: { origin: 'http://elsewhere.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'signature, signature-input' },
    })
    expect(r.status).toBe(204)
    expect(r.headers.get('access-control-allow-origin')).toBe('*')
    expect(r.headers.get('access-control-allow-headers')).toBe('signature, signature-input')
    expect(r.headers.get('access-control-allow-methods')).toContain('POST')
  })
})

describe('relay@1.0 and router@1.0 between two nodes', () => {
  it('call: B relays to A by peer', async () => {
    const r = await get(B.url + `~relay@1.0/call?peer=${encodeURIComponent(A.url)}&relay-path=/~meta@1.0/info`)
    expect(r.status).toBe(200)
    expect(r.msg['address']).toBe(w1.address)
    const addr = await get(B.url + `~relay@1.0/call/address?peer=${encodeURIComponent(A.url)}&relay-path=/~meta@1.0/info`)
    expect(addr.text).toBe(w1.address)
    // B itself is another node.
    expect((await get(B.url + '~meta@1.0/info/address')).text).toBe(w2.address)
  })

  it('call: the peer status comes back (404 stays 404)', async () => {
    const r = await get(B.url + `~relay@1.0/call?peer=${encodeURIComponent(A.url)}&relay-path=/~message@1.0/missing`)
    expect(r.status).toBe(404)
  })

  it('call without a peer follows the routes; cast answers OK', async () => {
    const C = await serve(w2, message({ routes: [message({ template: '/~meta@1.0/.*', node: A.url.replace(/\/$/, '') })] }))
    expect((await get(C.url + '~relay@1.0/call?relay-path=/~meta@1.0/info/address')).text).toBe(w1.address)
    expect((await get(C.url + '~relay@1.0/cast?relay-path=/~meta@1.0/info/address')).text).toBe('OK')
    const route = await get(C.url + '~router@1.0/route?route-path=/~meta@1.0/info')
    expect(route.text).toBe(A.url.replace(/\/$/, ''))
    expect((await get(C.url + '~router@1.0/route?route-path=/elsewhere')).status).toBe(400)
    expect((await get(C.url + '~router@1.0/routes/1/template')).text).toBe('/~meta@1.0/.*')
  })

  it('a relay request hook sends every request to the routed peer', async () => {
    const D = await serve(w2, message({
      routes: [message({ template: '/.*', strategy: 'Nearest', nodes: [message({ prefix: A.url.replace(/\/$/, ''), wallet: w1.address })] })],
      on: message({ request: message({ device: 'relay@1.0' }) }),
    }))
    expect((await get(D.url + '~meta@1.0/info/address')).text).toBe(w1.address)
  })

  it('a response hook changes every answer', async () => {
    const E = await serve(w1, message({ on: message({ response: message({ device: 'stamp@1.0' }) }) }))
    const r = await get(E.url + '~message@1.0&a=1/a')
    expect(r.status).toBe(200)
    expect(r.msg['stamped']).toBe('yes')
  })

  it('an unreachable peer → 502', async () => {
    const r = await get(B.url + '~relay@1.0/call?peer=http://127.0.0.1:9&relay-path=/x')
    expect(r.status).toBe(502)
    expect(r.msg['error']).toBe('UpstreamFailed')
  })

  it('routes POST: only a route owner (the operator) adds routes', async () => {
    const F = await serve(w1)
    const route = { path: '/~router@1.0/routes', template: '/new', node: 'http://new.example', priority: 5n }
    expect((await sendMessage(F.url, message(route))).status).toBe(401)
    expect((await sendMessage(F.url, await commitMessage(message(route), { wallet: w2 }))).status).toBe(403)
    const r = await sendMessage(F.url, await commitMessage(message(route), { wallet: w1 }))
    expect(r.status).toBe(200)
    expect(r.text).toBe('Route added.')
    expect((await get(F.url + '~router@1.0/route?route-path=/new')).text).toBe('http://new.example')
  })
})

describe('router@1.0 strategies', () => {
  const nodes = [1, 2, 3, 4, 5].map((i) => message({ prefix: `http://n${i}`, wallet: messageId(message({ i: BigInt(i) })) }))

  it('regex templates match as HyperBEAM (unanchored, lower-cased, leading /)', () => {
    expect(regexMatches('a/b/c', 'a/.*/c')).toBe(true)
    expect(regexMatches('a/b/c', 'a/.*/d')).toBe(false)
    expect(regexMatches('a/bcd/c', 'a/abc.*/c')).toBe(false)
    expect(regexMatches('/abc/schedule', '/.*/schedule')).toBe(true)
    // `*` becomes `/*` (HyperBEAM prefixes `/` to both sides), which matches anything: a catch-all.
    expect(regexMatches('x', '*')).toBe(true)
    expect(regexMatches('x', '(')).toBe(false)
  })

  it('message templates, a fallback route, explicit URLs', () => {
    const routes = [message({ template: message({ 'other-key': 'x' }), node: 'incorrect' }), message({ template: message({ 'special-key': 'v' }), node: 'correct' })]
    expect(matchRoutes(message({ path: '/', 'special-key': 'v' }), routes)?.['node']).toBe('correct')
    expect(matchRoutes(message({ path: '/', 'special-key': 'w' }), routes)).toBeUndefined()
    expect(matchRoutes(message({ path: '/' }), [...routes, message({ node: 'fallback' })])?.['node']).toBe('fallback')
    expect(matchRoutes(message({ path: 'https://example.com' }), routes)?.['node']).toBe('https://example.com')
  })

  it('By-Base and Nearest are deterministic and choose distinct nodes', () => {
    for (const strategy of ['By-Base', 'Nearest']) {
      for (const path of ['/a/b', '/' + 'A'.repeat(43) + '~process@1.0/now', '/other']) {
        const a = chooseNodes(3, strategy, routingBase(path), nodes)
        const b = chooseNodes(3, strategy, routingBase(path), nodes)
        expect(a).toEqual(b)
        expect(new Set(a).size).toBe(3)
      }
    }
    // By-Base: the base modulo the node count.
    const base = routingBase('/x')
    expect(chooseNodes(1, 'By-Base', base, nodes)[0]).toBe(nodes[Number(base % 5n)])
  })

  it('Random and By-Weight choose among the nodes; weight 0 is never chosen', () => {
    const weighted = [message({ host: '1', weight: 0n }), message({ host: '2', weight: 99n }), message({ host: '3', weight: new Float(1) })]
    for (let i = 0; i < 50; i++) {
      expect(chooseNodes(1, 'By-Weight', 0n, weighted)[0]).not.toBe(weighted[0])
      expect(nodes).toContain(chooseNodes(1, 'Random', 0n, nodes)[0])
    }
  })
})

describe('FsStore', () => {
  it('writes, reads (exact types), links, lists; survives a new instance', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ao-fs-'))
    try {
      const s = new FsStore(dir)
      const m = message({ a: 'x', n: 12345678901234567890n, f: new Float(1), l: [1n, 'two'], link: new Link('B'.repeat(43)), bytes: new Uint8Array([0, 255]) })
      await s.write('computed/HP1/x.y', m)
      await s.link('alias/one', 'computed/HP1/x.y')
      const again = new FsStore(dir)
      expect(await again.read('computed/HP1/x.y')).toEqual(m)
      expect(await again.read('alias/one')).toEqual(m)
      expect(await again.read('missing')).toBeUndefined()
      expect(await again.list('computed')).toEqual(['HP1'])
      expect(await again.list('computed/HP1')).toEqual(['x.y'])
      await again.write('alias/one', 'now a value')
      expect(await again.read('alias/one')).toBe('now a value')
      expect(readdirSync(join(dir, 'computed', 'HP1')).some((f) => f.endsWith('.tmp'))).toBe(false)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

/** A GET with the path exactly as given (fetch would normalize it). */
function rawStatus(base: string, path: string): Promise<number> {
  const u = new URL(base)
  return new Promise((ok, fail) => {
    httpGet({ host: u.hostname, port: u.port, path }, (res) => { res.resume(); ok(res.statusCode ?? 0) }).on('error', fail)
  })
}

describe('ao serve (child process): the API beside the PWA', () => {
  let dir: string
  let child: ChildProcess | undefined
  let url: string

  async function start(args: string[]): Promise<string> {
    child = spawn(process.execPath, [join(ROOT, 'bin/ao.js'), 'serve', '--port', '0', '--wallet', KEY1, ...args], { cwd: ROOT })
    let out = ''
    return new Promise((ok, fail) => {
      const timer = setTimeout(() => fail(new Error(`ao serve did not start: ${out}`)), 30_000)
      child!.stdout!.on('data', (d) => {
        out += d
        const m = /ao serve: (http:\/\/\S+)/.exec(out)
        if (m) { clearTimeout(timer); ok(m[1]!) }
      })
      child!.stderr!.on('data', (d) => { out += d })
      child!.on('exit', (code) => { clearTimeout(timer); fail(new Error(`ao serve exited ${code}: ${out}`)) })
    })
  }
  async function stop(): Promise<void> {
    if (!child || child.exitCode !== null) return
    const c = child
    await new Promise<void>((ok) => { c.once('exit', () => ok()); c.kill('SIGTERM') })
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ao-serve-'))
    mkdirSync(join(dir, 'dist/assets'), { recursive: true })
    writeFileSync(join(dir, 'dist/index.html'), '<!doctype html><title>app</title>')
    writeFileSync(join(dir, 'dist/assets/app-abc.js'), 'console.log(1)')
    url = await start(['--static', join(dir, 'dist'), '--store', join(dir, 'store')])
  })
  afterAll(async () => {
    await stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('prints its URL on 127.0.0.1 and serves the node address', async () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/)
    expect((await get(url + '~meta@1.0/info/address')).text).toBe(w1.address)
  })

  it('static files at /, app routes and assets; HyperPATHs beside them', async () => {
    const index = await fetch(url)
    expect(index.status).toBe(200)
    expect(await index.text()).toContain('<title>app</title>')
    expect(await (await fetch(url + 'some/app/route')).text()).toContain('<title>app</title>')
    const asset = await fetch(url + 'assets/app-abc.js')
    expect(asset.headers.get('content-type')).toContain('javascript')
    expect(asset.headers.get('cache-control')).toContain('immutable')
    expect((await fetch(url + 'missing.js')).status).toBe(404)
    expect(await rawStatus(url, '/..%2f..%2fetc%2fpasswd')).toBe(403)
    // A query makes a plain path a HyperPATH; so does POST.
    expect((await get(url + 'a?a=from-query')).text).toBe('from-query')
    expect((await get(url + '~message@1.0/body', { method: 'POST', body: 'b' })).text).toBe('b')
  })

  it('--store DIR keeps computed results on disk', async () => {
    const r = await get(url + '~message@1.0&a=1&b=2/set&c=3')
    expect(r.msg['c']).toBe('3')
    expect(readdirSync(join(dir, 'store'))).toContain('computed')
  })
})
