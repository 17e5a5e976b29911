/**
 * The chunks a libp2p stream delivers, until the remote closes its writable
 * end. Browser-pure.
 *
 * js-libp2p 3's own async iterator (@libp2p/utils AbstractMessageStream) ends
 * on 'remoteCloseWrite' or 'close'. When the remote sent its data and closed
 * before anything read the stream, the data waits in the read buffer and
 * 'remoteCloseWrite' has already fired: the iterator then delivers the data
 * and waits for ever (until the stream closes both ways, or a deadline). A
 * stream emits 'end' once its read buffer is empty after the remote closed,
 * and `readableEnded` says it already has (it can say so while data still
 * waits in the buffer); this reader ends on those once the buffer is empty.
 */
import type { Stream, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface'

export async function* streamChunks(stream: Stream): AsyncGenerator<Uint8Array> {
  const queue: Uint8Array[] = []
  let ended = false
  let failure: Error | undefined
  let wake: (() => void) | undefined
  const notify = (): void => { const w = wake; wake = undefined; w?.() }
  const onMessage = (e: StreamMessageEvent): void => {
    queue.push(e.data instanceof Uint8Array ? e.data : e.data.subarray())
    notify()
  }
  const onEnd = (): void => { ended = true; notify() }
  const onClose = (e: StreamCloseEvent): void => { ended = true; failure = e.error; notify() }
  stream.addEventListener('message', onMessage)
  stream.addEventListener('end', onEnd)
  stream.addEventListener('close', onClose)
  try {
    for (;;) {
      const next = queue.shift()
      if (next !== undefined) { yield next; continue }
      if (failure) throw failure
      // `readableEnded` can already be true while data still waits in the read buffer.
      if ((ended || stream.readableEnded) && stream.readBufferLength === 0) return
      await new Promise<void>((ok) => { wake = ok })
    }
  } finally {
    stream.removeEventListener('message', onMessage)
    stream.removeEventListener('end', onEnd)
    stream.removeEventListener('close', onClose)
  }
}
