/**
 * ANS-104 vectors: real arbundles items (IDs, signatures with salt 478), the
 * Ethereum-signed known item (layout of type 3), arbundles' Avro tag and
 * deep-hash known answers, HyperBEAM's oracle items (edge 3635c5e, key-1)
 * and our own signing with key-1.json.
 */
import { fromB64, toB64Url, tryUtf8, utf8 } from '../../src/core/bytes.ts'
import { fromJson } from '../../src/core/typed-json.ts'
import { isMessage, type Message, type Value } from '../../src/core/value.ts'
import { encodeScalar, serializeAoTypes } from '../../src/codecs/ao-types.ts'
import { isTabm, type Tabm } from '../../src/codecs/tabm.ts'
import { sha256 } from '../../src/crypto/hash.ts'
import { loadJwk, type Wallet } from '../../src/crypto/wallet.ts'
import { decodeTags, encodeTags, tag, type Tag } from '../../src/codecs/ans104/avro.ts'
import { deepHash } from '../../src/codecs/ans104/deep-hash.ts'
import {
  dataOffset, itemId, parseItem, serializeItem, signingPayload, tagBytes, unsignedId, verifyItem, type DataItem,
} from '../../src/codecs/ans104/data-item.ts'
import {
  commitAns104, itemToTabm, tabmToItem, verifyAns104Commitment,
} from '../../src/codecs/ans104/convert.ts'
import { deepEqual, equal, ok, rejects } from './assert.ts'
import type { SuiteLoader, VectorCase } from './harness.ts'

const ITEMS = 'vectors/ans104/arbundles-items'
const KNOWN = 'vectors/ans104/known-answer'
const ORACLE = 'hyperbeam-data/vectors/oracle-vectors.json'
const KEY1 = 'hyperbeam-data/test/key-1.json'

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')
function unhex(s: string): Uint8Array {
  const out = new Uint8Array(s.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16)
  return out
}
const text = (b: Uint8Array): string => tryUtf8(b) ?? `<${hex(b)}>`
const tagPairs = (tags: readonly Tag[]): [string, string][] => tags.map((t) => [text(t.name), text(t.value)])
const num = (v: unknown): number => Number(String(v))

/** structured@1.0 → TABM for the flat scalar messages of these vectors; `commitments` is copied. */
function flatTabm(msg: Message): Tabm {
  const out: Tabm = Object.create(null)
  const types = new Map<string, string>()
  for (const [k, v] of Object.entries(msg)) {
    if (k === 'commitments') { out[k] = asTabm(v); continue }
    const [b, t] = encodeScalar(v)
    out[k] = b
    if (t) types.set(k, t)
  }
  if (types.size) out['ao-types'] = serializeAoTypes(types)
  return out
}
function asTabm(v: Value): Tabm {
  if (!isMessage(v)) throw new Error('expected a map')
  const out: Tabm = Object.create(null)
  for (const [k, x] of Object.entries(v)) {
    out[k] = typeof x === 'string' || x instanceof Uint8Array ? x : asTabm(x)
  }
  return out
}
const structured = (j: unknown): Message => fromJson(j) as Message

/** Parse, then check that serializing gives back the same bytes. */
function parseBack(bytes: Uint8Array): DataItem {
  const item = parseItem(bytes)
  deepEqual(serializeItem(item), bytes, 'serialize(parse(bytes))')
  return item
}

