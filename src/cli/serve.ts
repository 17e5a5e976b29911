/**
 * `ao serve`: the node's HTTP API (HyperBEAM's, spec §5) on node:http, with
 * the built PWA beside it on the same port (Node only).
 *
 *   ao serve [--port 8734] [--host 127.0.0.1] [--wallet JWK] [--store DIR] [--static DIR]
 *            [--bootstrap MULTIADDR]... [--p2p-port N] [--p2p-ws-port M] [--relay]
 *
 * Each node:http request becomes a Web Request for the node's handler
 * (src/node/http.ts, the same code a browser worker runs) and its Response is
 * written back. Bound to 127.0.0.1 unless --host says otherwise. With
 * --store DIR, results go to a filesystem store in DIR and process snapshots
 * to a blockstore-fs in DIR/blocks (the results refer to them by CID).
 *
 * Which requests are HyperPATHs (the node) and which are the PWA's files,
 * when --static is given:
 *   1. any method but GET and HEAD → node (only messages are POSTed, PUT, …);
 *   2. a path that starts with `/~` (a device) or `/(` (a sub-resolution), or
 *      whose first segment is a 43-character base64url ID (as the PWA's
 *      service worker decides, src/app/wire.ts) → node;
 *   3. a request carrying message headers (`codec-device`, `signature`,
 *      `path`) → node;
 *   4. a query string on a path that is not a file of the static dir
 *      (`/?a=1`, `/key?x=1`: the query carries message keys) → node;
 *   5. everything else is the PWA: an existing file; `/` is index.html; a
 *      missing path without a file extension is an app route (index.html);
 *      a missing asset is 404.
 * So a HyperPATH that starts with a plain key (`/key1`) needs a query, or a
 * server without --static. Without --static every request goes to the node.
 *
 * With --bootstrap (repeatable) or --p2p-port the node also starts its libp2p
 * host (src/p2p/host.ts: TCP on --p2p-port, WebSockets on --p2p-ws-port, both
 * on --host, default any free port) and joins the network through the
 * bootstrap peers (`ao relay` prints their multiaddrs): it announces itself,
 * serves the catch-up protocol from its store and shares its snapshot blocks
 * over bitswap. With --store DIR its peer key is kept in DIR/peer-key.
 * With --relay the host is also the network's relay/bootstrap peer (as `ao
 * relay`, in the same process: what `npm start` runs, so one command serves
 * the PWA, the node and the relay).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createReadStream } from 'node:fs'
import { mkdir, realpath, stat } from 'node:fs/promises'
import { extname, join, resolve, sep } from 'node:path'
import type { AddressInfo } from 'node:net'
import { createNode, type AoNode } from '../node/node.ts'
import { handleHttpReply, type HttpReply } from '../node/http.ts'
import { generateWallet } from '../crypto/wallet.ts'
import { MemoryStore } from '../store/memory.ts'
import { FsStore } from '../store/fs.ts'
import { flushResults } from '../devices/process.ts'
import type { Store } from '../store/store.ts'
import type { Blocks } from '../snapshot/blocks.ts'
import { openFsBlocks } from '../snapshot/fs-blockstore.ts'
import type { Blockstore } from 'interface-blockstore'
import { BadInput } from '../core/errors.ts'
import { CliUsage, parseArgs, walletFromFile } from './io.ts'

export const DEFAULT_PORT = 8734
export const DEFAULT_HOST = '127.0.0.1'
/** Request bodies above this are refused (413). */
export const MAX_BODY_BYTES = 64 * 1024 * 1024

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
}

export interface ServeOptions {
  node: AoNode
  /** Default 8734; 0 picks a free port. */
  port?: number
  /** Default 127.0.0.1. */
  host?: string
  /** The built PWA (dist/), served beside the API. */
  staticDir?: string
  /**
   * The multiaddrs a page should join the network through (WebSockets ones),
   * served at /.well-known/ao-tab-bootstrap.json so the tab finds the relay
   * that `npm start` runs beside it.
   */
  bootstrap?: () => string[]
}

