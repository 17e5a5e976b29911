/** HyperBEAM `httpsig_wire`, `flat` and `json` vectors. */
import type { SuiteLoader, VectorCase } from './harness.ts'
import { category, typed, typedValue, vectorBytes, str } from './oracle.ts'
import { deepEqual, equal, ok } from './assert.ts'
import { toTabm, fromTabm, type LinkifyMode } from '../../src/codecs/structured.ts'
import { toHttp, fromHttp, commitHmac, verifyCommitment, commitmentsOf } from '../../src/codecs/httpsig/index.ts'
import { tabmToFlat, flatToTabm, serializeFlat } from '../../src/codecs/flat.ts'
import { tabmToJson } from '../../src/codecs/json.ts'
import { bytesEqual, fromUtf8, utf8 } from '../../src/core/bytes.ts'
import { Atom, type Message } from '../../src/core/value.ts'
import type { Tabm } from '../../src/codecs/tabm.ts'
import type { HttpMessage } from '../../src/codecs/httpsig/types.ts'

const mode = (j: unknown): LinkifyMode => {
  const v = typedValue(j)
  return v instanceof Atom ? (v.name as LinkifyMode) : false
}

async function verifyAll(t: Tabm): Promise<boolean> {
  const comms = commitmentsOf(t)
  for (const id of Object.keys(comms)) if (!(await verifyCommitment(t, comms[id]!))) return false
  return Object.keys(comms).length > 0
}

export const codecsSuite: SuiteLoader = async (fx) => {
  const cases: VectorCase[] = []
  for (const c of await category(fx, 'httpsig_wire')) {
    const name = str(c.name)
    const input = typed(c.input)
    const linkify = mode(c.linkify_mode)
    cases.push({
      name: `httpsig wire ${name}: TABM, HMAC commitment, headers and body`,
      run: () => {
        const t = toTabm(input, { linkify })
        deepEqual(t, typed(c.tabm), 'tabm')
        const committed = commitHmac(t)
        deepEqual(commitmentsOf(committed), normalizeCommitted(typed(c.hmac_commitment)), 'hmac commitment')
        const http = toHttp(committed)
        const headers = Object.assign(Object.create(null), http) as HttpMessage
        delete headers['body']
        deepEqual(headers, typed(c.headers), 'headers')
        if (c.body === null) ok(http['body'] === undefined, 'no body')
        else ok(bytesEqual(asBytes(http['body']!), vectorBytes(c.body)), 'body bytes')
      },
    })
    cases.push({
      name: `httpsig wire ${name}: decodes to HyperBEAM's TABM and verifies as HyperBEAM says`,
      run: async () => {
        const http = typed(c.headers) as unknown as HttpMessage
        if (c.body !== null) http['body'] = fromUtf8(vectorBytes(c.body))
        const decoded = fromHttp(http)
        deepEqual(decoded, typed(c.decoded_tabm), 'decoded tabm')
        equal(await verifyAll(decoded), c.decoded_verifies === true, 'verifies')
      },
    })
  }
  for (const c of await category(fx, 'flat')) {
    cases.push({
      name: `flat ${str(c.name)}`,
      run: () => {
        const t = toTabm(typed(c.input), { linkify: false })
        deepEqual(t, typed(c.tabm), 'tabm')
        const flat = tabmToFlat(t)
        deepEqual(flat, typed(c.flat), 'flat')
        deepEqual(flatToTabm(flat), t, 'from flat')
        const linked = toTabm(typed(c.input), { linkify: 'discard' })
        equal(fromUtf8(serializeFlat(tabmToFlat(linked))), str(c.serialized), 'serialized')
      },
    })
  }
  for (const c of await category(fx, 'json')) {
    const name = str(c.name)
    cases.push({
      name: `json ${name}`,
      run: () => {
        const t = toTabm(typed(c.input), { linkify: false })
        deepEqual(t, typed(c.tabm), 'tabm')
        const json = tabmToJson(t)
        // More than 32 keys: HyperBEAM writes Erlang's HAMT order; we write sorted keys (same JSON value).
        if (name === 'json-33-keys') deepEqual(JSON.parse(json), JSON.parse(str(c.json)), 'json value')
        else equal(json, str(c.json), 'json text')
        deepEqual(fromTabm(t), typed(c.input), 'round trip')
      },
    })
  }
  return { name: 'HyperBEAM vectors: httpsig wire, flat, json', cases }
}

const asBytes = (b: string | Uint8Array): Uint8Array => (typeof b === 'string' ? utf8(b) : b)

/** Vector commitments write `committed` as a list; ours is a numbered map. */
function normalizeCommitted(comms: Message): Message {
  for (const id of Object.keys(comms)) {
    const c = comms[id] as Message
    const list = c['committed']
    if (Array.isArray(list)) {
      const m = Object.create(null) as Message
      list.forEach((k, i) => { m[String(i + 1)] = k })
      c['committed'] = m
    }
  }
  return comms
}
