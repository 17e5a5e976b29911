/**
 * ans104@1.0 as a device (HyperBEAM dev_codec_ans104, spec §3.7).
 *
 * HyperBEAM's `to` gives an Erlang #tx record and `serialize` its bytes; a
 * record is not a message value, so here the data item is always its bytes:
 *
 *   to, serialize      subject → TABM → signed or unsigned data item bytes (an
 *                      ans104@1.0 commitment on the subject supplies the signature)
 *   from, deserialize  data item bytes in the base's `body` → TABM with its
 *                      ans104@1.0 commitment
 *   commit             `type`: signed / rsa-pss-sha256 (default; the node wallet)
 *                      or unsigned / unsigned-sha256 (normalize through a data
 *                      item, as HyperBEAM: mixed-case tags gain an unsigned commitment)
 *   verify             every ans104@1.0 commitment of the subject (none → false)
 *   content_type       `application/ans104`
 *
 * Nested messages are linked (`key+link`) unless `bundle: true`; bundles
 * themselves are not supported by our ANS-104 codec (UnsupportedBundle, 400).
 */
import { emptyMessage, isBinary, isMessage, type Message, type Value } from '../core/value.ts'
import { ok, type Device, type ResolveContext } from '../core/device.ts'
import { directGet } from '../core/resolver.ts'
import { utf8 } from '../core/bytes.ts'
import { toTabm } from '../codecs/structured.ts'
import { ANS104_DEVICE, itemToTabm, tabmToItem, commitAns104, verifyAns104Commitment } from '../codecs/ans104/convert.ts'
import { parseItem, serializeItem } from '../codecs/ans104/data-item.ts'
import { commitmentsOf } from '../codecs/httpsig/commitment.ts'
import type { Tabm } from '../codecs/tabm.ts'
import { BadInput, UnsupportedCommitment, Unauthorized } from '../core/errors.ts'
import { codecSubject, tabmAsMessage, tabmOf, text } from './httpsig.ts'
import { tabmToStructured } from './structured.ts'

const NAME = ANS104_DEVICE
const CONTENT_TYPE = 'application/ans104'

async function itemBytes(base: Message, req: Message, ctx: ResolveContext): Promise<Uint8Array> {
  return serializeItem(tabmToItem(await tabmOf(codecSubject(base, NAME), req, ctx)))
}

function readItem(base: Message): Message {
  const body = directGet(base, 'body')
  if (body === undefined) throw new BadInput('ans104@1.0: the base has no `body` holding a data item')
  if (!isBinary(body)) throw new BadInput('ans104@1.0: `body` is not a binary data item')
  return tabmAsMessage(itemToTabm(parseItem(typeof body === 'string' ? utf8(body) : body)))
}

function withoutCommitments(m: Message): Message {
  const out = emptyMessage()
  for (const k of Object.keys(m)) if (k !== 'commitments') out[k] = m[k]!
  return out
}

export const ans104Device: Device = {
  name: NAME,
  keys: {
    to: async (base, req, ctx) => ok(await itemBytes(base, req, ctx)),
    serialize: async (base, req, ctx) => ok(await itemBytes(base, req, ctx)),
    from: (base) => ok(readItem(base)),
    deserialize: (base) => ok(readItem(base)),
    content_type: () => ok(CONTENT_TYPE),
    commit: async (base, req, ctx) => {
      const subject = codecSubject(base, NAME)
      const type = text(directGet(req, 'type')) ?? 'signed'
      const t = toTabm(withoutCommitments(subject), { linkify: 'discard' })
      if (type === 'unsigned' || type === 'unsigned-sha256') {
        return ok(tabmToStructured(tabmAsMessage(itemToTabm(tabmToItem(t)))) as Value)
      }
      if (type !== 'signed' && type !== 'rsa-pss-sha256') throw new UnsupportedCommitment(`ans104@1.0 cannot commit with type ${JSON.stringify(type)}`)
      if (!ctx.wallet) throw new Unauthorized('this node has no wallet to sign with')
      const signed = await commitAns104(t, ctx.wallet)
      const out = withoutCommitments(subject)
      out['commitments'] = (signed as unknown as Message)['commitments']!
      return ok(out)
    },
    verify: async (base) => {
      const subject = codecSubject(base, NAME)
      const comms = commitmentsOf(subject)
      const ids = Object.keys(comms).filter((id) => isMessage(comms[id]) && text(comms[id]!['commitment-device']) === NAME)
      if (ids.length === 0) return ok(false)
      const t: Tabm = toTabm(subject, { linkify: 'discard' })
      for (const id of ids) if (!(await verifyAns104Commitment(t, id))) return ok(false)
      return ok(true)
    },
  },
}
