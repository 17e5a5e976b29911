/**
 * lua@5.3a (spec §4.5; HyperBEAM's dev_lua + dev_lua_lib): calls a Lua
 * function named by the request's key on a VM holding the base's modules.
 * HyperBEAM runs Lua 5.3 on luerl; this node runs Lua 5.4 on wasmoon, made
 * deterministic (src/lua/vm.ts). Differences a script can see: docs/lua.md.
 *
 * - Every key that is not in the base (and not keys/set/encode/decode) calls
 *   the Lua global function of that name: `compute(base, req, opts)` by default.
 * - Function: request `body/function`, request `function`, base `function`, else the key.
 *   Parameters: `body/parameters`, `parameters`, base `parameters`, else
 *   `[base without priv, request, {}]`.
 * - `return x` is `ok, x`; `return status, x` names the status. A message result gets
 *   `priv` back with the new VM state at `priv/state`.
 * - `snapshot` gives `{body: <portable state>}`; `normalize` restores it from
 *   `snapshot/<device-key>/body` or `snapshot/body` when `priv/state` is missing.
 */
import { binaryText, toInt } from '../core/value.ts'
import { emptyMessage, isMessage, Link, message, type Message, type Value } from '../core/value.ts'
import { error, ok, type Device, type DeviceLookup, type KeyHandler, type Outcome, type ResolveContext, type Status } from '../core/device.ts'
import { isIdShaped, isPrivateKey, normalizeKey } from '../core/keys.ts'
import { directGet } from '../core/resolver.ts'
import { isImmutable, messageId } from '../core/id.ts'
import { parsePath } from '../core/path.ts'
import { pathPartsOf } from '../core/path-parts.ts'
import { As, type PathItem } from '../core/typed-json.ts'
import { getKey, resolveMany, setKeys } from '../core/ao.ts'
import { sha256 } from '../crypto/hash.ts'
import { hashpath } from '../core/hashpath.ts'
import { MessageNotFound } from '../core/errors.ts'
import { numberedToList } from '../codecs/structured.ts'
import { isNumberedMessage } from '../lua/codec.ts'
import {
  DEFAULT_LIMITS, LuaBadSnapshot, LuaLoadError, LuaStateUnavailable, LuaVM, type CallLimits,
} from '../lua/vm.ts'

/**
 * The live VM behind a message's `priv/state`; valid while no later call has
 * moved the VM on. It is an (empty) binary so that anything walking a message's
 * values (typed JSON, stores) sees a plain value: private keys are never
 * encoded, and a stored copy simply has no live state (normalize restores it).
 */
export class LuaStateHandle extends Uint8Array {
  static get [Symbol.species](): Uint8ArrayConstructor { return Uint8Array }
  constructor(readonly vm: LuaVM, readonly generation: number) { super(0) }
  get current(): boolean { return this.vm.generation === this.generation }
}

const LIBRARY = ['resolve', 'get', 'set', 'event']
const SNAPSHOT_MAGIC = 'ao-tab lua@5.3a snapshot 1 wasmoon-1.16.0\n'

/** HyperBEAM's default sandbox: these become the string "sandboxed". */
const DEFAULT_SANDBOX = [
  ['io'], ['file'], ['os', 'execute'], ['os', 'exit'], ['os', 'getenv'], ['os', 'remove'], ['os', 'rename'],
  ['os', 'tmpname'], ['package'], ['loadfile'], ['require'], ['dofile'], ['load'], ['loadstring'],
]

const text = binaryText

function copy(m: Message): Message {
  const out = emptyMessage()
  for (const k of Object.keys(m)) out[k] = m[k]!
  return out
}

function privOf(m: Message): Message {
  const p = m['priv']
  return isMessage(p) ? copy(p) : emptyMessage()
}

function handleOf(m: Message): LuaStateHandle | undefined {
  const p = m['priv']
  if (!isMessage(p)) return undefined
  const s = (p as Record<string, unknown>)['state']
  return s instanceof LuaStateHandle ? s : undefined
}

function withHandle(m: Message, priv: Message, h: LuaStateHandle): Message {
  const out = copy(m)
  const p = copy(priv)
  ;(p as Record<string, unknown>)['state'] = h
  out['priv'] = p
  return out
}

