/**
 * A few real cases that prove the vector harness itself works in Node and in
 * the browser worker: RFC 4648 base64, typed JSON with exact integers, floats
 * and non-UTF-8 bytes, and the Fixtures plumbing (list, json, bytes agree).
 */
import { parse as losslessParse } from 'lossless-json'
import { fromB64, fromUtf8, toB64, toB64Url, utf8 } from '../../src/core/bytes.ts'
import { parseTypedJson, stringifyTyped } from '../../src/core/typed-json.ts'
import { Float, isMessage } from '../../src/core/value.ts'
import { deepEqual, equal, ok } from './assert.ts'
import type { SuiteLoader, VectorCase } from './harness.ts'

/** RFC 4648 §10 test vectors. */
const RFC4648: [string, string][] = [
  ['', ''], ['f', 'Zg=='], ['fo', 'Zm8='], ['foo', 'Zm9v'],
  ['foob', 'Zm9vYg=='], ['fooba', 'Zm9vYmE='], ['foobar', 'Zm9vYmFy'],
]

const base64Cases: VectorCase[] = RFC4648.map(([text, b64]) => ({
  name: `base64 RFC 4648 ${JSON.stringify(text)}`,
  run() {
    equal(toB64(utf8(text)), b64, 'toB64')
    equal(fromUtf8(fromB64(b64)), text, 'fromB64')
    const url = b64.replace(/=+$/, '')
    equal(toB64Url(utf8(text)), url, 'toB64Url')
    equal(fromUtf8(fromB64(url)), text, 'fromB64 unpadded')
  },
}))

const TYPED = '{"f":{"@float":"1.5"},"big":18446744073709551617,"bin":{"@b64":"AP+ACg3I"}}'

const typedJsonCase: VectorCase = {
  name: 'typed JSON: big integer, float and non-UTF-8 bytes round-trip',
  run() {
    const m = parseTypedJson(TYPED)
    ok(isMessage(m), 'parsed value is a message')
    if (!isMessage(m)) return
    equal(m.big, 18446744073709551617n, 'big')
    ok(m.f instanceof Float && m.f.value === 1.5, 'f is Float(1.5)')
    deepEqual(m.bin, new Uint8Array([0x00, 0xff, 0x80, 0x0a, 0x0d, 0xc8]), 'bin')
    // Keys sorted bytewise; integer exact; bytes that are not UTF-8 stay @b64.
    equal(stringifyTyped(m), '{"big":18446744073709551617,"bin":{"@b64":"AP+ACg3I"},"f":{"@float":"1.5"}}', 'text')
    equal(stringifyTyped(parseTypedJson(stringifyTyped(m))), stringifyTyped(m), 'second round trip')
  },
}

const DIGESTS = 'vectors/content-digest-rfc9530'

const fixturesCase = (names: string[], viaJson: any, raw: Uint8Array): VectorCase => ({
  name: 'fixtures: list, json and bytes agree',
  run() {
    ok(names.includes('vectors.json') && names.includes('README.md'), `list(${DIGESTS}) has vectors.json and README.md`)
    deepEqual(names, [...names].sort(), 'list order')
    const viaBytes = losslessParse(fromUtf8(raw)) as any
    ok(Array.isArray(viaJson.cases) && viaJson.cases.length > 0, 'json() has cases')
    equal(JSON.stringify(viaBytes), JSON.stringify(viaJson), 'bytes() parsed = json()')
  },
})

export const smokeSuite: SuiteLoader = async (fx) => ({
  name: 'smoke',
  cases: [
    ...base64Cases,
    typedJsonCase,
    fixturesCase(
      await fx.list(DIGESTS),
      await fx.json(`${DIGESTS}/vectors.json`),
      await fx.bytes(`${DIGESTS}/vectors.json`),
    ),
  ],
})