function arbundlesCases(names: string[], files: Map<string, [Uint8Array, any]>): VectorCase[] {
  return names.filter((n) => n.endsWith('.bin')).map((name) => ({
    name: `arbundles item ${name}`,
    async run() {
      const [bytes, x] = files.get(name)!
      const item = parseBack(bytes)
      equal(itemId(item), name.slice(0, -4), 'id = file name')
      equal(itemId(item), x.id, 'id')
      equal(item.sigType, num(x.signature_type), 'signature type')
      equal(toB64Url(item.owner), x.owner, 'owner')
      equal(toB64Url(sha256(item.owner)), x.owner_address, 'owner address')
      equal(toB64Url(item.target), x.target, 'target')
      equal(toB64Url(item.anchor), x.anchor, 'anchor')
      equal(tryUtf8(item.anchor), x.anchor_utf8, 'anchor text')
      deepEqual(tagPairs(item.tags), x.tags.map((t: any) => [t.name, t.value]), 'tags')
      equal(tagBytes(item).length, num(x.num_tag_bytes), 'numTagBytes')
      equal(hex(tagBytes(item)), x.tag_bytes_hex, 'tag bytes')
      equal(hex(encodeTags(item.tags)), x.tag_bytes_hex, 'canonical tag encoding')
      equal(item.data.length, num(x.data_size), 'data size')
      equal(hex(sha256(item.data)), x.data_sha256, 'data sha256')
      equal(dataOffset(item), num(x.data_offset), 'data offset')
      equal(hex(signingPayload(item)), x.deep_hash_hex, 'deep hash')
      equal(bytes.length, num(x.item_size), 'item size')
      equal(hex(sha256(bytes)), x.item_sha256, 'item sha256')
      equal(await verifyItem(item), true, 'signature verifies (salt 478)')
      const tampered = { ...item, data: utf8('tampered') }
      equal(await verifyItem(tampered), false, 'tampered item does not verify')
    },
  }))
}

function ethCase(bytes: Uint8Array, x: any): VectorCase {
  return {
    name: 'eth-signer known item: type 3 layout, ID, tags, data offset',
    async run() {
      const item = parseBack(bytes)
      const e = x.expected_from_test
      const d = x.derived_by_collector
      equal(item.sigType, num(e.signature_type), 'signature type')
      equal(item.owner.length, num(e.owner_length), 'owner length')
      equal(toB64Url(item.signature), e.signature_b64url, 'signature')
      equal(toB64Url(item.owner), d.owner_b64url, 'owner')
      equal(itemId(item), d.id, 'id')
      equal(bytes.length, num(d.item_size), 'item size')
      equal(hex(sha256(bytes)), d.item_sha256, 'item sha256')
      equal(dataOffset(item), num(e.start_of_data), 'start of data')
      equal(hex(tagBytes(item)), d.tag_bytes_hex, 'tag bytes')
      equal(hex(signingPayload(item)), d.deep_hash_message_hex, 'deep hash')
      deepEqual(tagPairs(item.tags), x.inputs.tags.map((t: any) => [t.name, t.value]), 'tags')
      equal(text(item.data), x.inputs.data, 'data')
      equal(text(item.anchor), x.inputs.anchor_utf8, 'anchor')
      equal(toB64Url(item.target), x.inputs.target_b64url, 'target')
      equal(toB64Url(sha256(new Uint8Array(65))), e.unsigned_placeholder_id, 'arbundles placeholder id = sha256(65 zero bytes)')
      equal(await verifyItem(item), false, 'type 3 cannot be verified here: false, no exception')
      await rejects(() => itemToTabm(item), 'UnsupportedCommitment', 'itemToTabm of a type-3 item')
    },
  }
}

function tagCases(x: any): VectorCase[] {
  const cases: VectorCase[] = x.avro_tags.map((t: any) => ({
    name: `avro tags ${t.name}`,
    run() {
      const tags = t.tags.map((p: any) => tag(p.name, p.value))
      equal(hex(encodeTags(tags)), t.encoded_hex, 'encoding')
      deepEqual(tagPairs(decodeTags(unhex(t.encoded_hex))), tagPairs(tags), 'decoding')
      if (t.alt_encoding_hex) {
        deepEqual(tagPairs(decodeTags(unhex(t.alt_encoding_hex))), tagPairs(tags), 'negative-count block decodes')
        equal(hex(encodeTags(decodeTags(unhex(t.alt_encoding_hex)))), t.encoded_hex, 're-encoding is canonical')
      }
    },
  }))
  cases.push({
    name: 'avro: zero tags are zero bytes',
    run() {
      equal(encodeTags([]).length, 0, 'encoding of []')
      deepEqual(decodeTags(new Uint8Array(0)), [], 'decoding of no bytes')
    },
  })
  for (const d of x.deep_hash) {
    cases.push({
      name: `deep hash ${d.input}`,
      run() {
        const input = d.kind === 'blob' ? unhex(d.value_hex) : d.items_hex.map(unhex)
        equal(hex(deepHash(input)), d.expected, 'deep hash')
      },
    })
  }
  return cases
}

