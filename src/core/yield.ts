/**
 * Let the event loop run its queued tasks (I/O completions, timers, incoming
 * messages), then go on: how a long computation stays out of the way of
 * everything else on its thread. Browser-pure.
 *
 * A chain of awaits that all settle at once never yields: microtasks run
 * before any task. A compute of many slots is such a chain, and while it ran
 * an IndexedDB transaction's completion (a task) waited behind it — in the
 * Chromium token bench the result writer's first transaction of a run took
 * 141–223 ms instead of 22–40, until the queue was full and compute stopped.
 *
 * `setTimeout(0)` is clamped to 4 ms once nested five deep in a browser, so a
 * page or worker posts to itself through a MessageChannel; Node has
 * setImmediate (a MessageChannel port there would keep the process alive).
 */
type Resolve = () => void

const immediate = (globalThis as { setImmediate?: (f: () => void) => unknown }).setImmediate

let channel: MessageChannel | undefined
const waiting: Resolve[] = []

function post(r: Resolve): void {
  if (channel === undefined) {
    channel = new MessageChannel()
    channel.port1.onmessage = () => { waiting.shift()?.() }
  }
  waiting.push(r)
  channel.port2.postMessage(null)
}

/** Resolves after the tasks queued before it (a macrotask later). */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((r) => {
    if (immediate !== undefined) immediate(r)
    else if (typeof MessageChannel === 'function') post(r)
    else setTimeout(r, 0)
  })
}

/**
 * A yield at most every `everyMs` of work: `due()` tells whether the time has
 * come (cheap: one clock read), `yield()` yields and restarts the clock.
 */
export class YieldClock {
  private last = performance.now()
  constructor(private readonly everyMs: number) {}
  due(): boolean { return performance.now() - this.last >= this.everyMs }
  async yield(): Promise<void> {
    await yieldToEventLoop()
    this.last = performance.now()
  }
}
