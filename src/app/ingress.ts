/**
 * The page's half of the HyperPATH ingress: the service worker (src/app/sw.ts)
 * posts same-origin `/~…` and `/<ID>…` requests here with a MessagePort; the
 * page hands them to the node worker and answers on the port. A probe asks
 * whether this page hosts a node and whether it is ready.
 */
import type { NodeClient } from './client.ts'
import { textWire, transferables, type IngressMessage, type IngressReply, type WireResponse } from './wire.ts'

export function serveIngress(node: NodeClient, isReady: () => boolean): void {
  const container = navigator.serviceWorker
  container.addEventListener('message', (event: MessageEvent) => {
    const data = event.data as IngressMessage | null
    const port = event.ports[0]
    if (!port || typeof data !== 'object' || data === null) return
    const reply = (r: IngressReply, transfer: Transferable[] = []): void => port.postMessage(r, transfer)
    if (data.type === 'ao-probe') {
      reply({ type: 'ao-host', ready: isReady() })
    } else if (data.type === 'ao-request') {
      node.handle(data.request).then(
        (response) => reply({ type: 'ao-response', response }, transferables(response)),
        async (e: unknown) => {
          const response: WireResponse = await textWire(502, `the node worker did not answer: ${e instanceof Error ? e.message : String(e)}`)
          reply({ type: 'ao-response', response }, transferables(response))
        },
      )
    }
  })
  // Messages from the service worker queue until this is called.
  container.startMessages()
}