/** Where a page reads the relay's addresses (the service worker leaves it to the server). */
export const BOOTSTRAP_PATH = '/.well-known/ao-tab-bootstrap.json'

export interface RunningServer {
  url: string
  port: number
  node: AoNode
  server: Server
  close(): Promise<void>
}

// ---------------------------------------------------------------- routing

const ID_SEGMENT = /^\/[A-Za-z0-9_-]{43}(?:$|[/&~])/

/** Rules 1–3 (see the top of this file): requests that are HyperPATHs whatever the static dir holds. */
export function isNodeRequest(method: string, pathname: string, headers: IncomingMessage['headers']): boolean {
  if (method !== 'GET' && method !== 'HEAD') return true
  if (pathname.startsWith('/~') || pathname.startsWith('/(') || ID_SEGMENT.test(pathname)) return true
  return headers['codec-device'] !== undefined || headers['signature'] !== undefined || headers['path'] !== undefined
}

/** An existing file inside root for a URL path: its path, null (outside root), or undefined (absent). */
async function fileInside(root: string, rel: string): Promise<string | null | undefined> {
  if (rel.includes('\0') || rel.includes('\\')) return null
  const parts = rel.split('/').filter(Boolean)
  if (parts.some((p) => p === '..' || p === '.')) return null
  let path: string
  try {
    path = await realpath(join(root, ...parts))
  } catch {
    return undefined
  }
  if (path !== root && !path.startsWith(root + sep)) return null
  if ((await stat(path)).isDirectory()) return fileInside(path, 'index.html')
  return path
}

function plain(res: ServerResponse, status: number, text: string, head = false): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' })
  res.end(head ? undefined : `${text}\n`)
}

async function serveFile(root: string, file: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { size } = await stat(file)
  const hashed = file.startsWith(join(root, 'assets') + sep) // Vite puts content-hashed names here
  res.writeHead(200, {
    'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
    'content-length': size,
    'cache-control': hashed ? 'public, max-age=31536000, immutable' : 'no-cache',
    'x-content-type-options': 'nosniff',
  })
  if (req.method === 'HEAD') { res.end(); return }
  await new Promise<void>((ok, fail) => {
    createReadStream(file).on('error', fail).on('end', ok).pipe(res)
  })
}

/** Rules 4–5: the static file for a request, 'node' when it goes to the node after all, or an error status. */
async function staticTarget(root: string, pathname: string, hasQuery: boolean): Promise<string | 'node' | 403 | 404> {
  let rel: string
  try {
    rel = decodeURIComponent(pathname)
  } catch {
    return 'node'
  }
  const file = await fileInside(root, rel)
  if (file === null) return 403
  if (file !== undefined) return file
  if (hasQuery) return 'node'
  if (extname(rel) === '') {
    const index = await fileInside(root, 'index.html')
    return typeof index === 'string' ? index : 404
  }
  return 404
}

// ---------------------------------------------------------------- node:http ⇄ Request/Response

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((ok, fail) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (c: Buffer) => {
      size += c.length
      if (size > MAX_BODY_BYTES) { fail(Object.assign(new Error('body too large'), { status: 413 })); req.destroy(); return }
      chunks.push(c)
    })
    req.on('end', () => ok(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)))
    req.on('error', fail)
  })
}

/** A node:http request as a Web Request (headers as sent, body read in full). */
export async function toWebRequest(req: IncomingMessage, origin: string): Promise<Request> {
  const raw = req.rawHeaders
  const headers: Array<[string, string]> = []
  for (let i = 0; i < raw.length; i += 2) headers.push([raw[i]!, raw[i + 1]!])
  const method = req.method ?? 'GET'
  const target = req.url ?? '/'
  const url = target.startsWith('/') ? origin + target : /^https?:\/\//i.test(target) ? target : origin + '/'
  if (method === 'GET' || method === 'HEAD') {
    req.resume()
    return new Request(url, { method, headers })
  }
  const body = await readBody(req)
  return new Request(url, { method, headers, body: body.length > 0 ? (new Uint8Array(body.buffer, body.byteOffset, body.length) as Uint8Array<ArrayBuffer>) : undefined })
}

