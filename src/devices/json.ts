/**
 * json@1.0 as a device (HyperBEAM dev_codec_json, spec §3.8).
 *
 *   to            subject → TABM → JSON text (keys sorted; `bundle: true` keeps
 *                 nested messages inline, otherwise they are `key+link` IDs)
 *   from          a message is already decoded: returned as it is (HyperBEAM's
 *                 from/3 on a map); JSON text is read by `deserialize`
 *   deserialize   JSON text at base[`target`] (default `body`) → message, without
 *                 added types; missing → error with status 404, as HyperBEAM
 *   serialize     `{content-type: application/json, body: <to>}`
 *   content_type  `application/json`
 *   committed     the keys every commitment covers (hb_message:committed, all)
 *   commit, verify   httpsig@1.0's
 */
import { isBinary, isMessage, message } from '../core/value.ts'
import { error, ok, type Device } from '../core/device.ts'
import { tabmToJson, jsonToMessage } from '../codecs/json.ts'
import { BadInput } from '../core/errors.ts'
import { codecSubject, httpsigCommit, httpsigVerify, tabmOf, text } from './httpsig.ts'
import { payloadOf } from './flat.ts'
import { messageDevice } from './message.ts'

const NAME = 'json@1.0'
const CONTENT_TYPE = 'application/json'

export const jsonDevice: Device = {
  name: NAME,
  keys: {
    to: async (base, req, ctx) => ok(tabmToJson(await tabmOf(codecSubject(base, NAME), req, ctx))),
    from: (base) => ok(codecSubject(base, NAME)),
    deserialize: (base, req) => {
      const { key, value } = payloadOf(base, req)
      if (value === undefined) {
        return error(message({
          status: 404n,
          // HyperBEAM's text, missing space included.
          body: `JSON payload not found in the base message.Searched for: ${key}`,
        }))
      }
      if (isMessage(value)) return ok(value)
      if (!isBinary(value)) throw new BadInput(`json@1.0 deserialize: ${JSON.stringify(key)} is not JSON text`)
      return ok(jsonToMessage(text(value)!))
    },
    serialize: async (base, req, ctx) => ok(message({
      'content-type': CONTENT_TYPE,
      body: tabmToJson(await tabmOf(codecSubject(base, NAME), req, ctx)),
    })),
    content_type: () => ok(CONTENT_TYPE),
    committed: (base, _req, ctx) => messageDevice.keys['committed']!(codecSubject(base, NAME), message({}), ctx),
    commit: async (base, req, ctx) => ok(await httpsigCommit(codecSubject(base, NAME), base, req, ctx)),
    verify: async (base, req) => ok(await httpsigVerify(codecSubject(base, NAME), req)),
  },
}

