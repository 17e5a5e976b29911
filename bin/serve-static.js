#!/usr/bin/env node
/**
 * Serves the built PWA on 127.0.0.1 until the node's own HTTP server replaces it.
 *
 *   node bin/serve-static.js [dir]      dir defaults to dist/ beside bin/
 *   PORT=8734 (default; 0 picks a free port)
 *
 * GET and HEAD only. Paths that leave dir are refused. A missing path without a
 * file extension (an app route) gets index.html; a missing asset gets 404.
 * Prints the URL it listens on.
 */
import { createReadStream } from 'node:fs'
import { realpath, stat } from 'node:fs/promises'
import { createServer } from 'node:http'
import { extname, join, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

const HOST = '127.0.0.1'

const TYPES = {
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

/** An existing file inside root for `rel`: its path, or null (outside root, 403), or undefined (absent). */
async function fileInside(root, rel) {
  if (rel.includes('\0') || rel.includes('\\')) return null
  const parts = rel.split('/').filter(Boolean)
  if (parts.some((p) => p === '..' || p === '.')) return null
  let path
  try {
    path = await realpath(join(root, ...parts))
  } catch {
    return undefined
  }
  if (path !== root && !path.startsWith(root + sep)) return null
  if ((await stat(path)).isDirectory()) return fileInside(path, 'index.html')
  return path
}

function reply(req, res, status, text) {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' })
  res.end(req.method === 'HEAD' ? undefined : `${text}\n`)
}

async function handle(root, req, res) {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD')
    return reply(req, res, 405, 'method not allowed')
  }
  let rel
  try {
    rel = decodeURIComponent(new URL(req.url, `http://${HOST}`).pathname)
  } catch {
    return reply(req, res, 400, 'bad path')
  }
  let file = await fileInside(root, rel)
  if (file === null) return reply(req, res, 403, 'forbidden')
  if (file === undefined && extname(rel) === '') file = await fileInside(root, 'index.html') // SPA fallback
  if (!file) return reply(req, res, 404, 'not found')
  const { size } = await stat(file)
  const hashed = file.startsWith(join(root, 'assets') + sep) // Vite puts content-hashed names here
  res.writeHead(200, {
    'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
    'content-length': size,
    'cache-control': hashed ? 'public, max-age=31536000, immutable' : 'no-cache',
    'x-content-type-options': 'nosniff',
  })
  if (req.method === 'HEAD') return res.end()
  createReadStream(file).on('error', (e) => res.destroy(e)).pipe(res)
}

async function main() {
  const dir = resolve(process.argv[2] ?? fileURLToPath(new URL('../dist', import.meta.url)))
  const root = await realpath(dir).catch(() => null)
  if (!root || !(await fileInside(root, 'index.html'))) {
    console.error(`serve-static: ${dir}/index.html not found; build first with 'npx vite build'`)
    process.exit(1)
  }
  const port = Number(process.env.PORT ?? 8734)
  const server = createServer((req, res) => {
    handle(root, req, res).catch((e) => {
      if (res.headersSent) res.destroy(e)
      else reply(req, res, 500, 'internal error')
    })
  })
  server.on('error', (e) => {
    console.error(`serve-static: ${e.code === 'EADDRINUSE' ? `port ${port} is in use (set PORT)` : e.message}`)
    process.exit(1)
  })
  server.listen(port, HOST, () => {
    console.log(`ao-tab: serving ${dir} at http://${HOST}:${server.address().port}/`)
  })
  const stop = () => server.close(() => process.exit(0)).closeAllConnections()
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

await main()
