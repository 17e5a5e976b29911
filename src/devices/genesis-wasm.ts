/**
 * genesis-wasm@1.0: the execution device that `@permaweb/aoconnect` names
 * when it spawns a process in its HyperBEAM (mainnet) mode
 * (`execution-device: genesis-wasm@1.0`, `module: <ID>`).
 *
 * HyperBEAM's dev_genesis_wasm does not execute anything itself: it relays
 * each slot to a genesis-wasm compute unit (a separate Node service) through
 * dev_delegated_compute, and keeps the CU's JSON answer. This node has no CU.
 * It runs the module locally instead, and only Lua modules for now:
 *
 *   - the process's `module` (an ID, a link or a module message) is read from
 *     the store; a module whose `content-type` is `application/lua` or
 *     `text/x-lua` runs on lua@5.3a: every key (init, compute, normalize,
 *     snapshot, …) is resolved by lua@5.3a on the same state, and the
 *     answer keeps naming genesis-wasm@1.0 so process@1.0 swaps its device back;
 *   - any other module (a WebAssembly aos image, `application/wasm`) is refused
 *     with GenesisWasmUnsupported (501): WASM execution is a later issue;
 *   - a module the store does not hold is refused with GenesisWasmModuleMissing
 *     (404): HyperBEAM's CU would fetch it from Arweave, this node cannot.
 *
 * After `compute`, `results/raw` is added: the result as the legacy CU's JSON
 * document ({Output, Messages, Spawns, Assignments, Error?}), built from the Lua
 * results (`output`, `outbox`, `spawns`, `assignments`, `error`). aoconnect's
 * mainnet `result`, `results`, `dryrun` and `message` (fullResponse) read
 * exactly that key (normalizeOutput: `jsonRes.raw`); without it every answer
 * reads as empty. A script that sets `results/raw` itself keeps its own.
 *
 * `dryrun` (what aoconnect's `dryrun` reaches, see src/node/http.ts): the
 * request, without `path`/`method`/`process`, is computed as the body of the
 * slot after the newest one of process `process`, on a copy of its state in a
 * VM of its own (its newest snapshot, then the assignments since replayed, at
 * most `process_cache_frequency` of them), so that the process's live VM does
 * not move on; nothing is scheduled or stored. The answer is that slot's
 * `results` (with `raw`).
 */
import { binaryText, emptyMessage, Float, isMessage, Link, message, toInt, type Message, type Value } from '../core/value.ts'
import { toB64Url } from '../core/bytes.ts'
import { error, ok, type Device, type Outcome, type ResolveContext } from '../core/device.ts'
import { directGet } from '../core/resolver.ts'
import { isIdShaped, normalizeKey } from '../core/keys.ts'
import { As } from '../core/typed-json.ts'
import { AoError, BadInput } from '../core/errors.ts'
import { numberedToList } from '../codecs/structured.ts'
import { isNumberedMessage } from '../lua/codec.ts'
import { setKeysPlain } from './stack.ts'
import { ensureProcessKey } from './process.ts'
import { latestResult } from './process-cache.ts'
import { readAssignment } from './scheduler.ts'
import { getSnapshot, isSnapshotMessage } from '../snapshot/snapshot.ts'

export const GENESIS_WASM = 'genesis-wasm@1.0'
const LUA = 'lua@5.3a'
const PROCESS = 'process@1.0'
const INTERNAL: Partial<ResolveContext> = { hashpath: 'ignore', cacheControl: ['no-cache', 'no-store'] }

/** The process's module is not Lua (a WASM image): this node cannot run it yet. */
export class GenesisWasmUnsupported extends AoError { static override status = 501 }
/** The process's module is not in this node's store. */
export class GenesisWasmModuleMissing extends AoError { static override status = 404 }

const text = binaryText

type Kind = 'lua' | { unsupported: string }
/** Module ID → its kind (a module under an ID never changes). */
const kinds = new Map<string, Kind>()
const MAX_KINDS = 1024

function kindOfMessage(m: Message): Kind {
  const ct = (text(directGet(m, 'content-type')) ?? '').toLowerCase()
  if (ct === 'application/lua' || ct === 'text/x-lua') return 'lua'
  return { unsupported: ct === '' ? 'no content-type' : `content-type ${ct}` }
}

async function kindOf(mod: Value, ctx: ResolveContext): Promise<Kind> {
  if (isMessage(mod) && directGet(mod, 'content-type') !== undefined) return kindOfMessage(mod)
  if (isMessage(mod) || Array.isArray(mod)) {
    // Several modules (as lua@5.3a reads them): all of them must be Lua.
    const list = Array.isArray(mod) ? mod : isNumberedMessage(mod) ? numberedToList(mod) : Object.values(mod)
    for (const m of list) {
      const k = await kindOf(m, ctx)
      if (k !== 'lua') return k
    }
    return 'lua'
  }
  const id = mod instanceof Link ? mod.id : typeof mod === 'string' && isIdShaped(mod) ? mod : undefined
  if (id === undefined) return { unsupported: 'an inline module that is not a message' }
  const known = kinds.get(id)
  if (known) return known
  const got = ctx.store ? await ctx.store.read(id) : undefined
  if (got === undefined) {
    throw new GenesisWasmModuleMissing(`${GENESIS_WASM}: module ${id} is not on this node (HyperBEAM's compute unit would fetch it from Arweave; store it on this node first)`)
  }
  const kind = isMessage(got) ? kindOfMessage(got) : { unsupported: 'a bare binary without content-type' }
  if (kinds.size >= MAX_KINDS) kinds.clear()
  kinds.set(id, kind)
  return kind
}

