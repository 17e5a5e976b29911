/**
 * The PWA shell page: starts the module worker, shows whether it is ready,
 * and computes a message's unsigned ID in it. The dashboard replaces this later.
 */
import { wrap } from 'comlink'
import { registerSW } from 'virtual:pwa-register'
import type { ShellWorker } from './worker.ts'

const READY_TIMEOUT_MS = 20_000

const byId = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id)
  if (!el) throw new Error(`index.html has no #${id}`)
  return el as T
}
const workerStatus = byId('worker-status')
const swStatus = byId('sw-status')
const form = byId<HTMLFormElement>('id-form')
const input = byId<HTMLTextAreaElement>('message')
const button = byId<HTMLButtonElement>('compute')
const result = byId<HTMLOutputElement>('result')

/** Text plus a data-state that CSS colours and the e2e test waits on. */
function show(el: HTMLElement, state: string, text: string): void {
  el.dataset.state = state
  el.textContent = text
}

const describe = (e: unknown): string => (e instanceof Error ? `${e.name}: ${e.message}` : String(e))

const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' })
const node = wrap<ShellWorker>(worker)

worker.addEventListener('error', (e) => {
  e.preventDefault()
  show(workerStatus, 'error', `failed: ${e.message || 'the worker script did not load'}`)
  button.disabled = true
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

form.addEventListener('submit', (e) => {
  e.preventDefault()
  void compute()
})
input.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) form.requestSubmit()
})

const timeout = setTimeout(() => {
  if (workerStatus.dataset.state === 'starting') show(workerStatus, 'error', 'not responding')
}, READY_TIMEOUT_MS)
node.ping().then(() => {
  clearTimeout(timeout)
  show(workerStatus, 'ready', 'ready')
  button.disabled = false
  void compute()
}, (e) => show(workerStatus, 'error', describe(e)))

if (import.meta.env.DEV) show(swStatus, 'off', 'off in the dev server')
else if (!('serviceWorker' in navigator)) show(swStatus, 'off', 'not supported by this browser')
else {
  registerSW({
    immediate: true,
    onRegisterError: (e) => show(swStatus, 'error', `failed: ${describe(e)}`),
  })
  void navigator.serviceWorker.ready.then(() => show(swStatus, 'ready', 'active: the shell works offline'))
}