function withoutPriv(m: Message): Message {
  const out = emptyMessage()
  for (const k of Object.keys(m)) if (!isPrivateKey(normalizeKey(k))) out[k] = m[k]!
  return out
}

/** A deep value at a `/` path of a message, without resolution. */
function deepGet(m: Message, path: string): Value | undefined {
  let cur: Value | undefined = m
  for (const part of path.split('/')) {
    if (!isMessage(cur)) return undefined
    cur = directGet(cur, part)
  }
  return cur
}

/** The node's limits, read as src/node/options.ts checks them (toInt, any key case). */
function limitsOf(ctx: ResolveContext): CallLimits {
  const num = (key: string, d: number): number => {
    const n = toInt(directGet(ctx.node, key))
    return n === undefined || n < 0n ? d : Number(n)
  }
  return {
    instructions: num('lua_max_instructions', DEFAULT_LIMITS.instructions),
    memory: num('lua_max_memory', DEFAULT_LIMITS.memory),
  }
}

// ---------------------------------------------------------------- links

/** Frozen (immutable) values already walked and found to hold no Link. */
const LINK_FREE = new WeakSet<object>()

/** No Link anywhere in `v` (outside private keys): checked without awaiting per value. */
function linkFree(v: Value, depth: number): boolean {
  if (typeof v !== 'object' || v === null || v instanceof Uint8Array) return true
  if (v instanceof Link) return false
  if (depth > 100 || LINK_FREE.has(v)) return true
  if (Array.isArray(v)) {
    for (const x of v) if (!linkFree(x, depth + 1)) return false
  } else if (isMessage(v)) {
    for (const k of Object.keys(v)) if (!linkFree(v[k]!, depth + 1) && !isPrivateKey(normalizeKey(k))) return false
  } else return true
  if (isImmutable(v)) LINK_FREE.add(v)
  return true
}

async function loadLinks(v: Value, ctx: ResolveContext, depth = 0): Promise<Value> {
  if (depth > 100 || linkFree(v, depth)) return v
  if (typeof v === 'object' && v !== null && LINK_FREE.has(v)) return v
  if (v instanceof Link) {
    const got = ctx.store ? await ctx.store.read(v.id) : undefined
    if (got === undefined) throw new MessageNotFound(`linked message ${v.id} is not in this node's store`)
    return loadLinks(got as Value, ctx, depth + 1)
  }
  if (Array.isArray(v)) {
    let changed = false
    const out: Value[] = []
    for (const x of v) { const y = await loadLinks(x, ctx, depth + 1); if (y !== x) changed = true; out.push(y) }
    if (!changed && isImmutable(v)) LINK_FREE.add(v)
    return changed ? out : v
  }
  if (isMessage(v)) {
    let out: Message | undefined
    for (const k of Object.keys(v)) {
      if (isPrivateKey(normalizeKey(k))) continue
      const x = v[k]!
      const y = await loadLinks(x, ctx, depth + 1)
      if (y !== x) { out ??= copy(v); out[k] = y }
    }
    if (out === undefined && isImmutable(v)) LINK_FREE.add(v)
    return out ?? v
  }
  return v
}

// ---------------------------------------------------------------- modules

interface LuaModule { name: string; source: string | Uint8Array }

const isLuaType = (m: Message) => {
  const ct = text(directGet(m, 'content-type'))
  return ct === 'application/lua' || ct === 'text/x-lua'
}

async function findModules(base: Message, ctx: ResolveContext): Promise<LuaModule[] | Outcome> {
  const mod = directGet(base, 'module')
  if (mod === undefined) return error('no-modules-found')
  let list: Value[]
  if (Array.isArray(mod)) list = mod
  else if (isMessage(mod)) list = isLuaType(mod) ? [mod] : isNumberedMessage(mod) ? numberedToList(mod) : Object.values(mod)
  else list = [mod]
  const out: LuaModule[] = []
  for (const m of list) {
    const r = await loadModule(m, ctx)
    if ('status' in r) return r
    out.push(r)
  }
  return out
}