/** Resolve `req` with lua@5.3a on the state; the answer names genesis-wasm@1.0 again. */
async function onLua(key: string, base: Message, req: Message, ctx: ResolveContext): Promise<Outcome> {
  const mod = directGet(base, 'module')
  if (mod === undefined) throw new BadInput(`${GENESIS_WASM}: the process names no \`module\``)
  const kind = await kindOf(mod, ctx)
  if (kind !== 'lua') {
    throw new GenesisWasmUnsupported(`${GENESIS_WASM}: the module is not Lua (${kind.unsupported}); this node runs Lua modules only, WASM execution is not implemented`)
  }
  const o = await ctx.resolve(setKeysPlain(base, { device: LUA }), setKeysPlain(req, { path: key }), { hashpath: 'ignore' })
  if (o.status !== 'ok' || !isMessage(o.value)) return o
  let out = o.value
  if (text(directGet(out, 'device')) === LUA) out = setKeysPlain(out, { device: directGet(base, 'device') ?? GENESIS_WASM })
  if (key === 'compute') out = withRaw(out)
  return ok(out)
}

// ---------------------------------------------------------------- results/raw

/** HyperBEAM's header_case_string: `x-reference` → `X-Reference`. */
const headerCase = (k: string): string => k.split('-').map((w) => (w === '' ? w : w[0]!.toUpperCase() + w.slice(1))).join('-')

function scalarText(v: Value): string | undefined {
  if (typeof v === 'string') return v
  if (typeof v === 'bigint' || typeof v === 'boolean') return String(v)
  return text(v)
}

const listOf = (v: Value | undefined): Value[] => (Array.isArray(v) ? v : isMessage(v) ? numberedToList(v) : [])

/** A value as plain JSON data: the CU's JSON has strings where AO-Core has integers. */
function toJson(v: Value | undefined): unknown {
  if (v === undefined || v === null) return null
  if (typeof v === 'string' || typeof v === 'boolean') return v
  if (typeof v === 'bigint') return String(v)
  if (v instanceof Float) return v.value
  if (v instanceof Link) return v.id
  if (v instanceof Uint8Array) return text(v) ?? toB64Url(v)
  if (Array.isArray(v)) return v.map(toJson)
  if (isMessage(v)) {
    if (isNumberedMessage(v)) return numberedToList(v).map(toJson)
    const out: Record<string, unknown> = {}
    for (const k of Object.keys(v)) if (k !== 'priv' && k !== 'commitments') out[k] = toJson(v[k])
    return out
  }
  return text(v) ?? String(v)
}

/** An outbox message as the legacy CU lists it: Target, Anchor, Data and the rest as Tags. */
function legacyMessage(v: Value): unknown {
  if (!isMessage(v)) return toJson(v)
  const out: Record<string, unknown> = {}
  const tags: Array<{ name: string; value: string }> = []
  for (const k of Object.keys(v)) {
    if (k === 'commitments' || k === 'priv') continue
    const val = v[k]!
    if (k === 'target') out['Target'] = toJson(val)
    else if (k === 'anchor') out['Anchor'] = toJson(val)
    else if (k === 'data' || k === 'body') out['Data'] = toJson(val)
    else {
      const t = scalarText(val)
      if (t !== undefined) tags.push({ name: headerCase(k), value: t })
    }
  }
  out['Tags'] = tags
  if (!('Data' in out)) out['Data'] = ''
  return out
}

/**
 * `results/raw`: the legacy CU result as a JSON document, held as HyperBEAM
 * holds the CU's answer (`{content-type: application/json, body}`); the
 * json@1.0 reply embeds it as JSON (src/node/http.ts), so aoconnect reads
 * `raw.Output`, `raw.Messages`, … with their legacy capitalization.
 */
export function legacyResult(results: Message): Message {
  const raw: Record<string, unknown> = {
    Output: toJson(directGet(results, 'output') ?? message({})),
    Messages: listOf(directGet(results, 'outbox')).map(legacyMessage),
    Spawns: listOf(directGet(results, 'spawns')).map(legacyMessage),
    Assignments: listOf(directGet(results, 'assignments')).map(toJson),
  }
  const err = directGet(results, 'error')
  if (err !== undefined) raw['Error'] = toJson(err)
  return message({ 'content-type': 'application/json', body: JSON.stringify(raw) })
}

function withRaw(state: Message): Message {
  const results = directGet(state, 'results')
  if (!isMessage(results) || directGet(results, 'raw') !== undefined) return state
  return setKeysPlain(state, { results: setKeysPlain(results, { raw: legacyResult(results) }) })
}

