/**
 * One Lua 5.4 VM (wasmoon), made deterministic: every VM is its own wasm
 * instance, created with the clock stopped at 0, so Lua's string-hash seed and
 * its initial random state are the same on every machine and every run. The
 * prelude (src/lua/prelude.ts) sandboxes it, fixes `pairs` order, `os.time`,
 * `os.clock`, `math.random`, and runs calls in a coroutine so that `ao.*` can
 * await the host.
 *
 * Limits per call: instructions (a count hook: a runaway loop ends with
 * LuaInstructionLimit) and memory (wasmoon's allocator cap: LuaMemoryLimit).
 */
import { LuaEngine, LuaFactory, LUA_REGISTRYINDEX } from 'wasmoon'
import { AoError, BadInput } from '../core/errors.ts'
import { utf8Lenient } from '../core/bytes.ts'
import type { Value } from '../core/value.ts'
import { PRELUDE } from './prelude.ts'
import { decodeList, decodeValue, encodeList } from './codec.ts'
import { LuaMarshal, type LuaApi } from './marshal.ts'
import { luaApi, watchLuaInstances } from './raw-exports.ts'
import { luaWasmUrl } from './wasm-url.ts'
import { yieldToEventLoop } from '../core/yield.ts'

/** A Lua error raised by a script (HyperBEAM: `{error, #{status 500, body, trace}}`). */
export class LuaScriptError extends AoError {
  static override status = 500
  constructor(readonly body: Value, readonly trace: string) {
    super(typeof body === 'string' ? body : 'Lua error')
  }
}
/** A call ran more Lua instructions than its limit. */
export class LuaInstructionLimit extends AoError { static override status = 500 }
/** A VM grew past its memory limit. */
export class LuaMemoryLimit extends AoError { static override status = 500 }
/** A Lua state that cannot be used (not initialized, or moved on by a later call). */
export class LuaStateUnavailable extends AoError { static override status = 500 }
/** A module that does not compile or fails while loading. */
export class LuaLoadError extends AoError { static override status = 500 }
/** A snapshot that this node cannot restore. */
export class LuaBadSnapshot extends AoError { static override status = 400 }

export interface CallLimits {
  /** Lua VM instructions per call (counted in steps of 10,000). */
  instructions: number
  /** Bytes a call (or a module's loading) may add to what the VM holds when it starts. */
  memory: number
}
/** Instructions between two calls of the count hook, on a call's own coroutine. */
const COUNT_STEP = 10_000
/**
 * The same on coroutines a script resumes; each resume is charged this much
 * up front (a resume restarts the count, so a coroutine that ran fewer than a
 * step's instructions would otherwise run free).
 */
const CHILD_STEP = 1_000
const LUA_MASKCOUNT = 1 << 3

export const DEFAULT_LIMITS: CallLimits = { instructions: 100_000_000, memory: 256 * 1024 * 1024 }

export interface CallEnv {
  /** Two 64-bit seeds for math.random. */
  seed: [bigint, bigint]
  /** What os.time() returns (seconds). */
  now: bigint
  limits: CallLimits
  /** Host functions the script reaches through the `ao` table. */
  host: (op: string, args: Value[]) => Promise<Value[]>
}

export type CallResult = { ok: true; values: Value[] } | { ok: false; error: LuaScriptError }

/** Where a call's coroutine stopped. */
type Step = { kind: 'done'; values: Value[] } | { kind: 'limit' } | { kind: 'pause' } | { kind: 'error'; body: Value; trace: string } |
  { kind: 'yield'; op: string; args: Value[] | Error } | { kind: 'bad'; message: string }

type Lua = LuaEngine['global']['lua']
type Module = Awaited<ReturnType<LuaFactory['getLuaModule']>>['module']

/** wasmoon names every C function it exports; we call a few raw. */
export class LuaVM {
  /** Bumped by every call that changes the state (see LuaStateHandle). */
  generation = 0
  /** How long a call runs before it lets the thread serve others for a moment (0: never). */
  pauseEveryMs = 20
  /** The count hook's state for the call that runs (installHooks). */
  private readonly count = { used: 0, limit: 0, exhausted: false, call: 0, paused: false, lastPause: 0 }
  private busy = false
  /** The count hook (wasmoon function-table index), set by installHooks. */
  private countHook = 0
  private readonly marshal: LuaMarshal
  private readonly api: LuaApi
  /** C strings of the registry key and the prelude functions `invoke` calls. */
  private readonly names = new Map<string, number>()
  private constructor(private readonly engine: LuaEngine, private readonly lua: Lua, private readonly mod: Module, private readonly L: number) {
    this.api = luaApi(mod)
    this.marshal = new LuaMarshal(this.api, L)
  }

