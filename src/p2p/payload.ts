/**
 * The gossip payload: a committed message as UTF-8 typed JSON (src/core/typed-json.ts).
 *
 * Why typed JSON and not the httpsig wire form: it is one byte string that
 * serializes the structured message itself — integers, floats, atoms,
 * binaries (UTF-8 or `@b64`), lists, nested maps and the `commitments` map
 * verbatim, whatever the commitment device (httpsig@1.0, ans104@1.0, HMAC) —
 * so decoding gives back the same message and the same signed ID, and its
 * commitments verify unchanged. Keys are sorted, so one message is always the
 * same bytes (gossip message IDs are a hash of the bytes: the same message
 * published by two peers is one gossip message). The httpsig form also
 * round-trips, but it is a header map plus body that would need a framing of
 * our own, and rebuilds the message through fromHttp; the json@1.0 codec
 * cannot carry bytes that are not UTF-8.
 */
import { As, Resolve, parseTypedJson, stringifyTyped, type PathItem } from '../core/typed-json.ts'
import { isMessage, type Message } from '../core/value.ts'
import { fromUtf8, utf8 } from '../core/bytes.ts'
import { InvalidPayload, PayloadTooLarge } from './errors.ts'

/** The default size limit of one gossip payload. */
export const MAX_PAYLOAD_BYTES = 1 << 20

export function encodePayload(msg: Message, max: number = MAX_PAYLOAD_BYTES): Uint8Array {
  const bytes = utf8(stringifyTyped(msg))
  if (bytes.length > max) throw new PayloadTooLarge(`a payload of ${bytes.length} bytes is over the ${max}-byte limit`)
  return bytes
}

export function decodePayload(bytes: Uint8Array, max: number = MAX_PAYLOAD_BYTES): Message {
  if (bytes.length > max) throw new PayloadTooLarge(`a payload of ${bytes.length} bytes is over the ${max}-byte limit`)
  let v: ReturnType<typeof parseTypedJson>
  try {
    v = parseTypedJson(fromUtf8(bytes))
  } catch (e) {
    throw new InvalidPayload(`the payload is not typed JSON: ${(e as Error).message}`)
  }
  if (!isMessage(v) || !plainValue(v, 0)) throw new InvalidPayload('the payload is not a message (or nests path forms or is over 64 levels deep)')
  return v as Message
}

/** A message value without the path-only forms (`@as`, `@resolve`) and not absurdly deep. */
function plainValue(v: PathItem, depth: number): boolean {
  if (v instanceof As || v instanceof Resolve) return false
  if (depth > 64) return false
  if (Array.isArray(v)) return v.every((x) => plainValue(x, depth + 1))
  if (isMessage(v)) return Object.keys(v).every((k) => plainValue(v[k]!, depth + 1))
  return true
}
