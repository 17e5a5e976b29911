/**
 * Promises that settle when a key is signalled or a timeout passes, whichever
 * comes first: how a reader waits for a slot's assignment or attestations to
 * land instead of polling. Browser-pure.
 */
export class Waiters<K> {
  private readonly byKey = new Map<K, Set<() => void>>()

  /** Resolves at the next `wake(key)`, or after `ms`. */
  wait(key: K, ms: number): Promise<void> {
    return new Promise((resolve) => {
      let set = this.byKey.get(key)
      if (!set) { set = new Set(); this.byKey.set(key, set) }
      const done = (): void => {
        clearTimeout(timer)
        set!.delete(done)
        if (set!.size === 0) this.byKey.delete(key)
        resolve()
      }
      const timer = setTimeout(done, Math.max(0, ms))
      set.add(done)
    })
  }

  /** Resolve everything waiting on `key`. */
  wake(key: K): void {
    const set = this.byKey.get(key)
    if (set) for (const done of [...set]) done()
  }
}
