/**
 * Length-prefixed frames on a libp2p stream: u32 big-endian length ‖ bytes.
 * Browser-pure.
 */
import type { Stream } from '@libp2p/interface'
import { InvalidPayload, PayloadTooLarge } from './errors.ts'
import { streamChunks } from './stream-chunks.ts'

export function frame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + payload.length)
  new DataView(out.buffer).setUint32(0, payload.length, false)
  out.set(payload, 4)
  return out
}

/** Send one frame, waiting for the stream to drain when its buffer is full. */
export async function sendFrame(stream: Stream, payload: Uint8Array, signal?: AbortSignal): Promise<void> {
  if (!stream.send(frame(payload))) await stream.onDrain(signal ? { signal } : undefined)
}

/** The frames of a stream, in order, until it ends (a frame over `max` bytes throws PayloadTooLarge). */
export async function* readFrames(stream: Stream | AsyncIterable<Uint8Array | { subarray(): Uint8Array }>, max: number): AsyncGenerator<Uint8Array> {
  let buf = new Uint8Array(0)
  const chunks = 'addEventListener' in stream ? streamChunks(stream) : stream
  for await (const chunk of chunks) {
    const c = chunk instanceof Uint8Array ? chunk : chunk.subarray()
    const next = new Uint8Array(buf.length + c.length)
    next.set(buf)
    next.set(c, buf.length)
    buf = next
    while (buf.length >= 4) {
      const len = new DataView(buf.buffer, buf.byteOffset).getUint32(0, false)
      if (len > max) throw new PayloadTooLarge(`a frame of ${len} bytes is over the ${max}-byte limit`)
      if (buf.length < 4 + len) break
      yield buf.slice(4, 4 + len)
      buf = buf.subarray(4 + len)
    }
  }
  if (buf.length > 0) throw new InvalidPayload('the stream ended inside a frame')
}
