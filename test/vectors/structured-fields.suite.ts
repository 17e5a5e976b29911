/**
 * The httpwg structured-field conformance suite (RFC 8941/9651), for the
 * parts our codecs parse: dictionaries, lists, inner lists, parameters and
 * items of the signature headers, content-type and content-disposition
 * (through the `structured-headers` package), plus our own parser of
 * HyperBEAM's `ao-types` dialect on every dictionary of strings.
 */
import type { SuiteLoader, VectorCase } from './harness.ts'
import { parseDictionary, parseItem, parseList, Token, DisplayString } from 'structured-headers'
import { deepEqual, ok } from './assert.ts'
import { parseAoTypes } from '../../src/codecs/ao-types.ts'
import { isLosslessNumber } from 'lossless-json'

// RFC 8941 only: dates and display strings (RFC 9651) appear in no field we parse.
const FILES = ['binary', 'boolean', 'dictionary', 'examples', 'item', 'key-generated',
  'large-generated', 'list', 'listlist', 'number', 'number-generated', 'param-dict', 'param-list', 'param-listlist',
  'string', 'string-generated', 'token', 'token-generated']

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
function base32(s: string): number[] {
  const out: number[] = []
  let acc = 0
  let bits = 0
  for (const ch of s.replace(/=+$/, '')) {
    acc = (acc << 5) | B32.indexOf(ch)
    bits += 5
    if (bits >= 8) { bits -= 8; out.push((acc >> bits) & 0xff) }
  }
  return out
}

/** structured-headers output in the suite's JSON shape. */
function bare(v: unknown): unknown {
  if (v instanceof Token) return { __type: 'token', value: v.toString() }
  if (v instanceof DisplayString) return { __type: 'displaystring', value: v.toString() }
  if (v instanceof ArrayBuffer) return { __type: 'binary', bytes: [...new Uint8Array(v)] }
  if (v instanceof Date) return { __type: 'date', value: Math.floor(v.getTime() / 1000) }
  return v
}
const params = (p: Map<string, unknown>) => [...p].map(([k, v]) => [k, bare(v)])
const item = (i: [unknown, Map<string, unknown>]) => [bare(i[0]), params(i[1])]
const member = (m: unknown): unknown => {
  const [v, p] = m as [unknown, Map<string, unknown>]
  return Array.isArray(v) ? [v.map((x) => item(x as [unknown, Map<string, unknown>])), params(p)] : item([v, p])
}

/** The suite's expected JSON, with binaries decoded and numbers as JS numbers. */
function expected(e: unknown): unknown {
  if (isLosslessNumber(e)) return Number((e as { value: string }).value)
  if (Array.isArray(e)) return e.map(expected)
  if (e && typeof e === 'object') {
    const o = e as Record<string, unknown>
    if (o['__type'] === 'binary') return { __type: 'binary', bytes: base32(String(o['value'])) }
    if (o['__type'] === 'token' || o['__type'] === 'displaystring') return { __type: o['__type'], value: String(o['value']) }
    if (o['__type'] === 'date') return { __type: 'date', value: Number(o['value']) }
    return o
  }
  return e
}

export const structuredFieldsSuite: SuiteLoader = async (fx) => {
  const cases: VectorCase[] = []
  for (const file of FILES) {
    const tests = await fx.json(`vectors/structured-fields/${file}.json`) as any[]
    for (const t of tests) {
      if (!t.raw) continue
      const raw = (t.raw as string[]).join(', ')
      const type = String(t.header_type)
      cases.push({
        name: `${file}: ${String(t.name)}`,
        run: () => {
          const parse = () => {
            if (type === 'dictionary') return [...parseDictionary(raw)].map(([k, v]) => [k, member(v)])
            if (type === 'list') return parseList(raw).map(member)
            return item(parseItem(raw) as [unknown, Map<string, unknown>])
          }
          if (t.must_fail) {
            let threw = false
            try { parse() } catch { threw = true }
            ok(threw, 'must fail')
            return
          }
          let got: unknown
          try { got = parse() } catch (e) { if (t.can_fail) return; throw e }
          deepEqual(JSON.stringify(got), JSON.stringify(expected(t.expected)), 'parsed')
        },
      })
      // HyperBEAM's ao-types dialect: a dictionary whose members are all strings without parameters.
      if (type === 'dictionary' && !t.must_fail && Array.isArray(t.expected)) {
        const members = t.expected as [string, [unknown, unknown[]]][]
        const allStrings = members.every(([, m]) => typeof m[0] === 'string' && Array.isArray(m[1]) && m[1].length === 0)
        if (allStrings && members.length > 0) {
          cases.push({
            name: `${file}: ${String(t.name)} (ao-types dialect)`,
            run: () => {
              const got = [...parseAoTypes(raw)]
              deepEqual(JSON.stringify(got), JSON.stringify(members.map(([k, m]) => [k, m[0]])), 'ao-types')
            },
          })
        }
      }
    }
  }
  return { name: 'Structured-field conformance (RFC 8941/9651)', cases }
}