  /**
   * Which fast paths this VM runs on: wasmoon's raw exports (src/lua/raw-exports.ts)
   * and untouched tables told by their memory (src/lua/table-memory.ts). Without
   * them the same values cross, more slowly.
   */
  get fastPaths(): { rawExports: boolean; tableMemory: boolean } {
    return { rawExports: (this.api as { raw?: boolean }).raw === true, tableMemory: this.marshal.readsTableMemory }
  }

  private cName(s: string): number {
    let p = this.names.get(s)
    if (p === undefined) {
      const b = new TextEncoder().encode(s + '\0')
      p = this.api._malloc(b.length)
      this.api.HEAPU8.set(b, p)
      this.names.set(s, p)
    }
    return p
  }

  static async create(): Promise<LuaVM> {
    watchLuaInstances()
    const factory = new LuaFactory(await luaWasmUrl())
    const wasm = await factory.getLuaModule()
    // The hash seed and the initial random state mix in time(NULL): stop the clock.
    const realNow = Date.now
    let engine: LuaEngine
    Date.now = () => 0
    try {
      engine = new LuaEngine(wasm, { enableProxy: false, injectObjects: false, traceAllocations: true, openStandardLibs: true })
    } finally {
      Date.now = realNow
    }
    const vm = new LuaVM(engine, engine.global.lua, wasm.module, engine.global.address)
    vm.boot()
    return vm
  }

  private boot(): void {
    const { lua, L } = this
    this.loadChunk(PRELUDE, '=prelude')
    if (lua.lua_pcallk(L, 0, 1, 0, 0, null) !== 0) throw new LuaLoadError(`prelude failed: ${this.popString()}`)
    lua.lua_setfield(L, LUA_REGISTRYINDEX, 'ao-tab')
    this.installHooks()
  }

  /**
   * The count hook, a C hook (a JS function in wasmoon's function table): it
   * counts instructions in steps of COUNT_STEP on a call's own coroutine and
   * of CHILD_STEP on the coroutines the script resumes, each resume charged a
   * step up front (`resume`); a module's loading is counted the same way
   * (the limit). Every `pauseEveryMs` it suspends the call's own
   * coroutine so that the thread serves others meanwhile (`call` awaits a
   * macrotask, then resumes it). A pause does not move the count: after a
   * hook yields, Lua skips the hook on the instruction it re-runs and counts
   * on from there, so the limit falls on the same instruction with or
   * without pauses (tested). Where the coroutine cannot yield (inside a C
   * function such as table.sort's comparator) it pauses at a later hook.
   */
  private installHooks(): void {
    const { api, L } = this
    const mod = this.mod as unknown as { addFunction(f: (...a: number[]) => number | void, sig: string): number }
    const c = this.count
    const message = this.cName('instruction limit exceeded')
    const raise = (T: number): void => {
      api._lua_pushlstring(T, message, 'instruction limit exceeded'.length)
      api._lua_error(T)
    }
    // Once exhausted every instruction fails, so no pcall can swallow the limit.
    const die = mod.addFunction((T: number) => { raise(T) }, 'vii')
    const hook = mod.addFunction((T: number) => {
      c.used += T === c.call ? COUNT_STEP : CHILD_STEP
      if (c.used > c.limit) {
        c.exhausted = true
        api._lua_sethook(T, die, LUA_MASKCOUNT, 1)
        raise(T)
        return
      }
      if (T === c.call && this.pauseEveryMs > 0) {
        const now = performance.now()
        if (now - c.lastPause >= this.pauseEveryMs && api._lua_isyieldable(T) !== 0) {
          c.lastPause = now
          c.paused = true
          api._lua_yieldk(T, 0, 0, 0)
        }
      }
    }, 'vii')
    this.countHook = hook
    const fns: Record<string, (T: number) => number> = {
      start: (T) => {
        c.used = 0
        c.limit = Number(api._lua_tointegerx(T, 1, 0))
        c.exhausted = false
        c.call = 0
        c.paused = false
        c.lastPause = performance.now()
        return 0
      },
      watch: (T) => {
        const co = api._lua_tothread(T, 1)
        api._lua_sethook(co, hook, LUA_MASKCOUNT, COUNT_STEP)
        c.call = co
        return 0
      },
      resume: (T) => {
        const co = api._lua_tothread(T, 1)
        c.used += CHILD_STEP
        if (c.exhausted || c.used > c.limit) {
          c.exhausted = true
          api._lua_sethook(co, die, LUA_MASKCOUNT, 1)
          api._lua_sethook(T, die, LUA_MASKCOUNT, 1)
          raise(T)
          return 0
        }
        api._lua_sethook(co, hook, LUA_MASKCOUNT, CHILD_STEP)
        return 0
      },
      exhausted: (T) => { api._lua_pushboolean(T, c.exhausted ? 1 : 0); return 1 },
      used: (T) => { api._lua_pushinteger(T, BigInt(c.used)); return 1 },
      paused: (T) => { api._lua_pushboolean(T, c.paused ? 1 : 0); c.paused = false; return 1 },
    }
    api._lua_getfield(L, LUA_REGISTRYINDEX, this.cName('ao-tab'))
    api._lua_getfield(L, -1, this.cName('hooks'))
    for (const [name, f] of Object.entries(fns)) {
      api._lua_pushcclosure(L, mod.addFunction(f, 'ii'), 0)
      api._lua_setfield(L, -2, this.cName(name))
    }
    api._lua_settop(L, -3)
  }

