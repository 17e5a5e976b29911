/**
 * Request and Response as plain, structured-cloneable data: they cannot cross
 * postMessage themselves. The service worker, the page and the node worker all
 * speak this; bodies are ArrayBuffers, transferred rather than copied.
 * No imports: the service worker bundles this file on its own.
 */

export type HeaderList = [name: string, value: string][]

export interface WireRequest {
  method: string
  /** Absolute URL. */
  url: string
  headers: HeaderList
  /** null for GET and HEAD. */
  body: ArrayBuffer | null
}

export interface WireResponse {
  status: number
  statusText: string
  headers: HeaderList
  /** null when the status cannot carry a body (204, 205, 304) or the method was HEAD. */
  body: ArrayBuffer | null
}

const NO_BODY_METHODS = new Set(['GET', 'HEAD'])
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304])

/** The buffers to list in postMessage's transfer list. */
export const transferables = (w: { body: ArrayBuffer | null }): ArrayBuffer[] => (w.body ? [w.body] : [])

export async function requestToWire(req: Request): Promise<WireRequest> {
  const method = req.method.toUpperCase()
  return {
    method,
    url: req.url,
    headers: [...req.headers],
    body: NO_BODY_METHODS.has(method) ? null : await req.arrayBuffer(),
  }
}

/**
 * Forbidden request headers (cookie, host, origin, sec-*, …) are dropped by the
 * Request constructor; everything else arrives as sent.
 */
export function wireToRequest(w: WireRequest): Request {
  return new Request(w.url, {
    method: w.method,
    headers: w.headers,
    body: NO_BODY_METHODS.has(w.method.toUpperCase()) ? null : w.body,
  })
}

export async function responseToWire(res: Response): Promise<WireResponse> {
  const body = NULL_BODY_STATUSES.has(res.status) ? null : await res.arrayBuffer()
  return { status: res.status, statusText: res.statusText, headers: [...res.headers], body }
}

/** A Response again; a status the Response constructor refuses (outside 200–599) becomes a 502 that says so. */
export function wireToResponse(w: WireResponse): Response {
  if (!Number.isInteger(w.status) || w.status < 200 || w.status > 599) {
    return textResponse(502, `the node answered with status ${w.status}, which a service worker cannot pass on`)
  }
  return new Response(NULL_BODY_STATUSES.has(w.status) ? null : w.body, {
    status: w.status,
    statusText: w.statusText,
    headers: w.headers,
  })
}

export function textResponse(status: number, text: string): Response {
  return new Response(`${text}\n`, { status, headers: { 'content-type': 'text/plain; charset=utf-8' } })
}

export const textWire = async (status: number, text: string): Promise<WireResponse> =>
  responseToWire(textResponse(status, text))

/**
 * Same-origin paths the node answers: HyperPATHs that start with a device
 * (`/~meta@1.0/info`) or a 43-character base64url ID (`/<ID>`, `/<ID>/key`,
 * `/<ID>&k=v`, `/<ID>~device`). Everything else is the app.
 */
export const isNodePath = (pathname: string): boolean => /^\/(?:~|[A-Za-z0-9_-]{43}(?:$|[/&~]))/.test(pathname)

/** Messages between the service worker and a page that hosts the node (sent with a MessagePort to answer on). */
export type IngressMessage =
  | { type: 'ao-probe' }
  | { type: 'ao-request'; request: WireRequest }

export type IngressReply =
  | { type: 'ao-host'; ready: boolean }
  | { type: 'ao-response'; response: WireResponse }
