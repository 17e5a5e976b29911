/**
 * What a dApp page needs to talk to the node in the tab over HTTP, as it would
 * to any HyperBEAM node: sign messages with its own wallet (httpsig@1.0, RSA
 * through WebCrypto), POST them as httpsig HTTP messages, and read replies as
 * messages. Requests are same-origin `fetch`es, so on the app's origin the
 * service worker (src/app/sw.ts) hands them to this tab's node worker.
 *
 * The app page loads it lazily: `const ao = await aoDapp()` in the devtools
 * console (or a test), e.g.
 *
 *   const w = await ao.generateWallet()
 *   const spawn = await ao.sign({ device: 'process@1.0', … }, w)
 *   await ao.post('/~scheduler@1.0/schedule', spawn)
 */
import { message, type Message, type Value } from '../core/value.ts'
import { commitMessage } from '../codecs/commitments.ts'
import { messageId } from '../core/id.ts'
import { stringifyTyped } from '../core/typed-json.ts'
import { generateWallet, loadJwk, type Wallet } from '../crypto/wallet.ts'
import { messageToHttpParts, responseToMessage } from '../devices/relay.ts'

export { generateWallet, loadJwk, message, stringifyTyped, type Message, type Wallet }

export interface Reply {
  status: number
  /** The reply decoded as a message (httpsig, with its body parts). */
  msg: Message
  /** The body as text. */
  text: string
}

/** `fields` as a message signed by `wallet` (httpsig@1.0). */
export const sign = (fields: Message | Record<string, Value>, wallet: Wallet): Promise<Message> =>
  commitMessage(message(fields as Record<string, Value>), { wallet })

/** The signed ID of a signed message (a process's ID). */
export const signedId = (msg: Message): string => messageId(msg, 'signed')

async function reply(res: Response): Promise<Reply> {
  const body = new Uint8Array(await res.arrayBuffer())
  return { status: res.status, msg: responseToMessage(res.status, [...res.headers], body), text: new TextDecoder().decode(body) }
}

/** POSTs `msg` as an httpsig HTTP message (bundled, as HyperBEAM clients send them). */
export async function post(path: string, msg: Message, fetcher: typeof fetch = fetch): Promise<Reply> {
  const { headers, body } = messageToHttpParts(msg, { bundle: true })
  return reply(await fetcher(path, { method: 'POST', headers, body: body as Uint8Array<ArrayBuffer> | undefined }))
}

/** GETs `path`, asking for the whole reply in one bundle. */
export async function get(path: string, fetcher: typeof fetch = fetch): Promise<Reply> {
  return reply(await fetcher(path, { headers: { 'accept-bundle': 'true' } }))
}
