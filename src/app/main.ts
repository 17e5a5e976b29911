/**
 * The PWA page: starts the node in its module worker, shows its address and
 * whether it is ready, answers the service worker's HyperPATH requests with it
 * (src/app/ingress.ts), and offers two small tools: fetch a HyperPATH, and the
 * unsigned ID of a typed-JSON message. The dashboard replaces this later.
 */
import { registerSW } from 'virtual:pwa-register'
import { startNode, type NodeClient } from './client.ts'
import { serveIngress } from './ingress.ts'

const READY_TIMEOUT_MS = 60_000 // the first start generates an RSA-4096 wallet

const byId = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id)
  if (!el) throw new Error(`index.html has no #${id}`)
  return el as T
}
const nodeStatus = byId('node-status')
const nodeAddress = byId('node-address')
const ingressStatus = byId('ingress-status')
const swStatus = byId('sw-status')
const pathForm = byId<HTMLFormElement>('path-form')
const pathInput = byId<HTMLInputElement>('path')
const pathButton = byId<HTMLButtonElement>('fetch')
const pathResult = byId<HTMLOutputElement>('path-result')
const idForm = byId<HTMLFormElement>('id-form')
const input = byId<HTMLTextAreaElement>('message')
const button = byId<HTMLButtonElement>('compute')
const result = byId<HTMLOutputElement>('result')

/** Text plus a data-state that CSS colours and the e2e test waits on. */
function show(el: HTMLElement, state: string, text: string): void {
  el.dataset.state = state
  el.textContent = text
}

const describe = (e: unknown): string => (e instanceof Error ? `${e.name}: ${e.message}` : String(e))

const node = startNode()
let ready = false

declare global {
  /** The node client, for the devtools console: `await aoNode.resolvePath('/~message@1.0&a=b/a')`. */
  var aoNode: NodeClient
  /** dApp helpers (sign, post, get over this origin's HTTP ingress), loaded on first use: `const ao = await aoDapp()`. */
  var aoDapp: () => Promise<typeof import('./dapp.ts')>
  /** The page's network once joined (src/app/p2p.ts): its libp2p host, the bridge to the worker. */
  var aoNet: import('./p2p.ts').PageNetwork | undefined
  /** Why joining the network failed, when it did. */
  var aoNetError: string | undefined
}
globalThis.aoNode = node
globalThis.aoDapp = () => import('./dapp.ts')

node.worker.addEventListener('error', (e) => {
  e.preventDefault()
  show(nodeStatus, 'error', `failed: ${e.message || 'the worker script did not load'}`)
  button.disabled = pathButton.disabled = true
})

// ---- the node ------------------------------------------------------------

const timeout = setTimeout(() => {
  if (!ready && nodeStatus.dataset.state === 'starting') show(nodeStatus, 'error', 'not responding')
}, READY_TIMEOUT_MS)

void node.ping().then(async () => {
  button.disabled = false
  void compute()
  const first = await node.info()
  if (!first.ready && !first.error) show(nodeStatus, 'starting', first.address ? 'starting…' : 'loading its wallet…')
  const info = await node.ready()
  clearTimeout(timeout)
  if (info.address) {
    nodeAddress.textContent = info.address
    nodeAddress.title = info.newWallet ? 'a new wallet, made on this start and kept in this browser' : 'the wallet kept in this browser'
  }
  if (!info.ready) {
    show(nodeStatus, 'error', `did not start: ${info.error ?? 'unknown error'}`)
    return
  }
  ready = true
  show(nodeStatus, 'ready', 'ready')
  pathButton.disabled = false
  updateIngress()
  void joinNetwork()
}).catch((e: unknown) => show(nodeStatus, 'error', describe(e)))

// ---- the network (a relay named by ?bootstrap=…, or remembered) -------------

async function joinNetwork(): Promise<void> {
  try {
    const { findBootstrap, startPageNetwork } = await import('./p2p.ts')
    const bootstrap = await findBootstrap()
    if (bootstrap.length === 0) return
    globalThis.aoNet = await startPageNetwork(node, bootstrap)
  } catch (e) {
    globalThis.aoNetError = describe(e)
    console.error('ao-tab: joining the network failed:', e)
  }
}

// ---- HyperPATH ingress through the service worker -------------------------

const swSupported = !import.meta.env.DEV && 'serviceWorker' in navigator

/** Requests reach the node through the service worker once it controls this page. */
function updateIngress(): void {
  if (!swSupported) show(ingressStatus, 'off', import.meta.env.DEV ? 'off in the dev server' : 'needs service workers')
  else if (!ready) show(ingressStatus, 'starting', 'waiting for the node…')
  else if (!navigator.serviceWorker.controller) show(ingressStatus, 'starting', 'waiting for the service worker…')
  else show(ingressStatus, 'ready', 'this tab answers /~… and /<ID>… requests')
}

if (!swSupported) {
  show(swStatus, 'off', import.meta.env.DEV ? 'off in the dev server' : 'not supported by this browser')
  updateIngress()
} else {
  serveIngress(node, () => ready)
  navigator.serviceWorker.addEventListener('controllerchange', updateIngress)
  updateIngress()
  registerSW({
    immediate: true,
    onRegisterError: (e) => show(swStatus, 'error', `failed: ${describe(e)}`),
  })
  void navigator.serviceWorker.ready.then(() => show(swStatus, 'ready', 'active: the app works offline'))
}

// ---- tools: fetch a HyperPATH, compute an ID --------------------------------

async function fetchPath(): Promise<void> {
  show(pathResult, 'busy', 'fetching…')
  try {
    const path = pathInput.value.trim()
    // Through the service worker, as a dApp would; straight to the worker when there is none.
    const res = navigator.serviceWorker?.controller ? await fetch(path) : await node.fetch(path)
    const body = await res.text()
    show(pathResult, res.ok ? 'ok' : 'error', `${res.status}${res.statusText ? ` ${res.statusText}` : ''}\n${body}`)
  } catch (e) {
    show(pathResult, 'error', describe(e))
  }
}

pathForm.addEventListener('submit', (e) => {
  e.preventDefault()
  void fetchPath()
})

let latest = 0
async function compute(): Promise<void> {
  const mine = ++latest
  show(result, 'busy', 'computing…')
  try {
    const id = await node.unsignedId(input.value)
    if (mine === latest) show(result, 'ok', id)
  } catch (e) {
    if (mine === latest) show(result, 'error', describe(e))
  }
}

idForm.addEventListener('submit', (e) => {
  e.preventDefault()
  void compute()
})
input.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) idForm.requestSubmit()
})
