/** Minimal assertions that work in Node and in a browser worker. */
import { stringifyTyped } from '../../src/core/typed-json.ts'
import type { Value } from '../../src/core/value.ts'

export class AssertionFailed extends Error { override name = 'AssertionFailed' }

const show = (v: unknown): string => {
  try { return stringifyTyped(v as Value) } catch { return String(v) }
}

export function equal(actual: unknown, expected: unknown, what = 'value'): void {
  if (actual !== expected) throw new AssertionFailed(`${what}: expected ${show(expected)}, got ${show(actual)}`)
}

/** Deep equality through the typed-JSON rendering (type-exact: 1 ≠ 1.0 ≠ "1"). */
export function deepEqual(actual: unknown, expected: unknown, what = 'value'): void {
  const a = show(actual)
  const e = show(expected)
  if (a !== e) throw new AssertionFailed(`${what}:\n  expected ${e}\n  got      ${a}`)
}

export function ok(cond: unknown, what = 'condition'): void {
  if (!cond) throw new AssertionFailed(`${what} is not true`)
}

export async function rejects(f: () => unknown, errorName?: string, what = 'call'): Promise<Error> {
  try {
    await f()
  } catch (e) {
    if (errorName && !(e instanceof Error && (e.name === errorName || hasAncestor(e, errorName)))) {
      throw new AssertionFailed(`${what}: expected ${errorName}, got ${(e as Error)?.name}: ${(e as Error)?.message}`)
    }
    return e as Error
  }
  throw new AssertionFailed(`${what}: expected an error, none thrown`)
}

function hasAncestor(e: Error, name: string): boolean {
  let p = Object.getPrototypeOf(e)
  while (p && p !== Error.prototype) {
    if (p.constructor?.name === name) return true
    p = Object.getPrototypeOf(p)
  }
  return false
}
