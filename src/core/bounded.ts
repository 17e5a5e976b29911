/** Maps kept to a size: caches and recent-item indexes. Browser-pure. */

/** Set `key` in a map kept to `max` entries: past that, the oldest entry (insertion order) goes. */
export function setBounded<K, V>(m: Map<K, V>, key: K, value: V, max: number): void {
  m.set(key, value)
  if (m.size > max) m.delete(m.keys().next().value as K)
}
