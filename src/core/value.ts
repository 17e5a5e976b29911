/**
 * The message model. Values must round-trip structured@1.0 exactly, so every
 * Erlang type that matters has its own JS shape:
 *
 *   binary   string (its UTF-8 bytes) or Uint8Array (bytes that are not UTF-8)
 *   integer  bigint (arbitrary size, as Erlang's)
 *   float    Float (a tagged double: `1` and `1.0` differ)
 *   atom     true / false / null, or Atom for any other name
 *   list     Value[]
 *   map      Message (a null-prototype object, so `__proto__` is a plain key)
 *   link     Link (a reference to a message by ID)
 */
import { utf8Lenient } from './bytes.ts'
export type Binary = string | Uint8Array
export type Value = Binary | bigint | Float | boolean | null | Atom | Link | Value[] | Message
export interface Message { [key: string]: Value }

/** A typed IEEE-754 double. */
export class Float {
  constructor(readonly value: number) {}
  toString(): string { return String(this.value) }
}

/** An Erlang atom other than true, false and null (which are JS booleans and null). */
export class Atom {
  constructor(readonly name: string) {}
  toString(): string { return this.name }
}

/** A reference to another message by its ID (HyperBEAM's `{link, ID, Opts}`). */
export class Link {
  constructor(readonly id: string, readonly type: 'link' = 'link') {}
  toString(): string { return this.id }
}

/** A new empty message: null prototype, so any key is an own data property. */
export function emptyMessage(): Message {
  return Object.create(null) as Message
}

/** Build a message from entries, keeping every key as a plain property. */
export function message(entries: Iterable<readonly [string, Value]> | Record<string, Value> = []): Message {
  const m = emptyMessage()
  const it = Symbol.iterator in (entries as object)
    ? (entries as Iterable<readonly [string, Value]>)
    : Object.entries(entries as Record<string, Value>)
  for (const [k, v] of it) m[k] = v
  return m
}

export const isBinary = (v: unknown): v is Binary => typeof v === 'string' || v instanceof Uint8Array
export function isMessage(v: unknown): v is Message {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) &&
    !(v instanceof Float) && !(v instanceof Atom) && !(v instanceof Link)
}

/** An atom from its name: true/false/null map to the JS values. */
export function atom(name: string): boolean | null | Atom {
  if (name === 'true') return true
  if (name === 'false') return false
  if (name === 'null') return null
  return new Atom(name)
}

export function atomName(v: boolean | null | Atom): string {
  return v === true ? 'true' : v === false ? 'false' : v === null ? 'null' : v.name
}

export const isAtom = (v: unknown): v is boolean | null | Atom =>
  v === true || v === false || v === null || v instanceof Atom

/** The text of a binary value (its UTF-8, invalid bytes replaced), else undefined. */
export function binaryText(v: unknown): string | undefined {
  return typeof v === 'string' ? v : v instanceof Uint8Array ? utf8Lenient(v) : undefined
}

/** hb_util:int: an integer from an integer or its decimal text (surrounding spaces allowed); undefined otherwise. */
export function toInt(v: unknown): bigint | undefined {
  if (typeof v === 'bigint') return v
  const t = binaryText(v)?.trim()
  if (t !== undefined && /^-?\d+$/.test(t)) return BigInt(t)
  return undefined
}

/** The text of a binary or of an atom other than true/false/null, else undefined. */
export function binaryOrAtomText(v: unknown): string | undefined {
  return v instanceof Atom ? v.name : binaryText(v)
}
