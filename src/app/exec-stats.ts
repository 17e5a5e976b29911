/**
 * What the tab's execution devices did since the worker started: calls per
 * device and key, and every state rebuilt by `normalize` (process@1.0 calls
 * it only to restore a stored snapshot) with the slot it was at. A page can
 * read this to tell a restore from a replay: a process that continues from
 * its snapshot after a reload shows one `normalize` at the snapshot's slot,
 * no `init`, and one `compute` per new slot.
 *
 * The counting wraps a device without changing what it answers: every key
 * function, and the info `handler`/`default` functions, are called as before.
 */
import type { Device, DeviceInfo, KeyFunction, KeyHandler } from '../core/device.ts'
import { directGet } from '../core/resolver.ts'

export interface Restore {
  device: string
  /** The `at-slot` of the state handed to `normalize` (the snapshot's slot), as a decimal string; null when absent. */
  slot: string | null
}

export interface ExecutionStats {
  /** Calls per device name, then per key (`compute`, `init`, `normalize`, `snapshot`, …). */
  calls: Record<string, Record<string, number>>
  restores: Restore[]
}

export const emptyStats = (): ExecutionStats => ({ calls: {}, restores: [] })

/** A copy that can cross postMessage (plain objects only). */
export const snapshotStats = (s: ExecutionStats): ExecutionStats => ({
  calls: Object.fromEntries(Object.entries(s.calls).map(([d, keys]) => [d, { ...keys }])),
  restores: s.restores.map((r) => ({ ...r })),
})

/** `device`, counting into `stats`. */
export function countingDevice(device: Device, stats: ExecutionStats): Device {
  const calls = (stats.calls[device.name] ??= {})
  const count = (key: string, base: Parameters<KeyFunction>[0]): void => {
    calls[key] = (calls[key] ?? 0) + 1
    if (key === 'normalize') {
      const at = directGet(base, 'at-slot')
      stats.restores.push({ device: device.name, slot: at === undefined || at === null ? null : String(at) })
    }
  }
  const keys: Record<string, KeyFunction> = {}
  for (const [name, fn] of Object.entries(device.keys)) {
    keys[name] = (base, req, ctx) => { count(name, base); return fn(base, req, ctx) }
  }
  const wrapHandler = (h: KeyHandler): KeyHandler => (key, base, req, ctx) => { count(key, base); return h(key, base, req, ctx) }
  const info = device.info
  return {
    name: device.name,
    keys,
    ...(info && {
      info: (base, ctx): DeviceInfo => {
        const i = info(base, ctx)
        const out: DeviceInfo = { ...i }
        if (i.handler) out.handler = wrapHandler(i.handler)
        if (typeof i.default === 'function') out.default = wrapHandler(i.default)
        return out
      },
    }),
  }
}