  private loadChunk(source: string | Uint8Array, name: string): void {
    const bytes = typeof source === 'string' ? new TextEncoder().encode(source) : source
    const ptr = this.mod._malloc(bytes.length + 1)
    try {
      this.mod.HEAPU8.set(bytes, ptr)
      const st = this.lua.luaL_loadbufferx(this.L, ptr, bytes.length, name, 't')
      if (st !== 0) throw new LuaLoadError(`${name.replace(/^[=@]/, '')}: ${this.popString()}`)
    } finally {
      this.mod._free(ptr)
    }
  }

  private pushBytes(b: Uint8Array): void {
    const ptr = this.mod._malloc(b.length + 1)
    try {
      this.mod.HEAPU8.set(b, ptr)
      this.lua.lua_pushlstring(this.L, ptr, b.length)
    } finally {
      this.mod._free(ptr)
    }
  }

  private bytesAt(idx: number): Uint8Array {
    const lenPtr = this.mod._malloc(4)
    try {
      const p = this.mod.ccall('lua_tolstring', 'number', ['number', 'number', 'number'], [this.L, idx, lenPtr]) as number
      if (p === 0) return new Uint8Array(0)
      const len = this.mod.getValue(lenPtr, "i32") >>> 0
      return this.mod.HEAPU8.slice(p, p + len)
    } finally {
      this.mod._free(lenPtr)
    }
  }

  private stringAt(idx: number): string { return utf8Lenient(this.bytesAt(idx)) }
  private popString(): string {
    const s = this.stringAt(-1)
    this.lua.lua_settop(this.L, -2)
    return s
  }

  /**
   * Call an internal prelude function with raw arguments; returns its results
   * as byte strings (nil → undefined). Throws LuaLoadError on a Lua error.
   */
  private internal(fn: string, args: (string | Uint8Array | bigint | undefined)[], nres: number): (Uint8Array | undefined)[] {
    const { lua, L } = this
    const top = lua.lua_gettop(L)
    try {
      lua.lua_getfield(L, LUA_REGISTRYINDEX, 'ao-tab')
      lua.lua_getfield(L, -1, fn)
      for (const a of args) {
        if (a === undefined) lua.lua_pushnil(L)
        else if (typeof a === 'bigint') lua.lua_pushinteger(L, a)
        else this.pushBytes(typeof a === 'string' ? new TextEncoder().encode(a) : a)
      }
      // The host's own work (a snapshot, a restore, the function list): not capped by
      // what the last call left of a script's memory.
      if (this.uncapped(() => lua.lua_pcallk(L, args.length, nres, 0, 0, null)) !== 0) {
        throw new LuaLoadError(this.stringAt(-1))
      }
      const out: (Uint8Array | undefined)[] = []
      const base = lua.lua_gettop(L) - nres
      for (let i = 1; i <= nres; i++) out.push(lua.lua_type(L, base + i) === 0 ? undefined : this.bytesAt(base + i))
      return out
    } finally {
      lua.lua_settop(L, top)
    }
  }

  private memoryExceeded(): boolean {
    const max = this.engine.global.getMemoryMax()
    return max !== undefined && this.engine.global.getMemoryUsed() > max - 64 * 1024
  }

