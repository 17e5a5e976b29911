/**
 * Promise.withResolvers for Node 20 (libp2p 3, yamux, noise and it-queue call
 * it at runtime; Chromium and Node ≥ 22 have it). Imported by the p2p host and
 * the CLI before any libp2p code runs; a no-op where the method exists.
 */
const P = Promise as unknown as { withResolvers?: () => unknown }
if (typeof P.withResolvers !== 'function') {
  P.withResolvers = function <T>(this: PromiseConstructor) {
    let resolve!: (v: T | PromiseLike<T>) => void
    let reject!: (e?: unknown) => void
    const promise = new this<T>((a, b) => { resolve = a; reject = b })
    return { promise, resolve, reject }
  }
}
export {}