function oracleCases(cases: any[], wallet: () => Promise<Wallet>): VectorCase[] {
  const out: VectorCase[] = []
  for (const c of cases) {
    out.push({
      name: `hyperbeam ${c.name}: item parses, IDs, tags, data, verifies`,
      async run() {
        const bytes = fromB64(c.item_b64)
        const item = parseBack(bytes)
        equal(itemId(item), c.item_id, 'id')
        equal(unsignedId(item), c.item_unsigned_id, 'unsigned id')
        deepEqual(tagPairs(item.tags), c.item_tags, 'tags')
        equal(text(item.data), c.item_data, 'data')
        equal(await verifyItem(item), c.verify_item, 'verify_item')
      },
    })
    out.push({
      name: `hyperbeam ${c.name}: itemToTabm is HyperBEAM's TABM, and back to the same bytes`,
      async run() {
        const bytes = fromB64(c.item_b64)
        const tabm = itemToTabm(parseItem(bytes))
        const expected = flatTabm(structured(c.recovered_structured))
        deepEqual(tabm, expected, 'recovered TABM')
        const signed = flatTabm(structured(c.signed_message))
        deepEqual(tabm, signed, 'same as the signed message')
        deepEqual(serializeItem(tabmToItem(tabm)), bytes, 'tabmToItem(itemToTabm(item)) serializes to the same bytes')
        equal(await verifyAns104Commitment(tabm, c.item_id), c.recovered_verify, 'commitment verifies')
        const forged: Tabm = { ...tabm, extra: 'key' }
        equal(await verifyAns104Commitment(forged, c.item_id), false, 'an added key breaks the commitment')
      },
    })
    out.push({
      name: `hyperbeam ${c.name}: signing the input with key-1 gives HyperBEAM's item`,
      async run() {
        const w = await wallet()
        const input = flatTabm(structured(c.input))
        const unsigned = tabmToItem(input)
        equal(unsignedId(unsigned), c.item_unsigned_id, 'unsigned id of our conversion')
        deepEqual(tagPairs(unsigned.tags), c.item_tags, 'tags of our conversion')
        const committed = await commitAns104(input, w)
        const ids = Object.keys(committed.commitments as Tabm)
        equal(ids.length, 1, 'one commitment')
        const comm = (committed.commitments as Tabm)[ids[0]!] as Tabm
        const theirs = flatTabm(structured(c.signed_message))
        const theirComm = Object.values(theirs.commitments as Tabm)[0] as Tabm
        for (const k of ['commitment-device', 'committed', 'committer', 'keyid', 'type']) deepEqual(comm[k], theirComm[k], `commitment ${k}`)
        const { commitments: _a, ...ours } = committed
        const { commitments: _b, ...hb } = theirs
        deepEqual(ours, hb, 'message keys')
        equal(await verifyAns104Commitment(committed, ids[0]!), true, 'our commitment verifies')
        const item = parseBack(serializeItem(tabmToItem(committed)))
        equal(itemId(item), ids[0], 'item id = commitment id')
        equal(await verifyItem(item), true, 'our item verifies')
        deepEqual(itemToTabm(item), committed, 'round trip through bytes')
      },
    })
  }
  return out
}

/** dev_codec_ans104:set_defaults_test (edge 3635c5e): #tx defaults stay tags; a known unsigned ID. */
const setDefaultsCase: VectorCase = {
  name: 'hyperbeam set_defaults_test: default #tx fields stay tags, unsigned id 3eMto8z7…',
  run() {
    const tabm: Tabm = Object.assign(Object.create(null), {
      format: 'ans104', last_tx: '', target: '', quantity: '0', data: '', manifest: 'undefined',
      data_root: '', reward: '0', denomination: '0',
      'ao-types': 'denomination="integer", format="atom", manifest="atom", quantity="integer", reward="integer"',
    })
    const item = tabmToItem(tabm)
    equal(unsignedId(item), '3eMto8z7IlnQgKPrHjmkrI2ohnrJhnCsss6wc4L86QQ', 'unsigned id')
    deepEqual(tagPairs(item.tags).map((p) => p[0]),
      ['ao-types', 'data', 'data_root', 'denomination', 'format', 'last_tx', 'manifest', 'quantity', 'reward', 'target'], 'tag names')
    equal(item.data.length, 0, 'no data')
  },
}