async function loadModule(m: Value, ctx: ResolveContext): Promise<LuaModule | Outcome> {
  const id = m instanceof Link ? m.id : typeof m === 'string' && isIdShaped(m) ? m : undefined
  if (id !== undefined) {
    const got = ctx.store ? await ctx.store.read(id) : undefined
    if (got === undefined) return error(message({ status: 404n, body: `Lua module '${id}' not found.` }))
    if (typeof got === 'string' || got instanceof Uint8Array) return { name: id, source: got }
    if (isMessage(got)) return loadModule(got, ctx)
    return error(message({ status: 404n, body: `Lua module '${id}' is not a module.` }))
  }
  // A binary that is not an ID: the source itself.
  if (typeof m === 'string' || m instanceof Uint8Array) return { name: 'module', source: m }
  if (isMessage(m)) {
    let src = directGet(m, 'body') ?? directGet(m, 'data')
    if (src instanceof Link) src = (await loadLinks(src, ctx)) as Value
    if (typeof src !== 'string' && !(src instanceof Uint8Array)) {
      return error(message({
        status: 404n,
        body: 'Lua module not loadable. Lua modules must have a `body` element set to a binary of the code to load.',
        module: m,
      }))
    }
    const name = text(directGet(m, 'name')) ?? messageId(m)
    return { name, source: src }
  }
  return error(message({ status: 404n, body: 'Lua module not loadable.' }))
}

function sandboxPaths(spec: Value): [string[], Value][] {
  const split = (p: string) => p.split(/[/.]/).filter((s) => s !== '' && s !== '_G')
  if (spec === true) return DEFAULT_SANDBOX.map((p) => [p, 'sandboxed'])
  if (Array.isArray(spec)) return spec.map((p) => [split(text(p) ?? ''), 'sandboxed'])
  if (isMessage(spec)) {
    if (isNumberedMessage(spec)) return numberedToList(spec).map((p) => [split(text(p) ?? ''), 'sandboxed'])
    return Object.keys(spec).map((k) => [split(k), spec[k]!])
  }
  return []
}

async function initialize(base: Message, ctx: ResolveContext): Promise<Message | Outcome> {
  const found = await findModules(base, ctx)
  if (!Array.isArray(found)) return found
  const vm = await LuaVM.create()
  const limits = limitsOf(ctx)
  for (const m of found) vm.loadModule(m.source, m.name, limits)
  const sandbox = directGet(base, 'sandbox')
  if (sandbox !== undefined && sandbox !== false) vm.sandbox(sandboxPaths(sandbox))
  vm.installLibrary(LIBRARY)
  return withHandle(base, privOf(base), new LuaStateHandle(vm, vm.generation))
}

/** The base with a live VM: as is, restored from its snapshot, or freshly initialized. */
async function ensureInitialized(base: Message, ctx: ResolveContext): Promise<Message | Outcome> {
  const h = handleOf(base)
  if (h?.current) return base
  // A state that is stale, or no longer live (a stored copy): restore, never silently start over.
  const hasState = isMessage(base['priv']) && (base['priv'] as Message)['state'] !== undefined
  if (h || hasState) {
    const restored = await restoreFromSnapshot(base, ctx)
    if (restored) return restored
    throw new LuaStateUnavailable('this message\'s Lua state has moved on (a later call used it) and it has no snapshot to restore')
  }
  return initialize(base, ctx)
}

// ---------------------------------------------------------------- snapshots

function snapshotBody(base: Message): Value | undefined {
  const key = text(directGet(base, 'device-key'))
  const snap = directGet(base, 'snapshot')
  if (!isMessage(snap)) return undefined
  if (key !== undefined) {
    const sub = directGet(snap, key)
    if (isMessage(sub) && directGet(sub, 'body') !== undefined) return directGet(sub, 'body')
  }
  return directGet(snap, 'body')
}

const utf8 = new TextEncoder()

async function restoreFromSnapshot(base: Message, ctx: ResolveContext): Promise<Message | undefined> {
  let body = snapshotBody(base)
  if (body instanceof Link) body = (await loadLinks(body, ctx)) as Value
  if (body === undefined) return undefined
  const bytes = typeof body === 'string' ? utf8.encode(body) : body instanceof Uint8Array ? body : undefined
  if (!bytes) throw new LuaBadSnapshot('the Lua snapshot body is not a binary')
  const magic = utf8.encode(SNAPSHOT_MAGIC)
  if (bytes.length < magic.length || magic.some((b, i) => bytes[i] !== b)) {
    throw new LuaBadSnapshot('not an ao-tab Lua snapshot (or one of another version)')
  }
  const vm = await LuaVM.create()
  vm.installLibrary(LIBRARY)
  vm.restore(bytes.subarray(magic.length))
  return withHandle(base, privOf(base), new LuaStateHandle(vm, vm.generation))
}

