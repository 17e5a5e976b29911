/**
 * json@1.0 (spec §3.8): a TABM as JSON text (priv dropped); JSON back to a
 * message without adding types (numbers, booleans, null and arrays keep the
 * JSON meaning).
 */
import { isTabm, type Tabm } from './tabm.ts'
import { sortKeys, isPrivateKey } from '../core/keys.ts'
import { tryUtf8 } from '../core/bytes.ts'
import { InvalidJson, UnencodableValue } from '../core/errors.ts'
import { parse as losslessParse, isLosslessNumber, type LosslessNumber } from 'lossless-json'
import { Float, emptyMessage, type Message, type Value } from '../core/value.ts'

/** Encode a TABM as JSON, keys in sorted order (Erlang's order for maps of ≤ 32 keys). */
export function tabmToJson(t: Tabm): string {
  const keys = sortKeys(Object.keys(t).filter((k) => !isPrivateKey(k)))
  return '{' + keys.map((k) => JSON.stringify(k) + ':' + valueToJson(t[k]!)).join(',') + '}'
}

function valueToJson(v: Tabm[string]): string {
  if (isTabm(v)) return tabmToJson(v)
  if (typeof v === 'string') return JSON.stringify(v)
  const s = tryUtf8(v)
  if (s === null) throw new UnencodableValue('json@1.0 cannot encode bytes that are not UTF-8')
  return JSON.stringify(s)
}

/** Decode JSON text to a message. */
export function jsonToMessage(text: string): Message {
  let raw: unknown
  try {
    raw = losslessParse(text)
  } catch (e) {
    throw new InvalidJson(`invalid JSON: ${(e as Error).message}`)
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || isLosslessNumber(raw)) {
    throw new InvalidJson('json@1.0 expects a JSON object')
  }
  return convert(raw) as Message
}

function convert(j: unknown): Value {
  if (j === null || j === true || j === false || typeof j === 'string') return j as Value
  if (isLosslessNumber(j)) {
    const s = (j as LosslessNumber).value
    return /^-?\d+$/.test(s) ? BigInt(s) : new Float(Number(s))
  }
  if (Array.isArray(j)) return j.map(convert)
  const m = emptyMessage()
  for (const [k, v] of Object.entries(j as Record<string, unknown>)) m[k] = convert(v)
  return m
}