const malformedCase: VectorCase = {
  name: 'malformed items and messages throw typed errors',
  async run() {
    const good = serializeItem(tabmToItem(Object.assign(Object.create(null), { a: 'b', data: 'hello' })))
    for (const n of [0, 1, 2, 100, 514, 1026, 1027, 1028, 1043]) {
      await rejects(() => parseItem(good.subarray(0, n)), 'InvalidDataItem', `truncated at ${n}`)
    }
    const badType = good.slice(); badType[0] = 9
    await rejects(() => parseItem(badType), 'InvalidDataItem', 'unknown signature type')
    const badFlag = good.slice(); badFlag[1026] = 2
    await rejects(() => parseItem(badFlag), 'InvalidDataItem', 'presence byte 2')
    const moreTags = good.slice(); moreTags[1028] = 2
    await rejects(() => parseItem(moreTags), 'InvalidDataItem', 'numTags mismatch')
    const hugeBytes = good.slice(); hugeBytes[1036 + 6] = 1
    await rejects(() => parseItem(hugeBytes), 'InvalidDataItem', 'numTagBytes beyond the buffer')
    const shortBytes = good.slice(); shortBytes[1036] -= 1
    await rejects(() => parseItem(shortBytes), 'InvalidAvro', 'numTagBytes one short')
    await rejects(() => decodeTags(unhex('ffffffffffffffffffff01')), 'InvalidAvro', 'overlong varint')
    await rejects(() => decodeTags(unhex('feffffff0f')), 'InvalidAvro', 'huge count')
    await rejects(() => decodeTags(unhex('0200')), 'InvalidAvro', 'truncated record')
    await rejects(() => tabmToItem(Object.assign(Object.create(null), { owner: 'x' })), 'ReservedItemField', 'owner key')
    await rejects(() => tabmToItem(Object.assign(Object.create(null), { nested: { a: 'b' } })), 'UnsupportedBundle', 'nested map')
    await rejects(() => tabmToItem(Object.assign(Object.create(null), { big: 'x'.repeat(4096) })), 'UnsupportedBundle', '4096-byte value')
    await rejects(() => tabmToItem(Object.assign(Object.create(null), { target: 'abc' })), 'InvalidDataItem', 'target that is no ID')
  },
}

export const ans104Suite: SuiteLoader = async (fx) => {
  const names = await fx.list(ITEMS)
  const files = new Map<string, [Uint8Array, any]>()
  for (const n of names.filter((x) => x.endsWith('.bin'))) {
    files.set(n, [await fx.bytes(`${ITEMS}/${n}`), await fx.json(`${ITEMS}/${n.slice(0, -4)}.expected.json`)])
  }
  const eth = await fx.bytes(`${KNOWN}/eth-signer-known-item.bin`)
  const ethX = await fx.json(`${KNOWN}/eth-signer-known-item.expected.json`)
  const tagsX = await fx.json(`${KNOWN}/tags_and_deephash.json`)
  const oracle = (await fx.json(ORACLE)).categories.ans104.cases
  const jwk = await fx.json(KEY1)
  let walletP: Promise<Wallet> | undefined
  const wallet = () => (walletP ??= loadJwk(jwk))

  const cases: VectorCase[] = [
    ...arbundlesCases(names, files),
    ethCase(eth, ethX),
    ...tagCases(tagsX),
    {
      name: 'key-1.json loads with its Arweave address',
      async run() {
        const w = await wallet()
        equal(w.address, 'vcaPe4JWnrSOCktDHBgXge-zWUb6JRkqbom5w9t7i-4', 'address')
        equal(w.n.length, 512, 'modulus bytes')
      },
    },
    ...oracleCases(oracle, wallet),
    setDefaultsCase,
    malformedCase,
  ]
  return { name: 'ans104', cases }
}

export default ans104Suite