// ---------------------------------------------------------------- the ao library

function deviceSandbox(base: Message, all: DeviceLookup): DeviceLookup {
  const spec = directGet(base, 'device-sandbox')
  if (spec === undefined || spec === false) return all
  const list = Array.isArray(spec) ? spec : isMessage(spec) ? numberedToList(spec) : [spec]
  const allowed = new Set([...list.map((x) => (text(x) ?? '').toLowerCase()), 'structured@1.0'])
  return {
    get: (name) => (allowed.has(name.toLowerCase()) ? all.get(name) : undefined),
    names: () => all.names().filter((n) => allowed.has(n.toLowerCase())),
  }
}

function convertAs(v: Value): PathItem {
  if (Array.isArray(v) && v.length === 3 && v[0] === 'as') return new As(v[1]!, v[2]!)
  return v as PathItem
}

const statusText = (s: Status) => s

function hostFunctions(base: Message, ctx: ResolveContext): (op: string, args: Value[]) => Promise<Value[]> {
  const exec: ResolveContext = { ...ctx, devices: deviceSandbox(base, ctx.devices) }
  return async (op, args) => {
    switch (op) {
      case 'resolve': {
        let list: PathItem[]
        if (args.length === 1 && isMessage(args[0])) list = parsePath(args[0])
        else if (args.length === 2 && typeof args[1] === 'string') list = [convertAs(args[0]!), ...(pathPartsOf(args[1]) ?? [])]
        else if (args.length === 1 && Array.isArray(args[0])) list = args[0].map(convertAs)
        else list = args.map(convertAs)
        const o = await resolveMany(list, exec)
        return [statusText(o.status), o.value as Value]
      }
      case 'get': {
        const [key, target] = args
        const m = convertAs(target ?? emptyMessage())
        const k = text(key)
        if (k === undefined) return ['not_found']
        const v = isMessage(m) ? await getKey(m, k, exec) : undefined
        return [v === undefined ? 'not_found' : v]
      }
      case 'set': {
        const [target, key, value] = args
        if (!isMessage(target)) return ['error']
        const values = args.length >= 3 ? message({ [text(key) ?? '']: value! }) : isMessage(key) ? key : emptyMessage()
        return [await setKeys(target, values, exec)]
      }
      default:
        return ['error', `unknown ao function ${op}`]
    }
  }
}

// ---------------------------------------------------------------- calls

/**
 * math.random's seed for a call: SHA-256 of the function name and the
 * hashpath the call extends (the base's, and the request's part), which names
 * this computation on every node. (Hashing the encoded arguments instead cost
 * a pass over the whole process state, module included, on every slot.)
 */
function seedOf(fname: string, base: Message, req: Message): [bigint, bigint] {
  const h = sha256(utf8.encode(`${fname}\n${hashpath(base, req)}`))
  const v = new DataView(h.buffer, h.byteOffset, h.byteLength)
  return [v.getBigInt64(0, true), v.getBigInt64(8, true)]
}

/** os.time(): the request's `timestamp` (ms), else `block-timestamp` (s), also under `body`; else 0. */
function nowOf(req: Message): bigint {
  for (const m of [req, directGet(req, 'body')]) {
    if (!isMessage(m)) continue
    const ts = directGet(m, 'timestamp')
    const ms = typeof ts === 'bigint' ? ts : /^\d+$/.test(text(ts) ?? '') ? BigInt(text(ts)!) : undefined
    if (ms !== undefined) return ms / 1000n
    const bt = directGet(m, 'block-timestamp')
    const s = typeof bt === 'bigint' ? bt : /^\d+$/.test(text(bt) ?? '') ? BigInt(text(bt)!) : undefined
    if (s !== undefined) return s
  }
  return 0n
}

