/**
 * What a device is (spec §1.5): an object whose `keys` map HyperBEAM key
 * names (lower-case, `-` written as `_`, as HyperBEAM turns keys into Erlang
 * function atoms) to functions, plus an optional `info` with `exports`,
 * `excludes`, `handler` and `default`.
 *
 * A device function receives (base, request, context) and returns an
 * Outcome: a status and a value. Errors that stop a resolution are thrown
 * as AoError subclasses, which carry their HTTP status.
 */
import type { Message, Value } from './value.ts'
import type { Store } from '../store/store.ts'
import type { Blocks } from '../snapshot/blocks.ts'
import type { Wallet } from '../crypto/wallet.ts'
import type { PathItem } from './typed-json.ts'

export type Status = 'ok' | 'error' | 'created' | 'not_found' | 'failure' | 'unavailable' | 'skip' | 'pass'

export interface Outcome { status: Status; value: Value | PathItem }

export const ok = (value: Value | PathItem): Outcome => ({ status: 'ok', value })
export const error = (value: Value): Outcome => ({ status: 'error', value })
export const notFound = (value: Value = 'not_found'): Outcome => ({ status: 'not_found', value })

export type KeyFunction = (base: Message, req: Message, ctx: ResolveContext) => Outcome | Promise<Outcome>
export type KeyHandler = (key: string, base: Message, req: Message, ctx: ResolveContext) => Outcome | Promise<Outcome>

export interface DeviceInfo {
  /** Only these keys are exported (normalized names). */
  exports?: string[]
  /** These keys are not handled by the device. */
  excludes?: string[]
  /** Handles every exported key. */
  handler?: KeyHandler
  /** Handles exported keys that have no function: a handler, or another device to delegate to. */
  default?: KeyHandler | Device
}

export interface Device {
  /** The device's name, e.g. `message@1.0`. */
  readonly name: string
  info?: (base: Message, ctx: ResolveContext) => DeviceInfo
  keys: Record<string, KeyFunction>
}

/** The capabilities a device may use; given at composition time, never imported by devices. */
export interface Capabilities {
  /** HTTP requests to peers (relay@1.0). */
  fetch?: (input: Request) => Promise<Response>
  /**
   * SEV-SNP guest hardware (snp@1.0 generate): an attestation report (1184 bytes) over 64 bytes of
   * report data, with the certificates the host supplies, if any. Node only (src/snp/generate-node.ts).
   */
  snp?: (reportData: Uint8Array) => Promise<{ report: Uint8Array; certificates?: { vcek?: Uint8Array; vlek?: Uint8Array; ask?: Uint8Array; ark?: Uint8Array } }>
  /**
   * Content-addressed blocks for process snapshots (blockstore-fs in Node, blockstore-idb in the
   * browser): with them, process@1.0 stores each snapshot as blocks and keeps only its CID.
   */
  blocks?: Blocks
  /**
   * A message this node does not hold, looked for elsewhere (a node on a
   * network: a process its peers run, learnt by following it). `device` is the
   * device the path names for it (`/<id>~process@1.0/…`). Undefined: not found.
   */
  findMessage?: (id: string, device: string) => Promise<Message | undefined>
}

export type HashpathMode = 'update' | 'ignore'

/** Everything a resolution needs: the node's options and capabilities. */
export interface ResolveContext {
  devices: DeviceLookup
  /** The node message (HyperBEAM's Opts): configuration such as `cache_writers`, `routes`. */
  node: Message
  store?: Store
  wallet?: Wallet
  capabilities: Capabilities
  hashpath: HashpathMode
  /** Cache-control tokens of the node or the HTTP request (`always`, `no-store`, …). */
  cacheControl: string[]
  /** Groups (base × request) being resolved in this call chain: re-entering one is infinite recursion. */
  active: ReadonlySet<string>
  /** Resolve inside a device, with this context. */
  resolve(base: PathItem, req: PathItem | string, overrides?: Partial<ResolveContext>): Promise<Outcome>
}

export interface DeviceLookup {
  get(name: string): Device | undefined
  names(): string[]
}
