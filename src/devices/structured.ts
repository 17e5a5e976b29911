/**
 * structured@1.0 as a device (HyperBEAM dev_codec_structured, spec §3.3).
 *
 *   from    structured subject → TABM (binaries plus `ao-types`; nested
 *           messages become `key+link` IDs, offloaded to the store, unless
 *           `bundle: true`)
 *   to      TABM subject → structured: typed values decoded, `key+link`
 *           becomes a link, a `.="list"` message becomes a list; values that
 *           are already typed pass through, as in HyperBEAM
 *   commit, verify   httpsig@1.0's
 */
import { Link, emptyMessage, isBinary, isMessage, type Message, type Value } from '../core/value.ts'
import { ok, type Device } from '../core/device.ts'
import { normalizeKey } from '../core/keys.ts'
import { decodeScalar, parseAoTypes } from '../codecs/ao-types.ts'
import { numberedToList } from '../codecs/structured.ts'
import { codecSubject, httpsigCommit, httpsigVerify, tabmAsMessage, tabmOf, text } from './httpsig.ts'

const NAME = 'structured@1.0'

/** dev_codec_structured:to over a message that may mix TABM and structured values. */
export function tabmToStructured(m: Message): Message | Value[] {
  const rawTypes = m['ao-types']
  const types = isBinary(rawTypes) ? parseAoTypes(text(rawTypes)!) : new Map<string, string>()
  const out = emptyMessage()
  for (const k of Object.keys(m)) {
    if (k === 'ao-types') continue
    const v = m[k]!
    if (k === 'commitments') { out[k] = v; continue }
    if (k.endsWith('+link') && isBinary(v)) { out[k.slice(0, -5)] = new Link(text(v)!); continue }
    if (isBinary(v)) {
      const type = types.get(normalizeKey(k))
      out[k] = type === undefined ? v : decodeScalar(type, v)
    } else if (isMessage(v)) out[k] = tabmToStructured(v) as Value
    else out[k] = v
  }
  return types.get('.') === 'list' ? numberedToList(out) : out
}

export const structuredDevice: Device = {
  name: NAME,
  keys: {
    from: async (base, req, ctx) => ok(tabmAsMessage(await tabmOf(codecSubject(base, NAME), req, ctx))),
    to: (base) => ok(tabmToStructured(codecSubject(base, NAME)) as Value),
    commit: async (base, req, ctx) => ok(await httpsigCommit(codecSubject(base, NAME), base, req, ctx)),
    verify: async (base, req) => ok(await httpsigVerify(codecSubject(base, NAME), req)),
  },
}
