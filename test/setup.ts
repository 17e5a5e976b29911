/** vitest setup: Node 20 has no Promise.withResolvers, which libp2p 3 calls at runtime. */
const P = Promise as unknown as { withResolvers?: () => unknown }
if (typeof P.withResolvers !== 'function') {
  P.withResolvers = function <T>(this: PromiseConstructor) {
    let resolve!: (v: T | PromiseLike<T>) => void
    let reject!: (e?: unknown) => void
    const promise = new this<T>((a, b) => { resolve = a; reject = b })
    return { promise, resolve, reject }
  }
}