// ---------------------------------------------------------------- dryrun

const NOT_IN_DRYRUN_BODY = new Set(['path', 'method', 'process', 'accept-bundle', 'require-codec', 'accept-codec'])

const withoutKeys = (m: Message, drop: string[]): Message => {
  const out = emptyMessage()
  for (const k of Object.keys(m)) if (!drop.includes(k)) out[k] = m[k]!
  return out
}

/**
 * The process's state at `target` in a VM of its own: from its newest
 * snapshot at or below `target` (else `init`), then its assignments replayed
 * up to `target`. process@1.0 keeps its live VM to itself, and a dryrun must
 * not move that VM on.
 */
async function privateState(pid: string, target: bigint, exec: string, ctx: ResolveContext): Promise<Outcome> {
  const store = ctx.store
  if (!store) throw new BadInput(`${GENESIS_WASM}/dryrun needs a store`)
  const asExec = (m: Message) => setKeysPlain(m, { device: exec })
  let state: Message | undefined
  let slot = -1n
  const snap = await latestResult(store, pid, { limit: target, snapshot: true })
  let ref = snap ? directGet(snap.msg, 'snapshot') : undefined
  if (snap && isSnapshotMessage(ref) && ctx.capabilities.blocks) ref = await getSnapshot(ctx.capabilities.blocks, ref)
  if (snap && isMessage(ref) && !isSnapshotMessage(ref)) {
    const o = await ctx.resolve(asExec(setKeysPlain(withoutKeys(snap.msg, ['priv']), { snapshot: ref })), message({ path: 'normalize' }), INTERNAL)
    if (o.status !== 'ok' || !isMessage(o.value)) return o
    state = withoutKeys(o.value, ['snapshot'])
    slot = snap.slot
  } else {
    const proc = await store.read(pid)
    if (!isMessage(proc)) throw new GenesisWasmModuleMissing(`${GENESIS_WASM}/dryrun: process ${pid} is not on this node`)
    const o = await ctx.resolve(asExec(await ensureProcessKey(setKeysPlain(proc, { device: PROCESS }), ctx)), message({ path: 'init' }), INTERNAL)
    if (o.status !== 'ok' || !isMessage(o.value)) return o
    state = o.value
  }
  for (let s = slot + 1n; s <= target; s++) {
    const a = await readAssignment(store, pid, s)
    if (!a) return error(message({ status: 404n, body: `${GENESIS_WASM}/dryrun: no assignment for slot ${s} of ${pid}` }))
    const input = directGet(a, 'path') === undefined ? setKeysPlain(a, { path: 'compute' }) : a
    const o = await ctx.resolve(asExec(withoutKeys(state, ['results'])), input, INTERNAL)
    if (o.status !== 'ok' || !isMessage(o.value)) return o
    state = o.value
  }
  return ok(setKeysPlain(state, { 'at-slot': target }))
}

async function dryrun(req: Message, ctx: ResolveContext): Promise<Outcome> {
  const pid = text(directGet(req, 'process'))
  if (pid === undefined || !isIdShaped(pid)) throw new BadInput(`${GENESIS_WASM}/dryrun needs \`process\`, the ID of a process`)
  // The newest state, computed if need be: it names the slot to run after.
  const now = await ctx.resolve(new As(PROCESS, pid), message({ path: 'now' }), INTERNAL)
  if (now.status !== 'ok' || !isMessage(now.value)) return now
  const target = toInt(directGet(now.value, 'at-slot'))
  if (target === undefined) return error(message({ status: 500n, body: `${GENESIS_WASM}/dryrun: the state of ${pid} names no slot` }))
  const exec = text(directGet(now.value, 'execution-device')) ?? GENESIS_WASM
  const own = await privateState(pid, target, exec, ctx)
  if (own.status !== 'ok' || !isMessage(own.value)) return own
  const body = emptyMessage()
  for (const k of Object.keys(req)) if (!NOT_IN_DRYRUN_BODY.has(k)) body[k] = req[k]!
  const input = message({ path: 'compute', slot: target + 1n, body, dryrun: true })
  const c = await ctx.resolve(setKeysPlain(withoutKeys(own.value, ['results']), { device: exec }), input, INTERNAL)
  if (c.status !== 'ok' || !isMessage(c.value)) return c
  const results = directGet(withRaw(c.value), 'results')
  return isMessage(results) ? ok(results) : error(message({ status: 500n, body: `${GENESIS_WASM}/dryrun: the computation gave no results` }))
}

export const genesisWasmDevice: Device = {
  name: GENESIS_WASM,
  // As lua@5.3a: keys the state has are plain gets (message@1.0).
  info: (base) => ({
    default: (key, b, req, ctx) => onLua(key, b, req, ctx),
    excludes: ['keys', 'set', 'remove', 'encode', 'decode', ...Object.keys(base).map((k) => normalizeKey(k))],
  }),
  keys: {
    dryrun: (_base, req, ctx) => dryrun(req, ctx),
  },
}