/** Write an answer to a node:http response. */
function writeReply(r: HttpReply, res: ServerResponse, head: boolean): void {
  const headers: Record<string, string> = r.headers
  if (r.status !== 204 && r.status !== 304) headers['content-length'] = String(r.body?.length ?? 0)
  res.writeHead(r.status, headers)
  res.end(head || r.body === null ? undefined : r.body)
}

// ---------------------------------------------------------------- the server

export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const { node } = opts
  const host = opts.host ?? DEFAULT_HOST
  let root: string | undefined
  if (opts.staticDir !== undefined) {
    root = await realpath(resolve(opts.staticDir)).catch(() => undefined)
    if (root === undefined || typeof (await fileInside(root, 'index.html')) !== 'string') {
      throw new BadInput(`--static ${opts.staticDir}: no index.html there (build the PWA first: npx vite build)`)
    }
  }
  let origin = ''
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? 'GET'
    const target = req.url ?? '/'
    if ((method === 'GET' || method === 'HEAD') && target.split('?')[0] === BOOTSTRAP_PATH) {
      const body = JSON.stringify({ bootstrap: opts.bootstrap?.() ?? [] })
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) })
      res.end(method === 'HEAD' ? undefined : body)
      return
    }
    if (root !== undefined && !isNodeRequest(method, target, req.headers)) {
      const q = target.indexOf('?')
      const t = await staticTarget(root, q < 0 ? target : target.slice(0, q), q >= 0)
      if (t === 403) return plain(res, 403, 'forbidden', method === 'HEAD')
      if (t === 404) return plain(res, 404, 'not found', method === 'HEAD')
      if (t !== 'node') return serveFile(root, t, req, res)
    }
    let request: Request
    try {
      request = await toWebRequest(req, origin)
    } catch (e) {
      const status = (e as { status?: number }).status ?? 400
      return plain(res, status, status === 413 ? 'request body too large' : `bad request: ${(e as Error).message}`)
    }
    // node.handle(request) is this same handler; the Response object is skipped on the hot path.
    writeReply(await handleHttpReply(node, request), res, method === 'HEAD')
  }
  const server = createServer((req, res) => {
    handle(req, res).catch((e) => {
      if (res.headersSent) res.destroy(e as Error)
      else plain(res, 500, `internal error: ${(e as Error)?.message ?? String(e)}`)
    })
  })
  await new Promise<void>((ok, fail) => {
    server.once('error', fail)
    server.listen(opts.port ?? DEFAULT_PORT, host, () => { server.off('error', fail); ok() })
  })
  const port = (server.address() as AddressInfo).port
  const shownHost = host.includes(':') ? `[${host}]` : host
  origin = `http://${shownHost}:${port}`
  return {
    url: `${origin}/`,
    port,
    node,
    server,
    close: () => new Promise<void>((ok) => { server.close(() => ok()); server.closeAllConnections() }),
  }
}

// ---------------------------------------------------------------- the command

/** The values of a repeatable option (`--name V` or `--name=V`), and the other arguments. */
export function takeRepeated(args: string[], name: string): { values: string[]; others: string[] } {
  const values: string[] = []
  const others: string[] = []
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!
    if (a === `--${name}`) {
      const v = args[++i]
      if (v === undefined) throw new CliUsage(`--${name} needs a value`)
      values.push(v)
    } else if (a.startsWith(`--${name}=`)) values.push(a.slice(name.length + 3))
    else others.push(a)
  }
  return { values, others }
}