const STATUSES: Record<string, Status> = {
  ok: 'ok', error: 'error', created: 'created', not_found: 'not_found', failure: 'failure',
  unavailable: 'unavailable', skip: 'skip', pass: 'pass',
}

const compute: KeyHandler = async (key, rawBase, req, ctx) => {
  // The parameters first: they do not depend on the VM (only `priv` differs once it is live).
  const fname = text(deepGet(req, 'body/function') ?? directGet(req, 'function') ?? directGet(rawBase, 'function')) ?? key
  const rawParams = deepGet(req, 'body/parameters') ?? directGet(req, 'parameters') ?? directGet(rawBase, 'parameters')
  let params: Value[]
  if (rawParams === undefined) params = [withoutPriv(rawBase), req, emptyMessage()]
  else if (Array.isArray(rawParams)) params = rawParams
  else if (isMessage(rawParams) && (isNumberedMessage(rawParams) || Object.keys(rawParams).length === 0)) params = numberedToList(rawParams)
  else params = [rawParams]
  params = (await loadLinks(params, ctx)) as Value[]

  // Then the VM, with nothing awaited between finding it current and calling
  // it: two computes on one state cannot both run on its VM. One that finds
  // it moved on (another compute on the same state got there first) starts
  // from the state's snapshot, as any stale state does, or fails.
  let init = await ensureInitialized(rawBase, ctx)
  if (isMessage(init) && handleOf(init)?.current === false) init = await ensureInitialized(init, ctx)
  if (!isMessage(init) || !(handleOf(init) instanceof LuaStateHandle)) return init as Outcome
  const base = init
  const handle = handleOf(base)!
  if (!handle.current) throw new LuaStateUnavailable('this message\'s Lua state was moved on by another call while this one started')
  const oldPriv = privOf(base)

  const vm = handle.vm
  const res = await vm.call(fname, params, {
    seed: seedOf(fname, base, req),
    now: nowOf(req),
    limits: limitsOf(ctx),
    host: hostFunctions(base, ctx),
  })
  const next = new LuaStateHandle(vm, vm.generation)
  if (!res.ok) {
    return error(message({ status: 500n, body: res.error.body, trace: res.error.trace }))
  }
  // dev_lua:process_response takes one value (ok) or two (status, value); anything else fails there.
  const n = res.values.length
  if (n !== 1 && n !== 2) {
    return error(message({ status: 500n, body: `Lua function ${fname} returned ${n} values: it must return a result, or a status and a result` }))
  }
  let status: Status = 'ok'
  let value: Value
  if (n === 2) {
    const s = text(res.values[0])
    status = (s !== undefined && STATUSES[s]) || 'error'
    value = res.values[1]!
  } else value = res.values[0]!
  if (isMessage(value)) value = withHandle(value, oldPriv, next)
  return { status, value }
}

export const luaDevice: Device = {
  name: 'lua@5.3a',
  info: (base) => ({
    default: compute,
    excludes: ['keys', 'set', 'encode', 'decode', ...Object.keys(base).map((k) => normalizeKey(k))],
  }),
  keys: {
    init: async (base, _req, ctx) => {
      const r = await ensureInitialized(base, ctx)
      return isMessage(r) && handleOf(r) ? ok(r) : (r as Outcome)
    },
    functions: (base) => {
      const h = handleOf(base)
      if (!h) return error('not_found')
      return ok(h.vm.functions())
    },
    snapshot: (base) => {
      const h = handleOf(base)
      if (!h) return error('Cannot snapshot Lua state: state not initialized.')
      if (!h.current) throw new LuaStateUnavailable('this message\'s Lua state has moved on; snapshot the newest state')
      const state = h.vm.snapshot()
      const magic = utf8.encode(SNAPSHOT_MAGIC)
      const body = new Uint8Array(magic.length + state.length)
      body.set(magic)
      body.set(state, magic.length)
      return ok(message({ body }))
    },
    normalize: async (base, _req, ctx) => {
      const h = handleOf(base)
      if (h?.current) return ok(base)
      const restored = await restoreFromSnapshot(base, ctx)
      if (!restored) throw new LuaLoadError('no_lua_state_snapshot_found')
      return ok(restored)
    },
  },
}
