/**
 * The typed-JSON message format of the HyperBEAM vectors and of the `ao` CLI:
 * strings are binaries, integers are integers (any size), `{"@float": "1.5"}`,
 * `{"@atom": "name"}`, `{"@b64": "..."}` (non-UTF-8 bytes), true/false/null
 * are atoms, arrays are lists, objects are maps. Parsed paths add
 * `{"@as": [device, msg]}`, `{"@resolve": [...]}` and `{"@link": id}`.
 */
import { parse as losslessParse, isLosslessNumber, type LosslessNumber } from 'lossless-json'
import { Atom, Float, Link, emptyMessage, type Message, type Value } from './value.ts'
import { fromB64, toB64, tryUtf8, compareUtf8 } from './bytes.ts'
import { InvalidTypedJson } from './errors.ts'

/** Extra node kinds that appear in parsed paths. */
export class As { constructor(readonly device: Value | Resolve, readonly msg: Value) {} }
export class Resolve { constructor(readonly messages: PathItem[]) {} }
export type PathItem = Value | As | Resolve

export function parseTypedJson(text: string): PathItem {
  let raw: unknown
  try {
    raw = losslessParse(text)
  } catch (e) {
    throw new InvalidTypedJson(`invalid JSON: ${(e as Error).message}`)
  }
  return fromJson(raw)
}

/** Convert a plain JSON value (numbers may be LosslessNumber or number) to a typed value. */
export function fromJson(j: unknown): PathItem {
  if (j === null || j === true || j === false) return j
  if (typeof j === 'string') return j
  if (typeof j === 'number') {
    if (!Number.isInteger(j)) throw new InvalidTypedJson(`bare number ${j} is not an integer; write {"@float": "${j}"}`)
    return BigInt(j)
  }
  if (isLosslessNumber(j)) {
    const s = (j as LosslessNumber).value
    if (!/^-?\d+$/.test(s)) throw new InvalidTypedJson(`bare number ${s} is not an integer; write {"@float": "${s}"}`)
    return BigInt(s)
  }
  if (Array.isArray(j)) return j.map((x) => fromJson(x)) as Value[]
  if (typeof j === 'object') {
    const o = j as Record<string, unknown>
    const keys = Object.keys(o)
    if (keys.length === 1 && keys[0]!.startsWith('@')) {
      const k = keys[0]!
      const v = o[k]
      switch (k) {
        case '@float': {
          const s = isLosslessNumber(v) ? (v as LosslessNumber).value : typeof v === 'number' ? String(v) : v
          if (typeof s !== 'string') throw new InvalidTypedJson('@float takes a string')
          const x = Number(s)
          if (!Number.isFinite(x) || s.trim() === '') throw new InvalidTypedJson(`@float: not a number: ${s}`)
          return new Float(x)
        }
        case '@atom':
          if (typeof v !== 'string') throw new InvalidTypedJson('@atom takes a string')
          return v === 'true' ? true : v === 'false' ? false : v === 'null' ? null : new Atom(v)
        case '@b64':
          if (typeof v !== 'string') throw new InvalidTypedJson('@b64 takes a string')
          return fromB64(v)
        case '@link':
          if (typeof v !== 'string') throw new InvalidTypedJson('@link takes a string')
          return new Link(v)
        case '@as': {
          if (!Array.isArray(v) || v.length !== 2) throw new InvalidTypedJson('@as takes [device, msg]')
          return new As(fromJson(v[0]) as Value, fromJson(v[1]) as Value)
        }
        case '@resolve':
          if (!Array.isArray(v)) throw new InvalidTypedJson('@resolve takes a list')
          return new Resolve(v.map((x) => fromJson(x)))
      }
    }
    const m: Message = emptyMessage()
    for (const key of keys) m[key] = fromJson(o[key]) as Value
    return m
  }
  throw new InvalidTypedJson(`unsupported JSON value: ${String(j)}`)
}

/** Render a typed value as JSON text: keys sorted bytewise, integers exact. */
export function stringifyTyped(v: PathItem, indent?: number): string {
  return render(v, indent ?? 0, '')
}

function render(v: PathItem, indent: number, pad: string): string {
  if (v === null) return 'null'
  if (v === true) return 'true'
  if (v === false) return 'false'
  if (typeof v === 'string') return JSON.stringify(v)
  if (typeof v === 'bigint') return v.toString()
  if (v instanceof Uint8Array) {
    const s = tryUtf8(v)
    return s === null ? `{"@b64":${JSON.stringify(toB64(v))}}` : JSON.stringify(s)
  }
  if (v instanceof Float) return `{"@float":${JSON.stringify(floatText(v.value))}}`
  if (v instanceof Atom) return `{"@atom":${JSON.stringify(v.name)}}`
  if (v instanceof Link) return `{"@link":${JSON.stringify(v.id)}}`
  const inner = indent > 0 ? pad + ' '.repeat(indent) : ''
  const open = (items: string[], o: string, c: string): string => {
    if (items.length === 0) return o + c
    if (indent === 0) return o + items.join(',') + c
    return `${o}\n${inner}${items.join(`,\n${inner}`)}\n${pad}${c}`
  }
  const sep = indent > 0 ? ': ' : ':'
  if (v instanceof As || v instanceof Resolve) {
    // `{"@as": [...]}` / `{"@resolve": [...]}`, laid out like any one-key object.
    const deeper = indent > 0 ? inner + ' '.repeat(indent) : ''
    const items = v instanceof As ? [v.device, v.msg] : v.messages
    const list = items.length === 0 ? '[]' : indent === 0 ? '[' + items.map((m) => render(m, 0, '')).join(',') + ']'
      : `[\n${deeper}${items.map((m) => render(m, indent, deeper)).join(`,\n${deeper}`)}\n${inner}]`
    return open([`"${v instanceof As ? '@as' : '@resolve'}"${sep}${list}`], '{', '}')
  }
  if (Array.isArray(v)) return open(v.map((x) => render(x, indent, inner)), '[', ']')
  if (typeof v === 'object') {
    const keys = Object.keys(v).sort(compareUtf8)
    return open(keys.map((k) => `${JSON.stringify(k)}${sep}${render((v as Message)[k]!, indent, inner)}`), '{', '}')
  }
  throw new InvalidTypedJson(`cannot render ${typeof v}`)
}

/** Shortest round-trip text, always with a decimal point or exponent (as the vectors write it). */
function floatText(x: number): string {
  if (Number.isInteger(x) && Math.abs(x) < 1e21) return x.toFixed(1)
  const s = String(x)
  return s.replace(/e\+?/, 'e')
}
