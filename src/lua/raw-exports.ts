/**
 * The raw exports of wasmoon's wasm instances. wasmoon 1.16's emscripten
 * build wraps every exported C function in an assertion wrapper (two template
 * strings and an `apply` per call), which costs more than the Lua C API call
 * it wraps; value marshalling makes several such calls per element. The
 * wrapper's target, `instance.exports`, is not reachable from the module
 * object, so the first VM installs a pass-through hook on
 * WebAssembly.instantiate / instantiateStreaming that remembers the exports of
 * instances that look like Lua; a VM then takes the one whose memory is its
 * module's. If none matches (another loader, another build), the wrapped
 * functions are used: slower, the same results.
 */
import type { LuaApi } from './marshal.ts'

type Exports = WebAssembly.Exports & { memory?: WebAssembly.Memory }

const recent: Exports[] = []
let installed = false

function remember(result: unknown): void {
  const inst = (result as { instance?: WebAssembly.Instance }).instance ?? result
  const exports = (inst as WebAssembly.Instance | undefined)?.exports as Exports | undefined
  if (!exports || typeof exports['lua_next'] !== 'function' || !(exports.memory instanceof WebAssembly.Memory)) return
  recent.push(exports)
  if (recent.length > 16) recent.shift()
}

/** Start remembering Lua instances (idempotent). */
export function watchLuaInstances(): void {
  if (installed || typeof WebAssembly === 'undefined') return
  installed = true
  const wa = WebAssembly as unknown as Record<string, unknown>
  for (const name of ['instantiate', 'instantiateStreaming'] as const) {
    const original = wa[name] as ((...a: unknown[]) => Promise<unknown>) | undefined
    if (typeof original !== 'function') continue
    wa[name] = function (this: unknown, ...args: unknown[]) {
      return original.apply(this, args).then((r) => { remember(r); return r })
    }
  }
}

/** The C functions LuaApi names (its `_`-prefixed members). */
type ApiFunction = Extract<keyof LuaApi, `_${string}`> extends `_${infer F}` ? F : never

const API_FUNCTIONS = [
  'lua_gettop', 'lua_settop', 'lua_checkstack', 'lua_pushvalue', 'lua_type', 'lua_toboolean', 'lua_isinteger',
  'lua_tointegerx', 'lua_tonumberx', 'lua_tolstring', 'lua_topointer', 'lua_next', 'lua_pushnil', 'lua_pushboolean',
  'lua_pushinteger', 'lua_pushnumber', 'lua_pushlstring', 'lua_createtable', 'lua_rawset', 'lua_rawseti',
  'lua_setfield', 'lua_getfield', 'lua_rawgeti', 'lua_pcallk', 'lua_sethook', 'lua_tothread', 'lua_isyieldable',
  'lua_yieldk', 'lua_error', 'lua_pushcclosure', 'malloc', 'free',
] as const satisfies readonly ApiFunction[]

// The compiler checks the list against the interface: a function LuaApi adds
// and the list lacks makes this line an error (TypeScript cannot enumerate an
// interface at run time, so the list is kept by hand).
const listsEveryFunction: [Exclude<ApiFunction, typeof API_FUNCTIONS[number]>] extends [never] ? true : never = true
void listsEveryFunction

/**
 * The C API for a wasmoon module: its raw exports when this module's instance
 * was seen, else the module's own (wrapped) functions. HEAPU8/HEAPU32 are
 * always read from the module, which renews them when memory grows.
 */
export function luaApi(mod: object): LuaApi {
  const m = mod as Record<string, unknown> & { HEAPU8: Uint8Array }
  const i = recent.findIndex((e) => e.memory!.buffer === m.HEAPU8.buffer)
  const raw = i >= 0 ? recent.splice(i, 1)[0]! : undefined
  const api: Record<string, unknown> = {}
  for (const f of API_FUNCTIONS) api['_' + f] = raw ? raw[f] : m['_' + f]
  // wasmoon's allocator (traceAllocations, how the memory limit is kept) is a
  // JS function that calls module._realloc / _free on every Lua allocation:
  // pointed at the raw exports, those calls skip the assertion wrapper too.
  if (raw && typeof raw['realloc'] === 'function' && typeof raw['free'] === 'function' && typeof raw['malloc'] === 'function') {
    m['_realloc'] = raw['realloc']
    m['_free'] = raw['free']
    m['_malloc'] = raw['malloc']
  }
  Object.defineProperty(api, 'HEAPU8', { get: () => m['HEAPU8'] })
  Object.defineProperty(api, 'HEAPU32', { get: () => m['HEAPU32'] })
  Object.defineProperty(api, 'raw', { value: raw !== undefined })
  return api as unknown as LuaApi
}
