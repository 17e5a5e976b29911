/**
 * The PWA's service worker (vite-plugin-pwa, injectManifest strategy; built on
 * its own, so it imports nothing with side effects).
 *
 * - HyperPATH ingress: same-origin requests for `/~…` and `/<43-char ID>…` go to
 *   a page of this origin that hosts the node (src/app/ingress.ts), which asks
 *   its node worker; the node's response (status, headers, body) is the answer.
 *   With no such page open: 503.
 * - App shell: the build's files are precached at install, served cache-first,
 *   and navigations to app routes get index.html, so the app starts offline.
 */
import {
  isNodePath, requestToWire, textResponse, transferables, wireToResponse,
  type IngressMessage, type IngressReply,
} from './wire.ts'

const sw = globalThis as unknown as ServiceWorkerGlobalScope
type ManifestEntry = { url: string; revision: string | null }
// Replaced at build time by the precache manifest (workbox-build injectManifest).
const MANIFEST: ManifestEntry[] = (self as unknown as { __WB_MANIFEST: ManifestEntry[] }).__WB_MANIFEST

const PROBE_MS = 1_000
const REQUEST_MS = 120_000
const CACHE_PREFIX = 'ao-tab-shell-'

/** FNV-1a over the manifest: a new cache for every build whose files differ. */
function fnv1a(text: string): string {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  return (h >>> 0).toString(16).padStart(8, '0')
}

const CACHE = CACHE_PREFIX + fnv1a(JSON.stringify(MANIFEST))
const absolute = (url: string): string => new URL(url, sw.registration.scope).href
const PRECACHED = new Map(MANIFEST.map((e) => [absolute(e.url), e.revision] as const))
const INDEX = absolute('index.html')

async function precache(): Promise<void> {
  const cache = await caches.open(CACHE)
  await Promise.all([...PRECACHED].map(async ([href, revision]) => {
    if (await cache.match(href)) return
    // A file without a revision has its hash in its name: an older cache's copy is the same file.
    const old = revision === null ? await caches.match(href) : undefined
    const res = old ?? await fetch(new Request(href, { cache: 'reload', credentials: 'same-origin' }))
    if (!res.ok) throw new Error(`precache: ${href} answered ${res.status}`)
    await cache.put(href, res)
  }))
}

async function dropOldCaches(): Promise<void> {
  for (const name of await caches.keys()) {
    if (name.startsWith(CACHE_PREFIX) && name !== CACHE) await caches.delete(name)
  }
}

sw.addEventListener('install', (event) => {
  event.waitUntil(precache().then(() => sw.skipWaiting()))
})
sw.addEventListener('activate', (event) => {
  event.waitUntil(dropOldCaches().then(() => sw.clients.claim()))
})
sw.addEventListener('message', (event) => {
  if ((event.data as { type?: string } | null)?.type === 'SKIP_WAITING') void sw.skipWaiting()
})

/** The precache key of a URL: no query or fragment, `…/` is `…/index.html`. */
function precacheKey(url: URL): string | undefined {
  const key = new URL(url.pathname.endsWith('/') ? `${url.pathname}index.html` : url.pathname, url.origin).href
  return PRECACHED.has(key) ? key : undefined
}

async function fromCache(key: string, req: Request): Promise<Response> {
  const hit = await (await caches.open(CACHE)).match(key)
  return hit ?? fetch(req)
}

/** Posts `msg` to a page with a port to answer on; rejects after `ms`. */
function ask(target: Client, msg: IngressMessage, ms: number, transfer: Transferable[] = []): Promise<IngressReply> {
  return new Promise((ok, fail) => {
    const channel = new MessageChannel()
    const timer = setTimeout(() => {
      channel.port1.close()
      fail(new Error(`no answer within ${ms / 1000} s`))
    }, ms)
    channel.port1.onmessage = (e) => {
      clearTimeout(timer)
      channel.port1.close()
      ok(e.data as IngressReply)
    }
    target.postMessage(msg, [channel.port2, ...transfer])
  })
}

let lastHost: string | undefined

/** A page that hosts the node: the last one that answered, else the first ready one to answer a probe, else any host. */
async function findHost(): Promise<Client | undefined> {
  if (lastHost) {
    const known = await sw.clients.get(lastHost)
    if (known) return known
    lastHost = undefined
  }
  const pages = await sw.clients.matchAll({ type: 'window', includeUncontrolled: true })
  return new Promise((resolve) => {
    let pending = pages.length
    let starting: Client | undefined
    if (pending === 0) resolve(undefined)
    for (const page of pages) {
      ask(page, { type: 'ao-probe' }, PROBE_MS).then((r) => {
        if (r.type !== 'ao-host') return
        if (r.ready) {
          lastHost ??= page.id
          resolve(page)
        } else starting ??= page
      }, () => {}).finally(() => {
        if (--pending === 0) resolve(starting)
      })
    }
  })
}

async function viaNode(req: Request): Promise<Response> {
  const host = await findHost()
  if (!host) {
    return textResponse(503, `ao-tab: no page of ${sw.registration.scope} is open to answer ${new URL(req.url).pathname}. `
      + 'The node runs in the app\'s tab: open the app, then retry.')
  }
  const request = await requestToWire(req)
  let reply: IngressReply
  try {
    reply = await ask(host, { type: 'ao-request', request }, REQUEST_MS, transferables(request))
  } catch (e) {
    if (lastHost === host.id) lastHost = undefined
    return textResponse(504, `ao-tab: the node's page did not answer: ${(e as Error).message}`)
  }
  if (reply.type !== 'ao-response') return textResponse(502, `ao-tab: unexpected answer ${reply.type} from the node's page`)
  return wireToResponse(reply.response)
}

sw.addEventListener('fetch', (event) => {
  const req = event.request
  const url = new URL(req.url)
  if (url.origin !== sw.location.origin) return
  if (isNodePath(url.pathname)) {
    event.respondWith(viaNode(req))
    return
  }
  if (req.method !== 'GET') return
  const key = precacheKey(url)
  if (key) event.respondWith(fromCache(key, req))
  else if (req.mode === 'navigate' && !/\.[^/]*$/.test(url.pathname)) event.respondWith(fromCache(INDEX, req))
})
