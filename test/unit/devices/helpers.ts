/** Shared pieces of the device tests: wallets, a context over the preloaded devices, vectors. */
import { expect } from 'vitest'
import { createContext, resolve, resolvePath, type ContextOptions } from '../../../src/core/ao.ts'
import { preloadedDevices, DeviceRegistry, PRELOADED } from '../../../src/devices/index.ts'
import { MemoryStore } from '../../../src/store/memory.ts'
import { emptyMessage, isMessage, message, type Message, type Value } from '../../../src/core/value.ts'
import type { Device, Outcome, ResolveContext } from '../../../src/core/device.ts'
import { stringifyTyped, type PathItem } from '../../../src/core/typed-json.ts'
import { loadJwk, type Wallet } from '../../../src/crypto/wallet.ts'
import { category } from '../../vectors/oracle.ts'
import { nodeFixtures } from '../node-fixtures.ts'

export const KEY1 = 'hyperbeam-data/test/key-1.json'
export const KEY2 = 'hyperbeam-data/test/key-2.json'

let walletsP: Promise<[Wallet, Wallet]> | undefined
/** key-1 (the operator / writer) and key-2 (someone else). */
export function wallets(): Promise<[Wallet, Wallet]> {
  walletsP ??= Promise.all([
    nodeFixtures.json(KEY1).then((j) => loadJwk(j)),
    nodeFixtures.json(KEY2).then((j) => loadJwk(j)),
  ])
  return walletsP
}

export const vectors = (name: string): Promise<any[]> => category(nodeFixtures, name)

/** A context over the preloaded devices (plus extra ones) with a fresh memory store. */
export function context(o: Partial<ContextOptions> & { extra?: Device[] } = {}): ResolveContext {
  const devices = o.extra ? new DeviceRegistry([...PRELOADED, ...o.extra]) : preloadedDevices()
  return createContext({ store: new MemoryStore(), ...o, devices })
}

/** A value as typed JSON, for failure messages. */
export function show(v: unknown): string {
  try { return stringifyTyped(v as PathItem) } catch { return String(v) }
}

/** Resolve a HyperPATH (text or request message) and expect an ok value. */
export async function pathValue(path: string | Message, ctx: ResolveContext): Promise<Value> {
  const o = await resolvePath(path, ctx)
  expect(o.status, show(o.value)).toBe('ok')
  return o.value as Value
}

/** Resolve base × request and expect an ok value. */
export async function value(base: PathItem, req: PathItem | string, ctx: ResolveContext): Promise<Value> {
  const o = await resolve(base, req, ctx)
  expect(o.status, show(o.value)).toBe('ok')
  return o.value as Value
}

export const run = (base: PathItem, req: PathItem | string, ctx: ResolveContext): Promise<Outcome> => resolve(base, req, ctx)

/** A result without the resolver's private `priv` (hashpath). */
export function pub(v: unknown): Message {
  if (!isMessage(v)) throw new Error(`expected a message, got ${show(v)}`)
  const m = emptyMessage()
  for (const k of Object.keys(v as Message)) if (k !== 'priv') m[k] = (v as Message)[k]!
  return m
}

/** A copy with more keys. */
export const withKeys = (m: Message, extra: Record<string, Value>): Message => {
  const out = emptyMessage()
  for (const k of Object.keys(m)) out[k] = m[k]!
  for (const k of Object.keys(extra)) out[k] = extra[k]!
  return out
}

/** Vector commitments write `committed` as a list; ours is a numbered map. */
export function numberCommitted(comms: Message): Message {
  for (const id of Object.keys(comms)) {
    const c = comms[id] as Message
    const list = c['committed']
    if (Array.isArray(list)) {
      const m = emptyMessage()
      list.forEach((k, i) => { m[String(i + 1)] = k })
      c['committed'] = m
    }
  }
  return comms
}

/** An AoError thrown by a promise: its class name and HTTP status. */
export async function thrown(p: Promise<unknown>): Promise<{ name: string; status: number; message: string }> {
  try {
    await p
  } catch (e) {
    const err = e as Error & { status?: number }
    return { name: err.name, status: err.status ?? 0, message: err.message }
  }
  throw new Error('expected the promise to reject')
}

export { message }
