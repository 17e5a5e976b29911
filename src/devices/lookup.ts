/**
 * lookup@1.0 (HyperBEAM dev_lookup): read an ID from the node's store.
 *
 *   read   `target` → the stored message or binary; `accept: application/aos-2`
 *          → `{body: <aos-2 JSON>, content-type: application/aos-2}`; absent →
 *          not_found (404; HyperBEAM answers `{error, not_found}`, 400)
 *
 * Every other key is message@1.0's on the base.
 */
import { notFound, ok, type Device } from '../core/device.ts'
import { directGet } from '../core/resolver.ts'
import { BadInput } from '../core/errors.ts'
import { cacheRead, readResult } from './cache.ts'
import { text } from './httpsig.ts'

export const lookupDevice: Device = {
  name: 'lookup@1.0',
  keys: {
    read: async (_base, req, ctx) => {
      const id = text(directGet(req, 'target'))
      if (id === undefined) throw new BadInput('lookup@1.0 read needs a `target` ID')
      if (!ctx.store) throw new BadInput('this node has no store')
      const stored = await cacheRead(ctx.store, id)
      if (stored === undefined) return notFound(`${id} is not in this node's store`)
      return ok(readResult(stored, req))
    },
  },
}