  /** Bytes of memory the VM holds. */
  memoryUsed(): number { return this.engine.global.getMemoryUsed() }

  /** Run a module's source in the VM (luerl:do_dec), under the same limits as a call. */
  loadModule(source: string | Uint8Array, name: string, limits: CallLimits = DEFAULT_LIMITS): void {
    this.engine.global.setMemoryMax(this.memoryUsed() + limits.memory)
    const { lua, L, api } = this
    const top = lua.lua_gettop(L)
    const c = this.count
    Object.assign(c, { used: 0, limit: limits.instructions, exhausted: false, call: L, paused: false })
    try {
      this.loadChunk(source, '=' + name)
      api._lua_sethook(L, this.countHook, LUA_MASKCOUNT, COUNT_STEP)
      const failed = lua.lua_pcallk(L, 0, 0, 0, 0, null) !== 0
      api._lua_sethook(L, 0, 0, 0)
      if (c.exhausted) throw new LuaInstructionLimit(`loading ${name} ran more than ${limits.instructions} instructions`)
      if (failed) {
        if (this.memoryExceeded()) throw new LuaMemoryLimit(`Lua memory limit exceeded loading ${name}`)
        throw new LuaLoadError(`${name}: ${this.stringAt(-1)}`)
      }
    } finally {
      api._lua_sethook(L, 0, 0, 0)
      c.call = 0
      lua.lua_settop(L, top)
      this.generation++
    }
  }

  /** Install the `ao` library's host functions into the global `ao` table. */
  installLibrary(ops: string[]): void {
    this.internal('install', [ops.join(',')], 0)
  }

  /** HyperBEAM's `sandbox`: set each path (a list of keys under _G) to a value. */
  sandbox(paths: [string[], Value][]): void {
    this.internal('sandbox', [encodeList(paths.map(([p, v]) => [p, v]))], 0)
    this.generation++
  }

  /** The names of the global functions, in canonical order. */
  functions(): string[] {
    const [b] = this.internal('functions', [], 1)
    const [list] = decodeList(b!)
    return (Array.isArray(list) ? list : []).map(String)
  }

  snapshot(): Uint8Array {
    const [b] = this.internal('snapshot', [], 1)
    return b!
  }

  restore(bytes: Uint8Array): void {
    try {
      this.internal('restore', [bytes], 0)
    } catch (e) {
      throw new LuaBadSnapshot(`cannot restore the Lua state: ${(e as Error).message}`)
    }
    this.generation++
  }

  /**
   * Call a prelude function with the values `push` puts on the stack (it
   * returns how many); `read` sees the results, `count` of them from `first`.
   * A Lua error becomes LuaLoadError (or LuaMemoryLimit).
   */
  private invoke<T>(fn: string, push: () => number, read: (first: number, count: number) => T): T {
    const { api, L } = this
    const top = api._lua_gettop(L)
    try {
      api._lua_getfield(L, LUA_REGISTRYINDEX, this.cName('ao-tab'))
      this.uncapped(() => this.marshal.enter())
      api._lua_getfield(L, top + 1, this.cName(fn))
      const first = api._lua_gettop(L)
      const n = this.uncapped(push)
      if (api._lua_pcallk(L, n, -1, 0, 0, 0) !== 0) {
        const msg = this.stringAt(-1)
        if (this.memoryExceeded()) throw new LuaMemoryLimit('Lua memory limit exceeded')
        throw new LuaLoadError(msg)
      }
      // Reading may intern strings (allocations): uncapped too.
      return this.uncapped(() => read(first, api._lua_gettop(L) - first + 1))
    } finally {
      this.marshal.leave()
      api._lua_settop(L, top)
    }
  }

  /**
   * Values are pushed with the memory cap lifted: an allocation failing
   * outside a protected call would abort the VM. The cap applies again when
   * the script runs (and counts what was pushed).
   */
  private uncapped<T>(f: () => T): T {
    const g = this.engine.global
    const max = g.getMemoryMax()
    g.setMemoryMax(undefined)
    try { return f() } finally { g.setMemoryMax(max) }
  }