export async function serveCommand(argv: string[]): Promise<number> {
  const { values: bootstrap, others: args } = takeRepeated(argv, 'bootstrap')
  const { opts, rest } = parseArgs(args, ['port', 'host', 'wallet', 'store', 'static', 'p2p-port', 'p2p-ws-port'], ['relay'])
  if (rest.length > 0) throw new CliUsage(`ao serve takes no positional arguments (got ${rest.join(' ')})`)
  const port = opts['port'] === undefined ? DEFAULT_PORT : Number(opts['port'])
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliUsage(`--port must be 0..65535, got ${String(opts['port'])}`)
  const host = typeof opts['host'] === 'string' ? opts['host'] : DEFAULT_HOST
  const wallet = typeof opts['wallet'] === 'string' ? await walletFromFile(opts['wallet']) : await generateWallet()
  let store: Store = new MemoryStore()
  let blocks: Blocks | undefined
  if (typeof opts['store'] === 'string') {
    const dir = resolve(opts['store'])
    await mkdir(dir, { recursive: true })
    store = new FsStore(dir)
    // Process snapshots as content-addressed blocks beside the store.
    blocks = await openFsBlocks(join(dir, 'blocks'))
  }
  const node = await createNode({ wallet, store, blocks, capabilities: { fetch: (r) => fetch(r) } })
  // Pages join through WebSockets: this node's own (as the relay) or the bootstrap peers'.
  let pageBootstrap: string[] = bootstrap.filter((a) => a.includes('/ws'))
  const running = await startServer({ node, port, host, staticDir: typeof opts['static'] === 'string' ? opts['static'] : undefined, bootstrap: () => pageBootstrap })
  let stopNetwork = async (): Promise<void> => {}
  const p2pLines: string[] = []
  if (bootstrap.length > 0 || opts['p2p-port'] !== undefined || opts['relay'] === true) {
    // libp2p is loaded only when the node joins a network.
    const { portOption } = await import('./relay.ts')
    const { createHost } = await import('../p2p/host.ts')
    const { joinNetwork } = await import('../p2p/network.ts')
    const { loadOrCreatePeerKey, PEER_KEY_FILE } = await import('../p2p/peer-key-fs.ts')
    const privateKey = typeof opts['store'] === 'string' ? await loadOrCreatePeerKey(join(resolve(opts['store']), PEER_KEY_FILE)) : undefined
    const h = await createHost({
      mode: opts['relay'] === true ? 'relay' : 'node',
      host,
      tcpPort: portOption(opts['p2p-port'], 'p2p-port', 0),
      wsPort: portOption(opts['p2p-ws-port'], 'p2p-ws-port', 0),
      ...(privateKey ? { privateKey } : {}),
      ...(blocks ? { blockstore: blocks.store as unknown as Blockstore } : {}),
    })
    const net = await joinNetwork(node, h, { bootstrap })
    stopNetwork = () => net.stop()
    p2pLines.push(`  p2p: peer ${h.peerId}${h.mode === 'relay' ? ' (relay)' : ''}${bootstrap.length > 0 ? `, joining through ${bootstrap.join(', ')}` : ''}`)
    for (const a of h.multiaddrs()) p2pLines.push(`    ${a}`)
    if (h.mode === 'relay') pageBootstrap = h.multiaddrs().map(String).filter((a) => a.includes('/ws'))
  }
  const lines = [
    `ao serve: ${running.url}`,
    `  node address: ${node.address}${opts['wallet'] ? '' : ' (a new wallet, not saved: --wallet FILE keeps an identity)'}`,
    `  store: ${store.name === 'memory' ? 'memory (not persistent; --store DIR keeps results)' : store.name}`,
    `  snapshots: ${blocks ? `blocks in ${join(resolve(opts['store'] as string), 'blocks')}` : 'inline in the store'}`,
    `  static: ${typeof opts['static'] === 'string' ? resolve(opts['static']) : 'none (every path is a HyperPATH)'}`,
    ...p2pLines,
  ]
  process.stdout.write(lines.join('\n') + '\n')
  // Results are written behind the computation: land them before exiting.
  const stop = (): void => {
    void Promise.all([running.close(), stopNetwork().catch(() => undefined)])
      .then(() => flushResults(node.store).catch((e) => { console.error(`ao serve: results not written: ${(e as Error).message}`) }))
      .then(() => process.exit(0))
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  return 0
}
