/**
 * flat@1.0 as a device (HyperBEAM dev_codec_flat, spec §3.8).
 *
 *   to           subject → TABM → `{ "a/b/c": binary }`
 *   from         flat subject → TABM (a path given twice, or under a value, is a FlatCollision, 400)
 *   serialize    `key: value` lines of the subject's flat form, sorted (config.flat)
 *   deserialize  those lines, read from the base's `body` (or the key the request's
 *                `target` names), → structured message
 *   commit, verify   httpsig@1.0's
 *
 * HyperBEAM's serialize/deserialize are test helpers of arity 1–2: through
 * AO-Core its deserialize would crash on the base map, so we read the text
 * from a key as json@1.0's deserialize does.
 */
import { emptyMessage, isBinary, type Message, type Value } from '../core/value.ts'
import { ok, type Device } from '../core/device.ts'
import { directGet } from '../core/resolver.ts'
import { tabmToFlat, flatToTabm, serializeFlat, deserializeFlat } from '../codecs/flat.ts'
import { fromTabm } from '../codecs/structured.ts'
import { BadInput } from '../core/errors.ts'
import {
  asBinaryMap, binaryValue, codecSubject, httpsigCommit, httpsigVerify, tabmAsMessage, tabmOf, text,
} from './httpsig.ts'

const NAME = 'flat@1.0'

/** The text a deserialize request points at: base[target], default `body`. */
export function payloadOf(base: Message, req: Message): { key: string; value: Value | undefined } {
  const key = text(directGet(req, 'target')) ?? 'body'
  return { key, value: directGet(base, key) }
}

export const flatDevice: Device = {
  name: NAME,
  keys: {
    to: async (base, req, ctx) => {
      const flat = tabmToFlat(await tabmOf(codecSubject(base, NAME), req, ctx))
      const out = emptyMessage()
      for (const k of Object.keys(flat)) out[k] = flat[k]!
      return ok(out)
    },
    from: (base) => ok(tabmAsMessage(flatToTabm(asBinaryMap(codecSubject(base, NAME), 'flat@1.0 from')))),
    serialize: async (base, req, ctx) =>
      ok(binaryValue(serializeFlat(tabmToFlat(await tabmOf(codecSubject(base, NAME), req, ctx))))),
    deserialize: (base, req) => {
      const { key, value } = payloadOf(base, req)
      if (value === undefined) throw new BadInput(`flat@1.0 deserialize: the base has no ${JSON.stringify(key)} to read`)
      if (!isBinary(value)) throw new BadInput(`flat@1.0 deserialize: ${JSON.stringify(key)} is not text`)
      return ok(fromTabm(flatToTabm(deserializeFlat(value))) as Value)
    },
    commit: async (base, req, ctx) => ok(await httpsigCommit(codecSubject(base, NAME), base, req, ctx)),
    verify: async (base, req) => ok(await httpsigVerify(codecSubject(base, NAME), req)),
  },
}