  /**
   * Call a global function with arguments; `ao.*` calls are served by env.host.
   * A message or list passed in (as an argument or an answer) that comes back
   * unchanged is given back as that very object, frozen (its IDs are cached):
   * values are immutable here, and a caller must not change one it passed.
   */
  async call(fname: string, args: Value[], env: CallEnv): Promise<CallResult> {
    if (this.busy) throw new LuaStateUnavailable('this Lua state is already running a call')
    this.busy = true
    this.generation++
    this.engine.global.setMemoryMax(this.memoryUsed() + env.limits.memory)
    const m = this.marshal
    const { api, L } = this
    m.begin()
    try {
      try {
        this.invoke('start', () => {
          m.push(fname)
          api._lua_pushinteger(L, BigInt.asIntN(64, env.seed[0]))
          api._lua_pushinteger(L, BigInt.asIntN(64, env.seed[1]))
          api._lua_pushinteger(L, BigInt.asIntN(64, env.now))
          api._lua_pushinteger(L, BigInt(env.limits.instructions))
          for (const a of args) m.push(a)
          return 5 + args.length
        }, () => undefined)
      } catch (e) {
        if (e instanceof LuaLoadError) return { ok: false, error: new LuaScriptError(e.message, '') }
        throw e
      }
      let answer: Value[] | undefined
      /** The op whose answer is pushed next (an answer Lua cannot hold is raised there instead). */
      let answering: string | undefined
      for (;;) {
        let step: Step
        try {
          step = this.resumeStep(answer)
        } catch (e) {
          if (!(e instanceof BadInput) || answering === undefined) throw e
          answer = ['\0ao-error', `ao.${answering}: its answer cannot be passed to Lua: ${e.message}`]
          answering = undefined
          continue
        }
        answering = undefined
        if (step.kind === 'done') return { ok: true, values: step.values }
        if (step.kind === 'bad') return { ok: false, error: new LuaScriptError(step.message, '') }
        if (step.kind === 'pause') {
          // The thread serves others (a timer, another process, an HTTP request), then the call goes on.
          answer = undefined
          await yieldToEventLoop()
          continue
        }
        if (step.kind === 'limit') throw new LuaInstructionLimit(`Lua call ${fname} ran more than ${env.limits.instructions} instructions`)
        if (step.kind === 'error') {
          if (step.body === 'not enough memory' || this.memoryExceeded()) throw new LuaMemoryLimit(`Lua call ${fname} exceeded its memory limit of ${env.limits.memory} bytes`)
          return { ok: false, error: new LuaScriptError(step.body, step.trace) }
        }
        // A yield: the script called ao.<op>. Host failures are raised in the
        // script, where ao.<op> was called.
        const { op } = step
        try {
          if (step.args instanceof Error) throw step.args
          answer = await env.host(op, step.args)
          answering = op
        } catch (e) {
          answer = ['\0ao-error', `ao.${op}: ${e instanceof Error ? e.message : String(e)}`]
        }
      }
    } finally {
      m.end()
      this.busy = false
    }
  }

  /** Resume the call's coroutine (with the host's answer to the op it called), and read where it stopped. */
  private resumeStep(answer: Value[] | undefined): Step {
    const m = this.marshal
    return this.invoke('resume', () => {
      if (answer === undefined) return 0
      m.pushPacked(answer)
      return 1
    }, (first, count): Step => {
      const kind = m.read(first)
      if (kind === 'done') {
        try {
          const values: Value[] = []
          for (let i = 1; i < count; i++) values.push(m.read(first + i))
          return { kind, values }
        } catch (e) {
          if (e instanceof BadInput) return { kind: 'bad', message: e.message }
          throw e
        }
      }
      if (kind === 'limit' || kind === 'pause') return { kind }
      if (kind === 'error') {
        const [body] = decodeList(this.bytesAt(first + 1))
        return { kind, body: body ?? 'Lua error', trace: count > 2 ? this.stringAt(first + 2) : '' }
      }
      let opArgs: Value[] | Error
      try { opArgs = m.readPacked(first + 2) } catch (e) {
        if (!(e instanceof BadInput)) throw e
        opArgs = e
      }
      return { kind: 'yield', op: String(m.read(first + 1)), args: opArgs }
    })
  }

  /** Values through the byte encoding, into Lua and back (for tests of the C API path). */
  legacyRoundTrip(values: Value[]): Value[] {
    const [b] = this.internal('reencode', [encodeList(values)], 1)
    return decodeList(b!)
  }

  /** What a global function returns, through the byte encoding (for tests). */
  legacyResult(fname: string): Value {
    const [b] = this.internal('encode_of', [fname], 1)
    return decodeList(b!)[0]!
  }

  /** Decode bytes produced by the prelude's encoder (for tests). */
  static decode(bytes: Uint8Array): Value { return decodeValue(bytes) }
}
