/**
 * Values between AO-Core and a Lua stack, built and read through Lua's C API
 * (wasmoon's raw exports) instead of a byte encoding the prelude parses in
 * Lua: a table is made with lua_createtable / lua_rawset and read with
 * lua_next, so no interpreted Lua runs per element. The conversion rules are
 * the ones src/lua/codec.ts states (that encoding stays for the rare paths:
 * errors, sandbox, functions, snapshots).
 *
 * Identity is kept across a call: a message or list pushed into Lua that comes
 * back unchanged (the same table, the same contents) is returned as the very
 * object that went in. Unchanged sub-messages of a process state (its
 * `process`, its module) so keep their cached IDs instead of being hashed
 * again every slot. When the table's memory shows it untouched
 * (src/lua/table-memory.ts), the object is returned without walking the table
 * at all.
 *
 * Copies: a JS value pushed again (the next slot's state holds the same
 * `process`, module and history objects) is copied inside the VM from the
 * untouched table built from it, byte for byte, instead of built element by
 * element: the copy has the same sizes and slots as a fresh build, so scripts
 * iterate it in the same order. A list that extends a list built before (at
 * either end: dedup@1.0's history grows by one ID at its start) is copied
 * and topped up. The tables built in a call stay anchored in the registry
 * until the call after it begins, so their pointers stay theirs.
 *
 * Strings are interned in a VM-wide cache (a registry table; Lua strings are
 * immutable values): every string the host pushes, and those of 8 bytes or
 * more a script made that the host reads. Pushing one the VM already holds
 * is one lua_rawgeti, and reading one back is a pointer lookup, not a decode.
 * A process state's IDs, keys and module text cross every slot, so most of
 * its strings are hits. The cache also keeps alive every string in a table
 * the host built (binaries and ill-formed text, which it does not intern,
 * are pinned in it under no key): a string the script replaces is not
 * collected, so no new string can take its address and leave the table's
 * memory as it was built (src/lua/table-memory.ts compares pointers). The
 * cache is dropped between calls once it holds 100,000 strings or 32 MiB,
 * and the tables built until then are forgotten with it.
 */
import { LUA_REGISTRYINDEX } from 'wasmoon'
import { Atom, Float, Link, atomName, emptyMessage, isAtom, isMessage, type Message, type Value } from '../core/value.ts'
import { BadInput } from '../core/errors.ts'
import { compareUtf8, tryUtf8, utf8Lenient } from '../core/bytes.ts'
import { freezeMessage, isImmutable } from '../core/id.ts'
import { isNumberedMessage, luaNumberText, orderedList } from './codec.ts'
import { TableMemory, type Fingerprint } from './table-memory.ts'

const INT64_MIN = -(1n << 63n)
const INT64_MAX = (1n << 63n) - 1n
const MAX_DEPTH = 200
/** Strings a script made are interned when they are at least this long (every string the host pushes is). */
const INTERN_MIN = 8
const INTERN_MAX_COUNT = 100_000
const INTERN_MAX_BYTES = 32 * 1024 * 1024

const T_NIL = 0, T_BOOLEAN = 1, T_NUMBER = 3, T_STRING = 4, T_TABLE = 5

const utf8 = new TextEncoder()
const NIL = new Atom('nil')

/** The raw C API of one wasmoon module (the `_lua_*` exports). */
export interface LuaApi {
  HEAPU8: Uint8Array
  HEAPU32: Uint32Array
  _malloc(n: number): number
  _free(p: number): void
  _lua_gettop(L: number): number
  _lua_settop(L: number, i: number): void
  _lua_checkstack(L: number, n: number): number
  _lua_pushvalue(L: number, i: number): void
  _lua_type(L: number, i: number): number
  _lua_toboolean(L: number, i: number): number
  _lua_isinteger(L: number, i: number): number
  _lua_tointegerx(L: number, i: number, p: number): bigint
  _lua_tonumberx(L: number, i: number, p: number): number
  _lua_tolstring(L: number, i: number, lenPtr: number): number
  _lua_topointer(L: number, i: number): number
  _lua_next(L: number, i: number): number
  _lua_pushnil(L: number): void
  _lua_pushboolean(L: number, b: number): void
  _lua_pushinteger(L: number, n: bigint): void
  _lua_pushnumber(L: number, n: number): void
  _lua_pushlstring(L: number, p: number, n: number): number
  _lua_createtable(L: number, narr: number, nrec: number): void
  _lua_rawset(L: number, i: number): void
  _lua_rawseti(L: number, i: number, n: bigint): void
  _lua_setfield(L: number, i: number, k: number): void
  _lua_getfield(L: number, i: number, k: number): number
  _lua_rawgeti(L: number, i: number, n: bigint): number
  _lua_pcallk(L: number, nargs: number, nres: number, msgh: number, ctx: number, k: number): number
  _lua_sethook(L: number, f: number, mask: number, count: number): void
  _lua_tothread(L: number, i: number): number
  _lua_isyieldable(L: number): number
  _lua_yieldk(L: number, nresults: number, ctx: number, k: number): number
  _lua_error(L: number): number
  _lua_pushcclosure(L: number, f: number, n: number): void
}

/** A table nested deeper than a call's values may be. */
export class LuaValueTooDeep extends BadInput {}
/** A table that contains itself cannot become a message. */
export class LuaCyclicValue extends BadInput {}

/**
 * A table built from a JS value; `exact` when reading it back gives that value.
 * `was`: a mutable value's own values when it was pushed (a message's as key,
 * value, key, value…). `read`: what it read as, when not exact, while it stays
 * untouched (a signed message, whose `committed` keys come back as a list, is
 * read several times a slot: through ao.get, ao.resolve, the result).
 */
interface Twin { twin: Message | Value[]; exact: boolean; fp: Fingerprint | undefined; was?: Value[]; read?: Message | Value[] }

function twinAsPushed(t: Twin): boolean {
  const { twin, was } = t
  if (was === undefined) return isImmutable(twin)
  if (Array.isArray(twin)) {
    if (twin.length !== was.length) return false
    for (let i = 0; i < was.length; i++) if (twin[i] !== was[i]) return false
    return true
  }
  const keys = Object.keys(twin)
  if (keys.length * 2 !== was.length) return false
  for (let i = 0; i < keys.length; i++) if (keys[i] !== was[2 * i] || twin[keys[i]!] !== was[2 * i + 1]) return false
  return true
}
/** Lists at least this long are copied when a longer list extends them. */
const LIST_EXTEND_MIN = 16

/** The tables one call built: by pointer, by the JS value, lists by their ends. */
class Generation {
  tables = new Map<number, Twin>()
  built = new Map<object, number>()
  heads = new Map<Value, number>()
  tails = new Map<Value, number>()
  clear(): void {
    this.tables.clear()
    this.built.clear()
    this.heads.clear()
    this.tails.clear()
  }

  add(ptr: number, t: Twin): void {
    this.tables.set(ptr, t)
    this.built.set(t.twin, ptr)
    const list = t.twin
    if (Array.isArray(list) && list.length >= LIST_EXTEND_MIN) {
      this.heads.set(list[0]!, ptr)
      this.tails.set(list[list.length - 1]!, ptr)
    }
  }
}

interface KeyEntry { rank: number; num: number; text: string; value: Value }

/** Lua's key order (numbers, booleans, strings bytewise) for the keys of one table. */
function compareKeys(a: KeyEntry, b: KeyEntry): number {
  if (a.rank !== b.rank) return a.rank - b.rank
  if (a.rank === 1) return a.num - b.num
  if (a.rank === 2) return a.num - b.num
  return compareUtf8(a.text, b.text)
}

function sameValue(a: Value | undefined, b: Value): boolean {
  if (a === b) return true
  if (a instanceof Float) return b instanceof Float && Object.is(a.value, b.value)
  return false
}

/** The shape a pushed JS object has in Lua, and so the shape it comes back in. */
function sameShape(twin: Message | Value[], got: Message | Value[]): boolean {
  if (Array.isArray(twin)) {
    if (!Array.isArray(got) || got.length !== twin.length) return false
    for (let i = 0; i < got.length; i++) if (!sameValue(twin[i], got[i]!)) return false
    return true
  }
  if (Array.isArray(got)) return false
  const keys = Object.keys(got)
  if (keys.length !== Object.keys(twin).length) return false
  for (const k of keys) if (!sameValue(twin[k], got[k]!)) return false
  return true
}

/**
 * Marshalling on one Lua state: `push` JS values onto its stack, `read` values
 * off it. `begin` starts a call (tables built from then on are anchored and
 * known); `end` closes it.
 */
export class LuaMarshal {
  private scratch = 0
  private scratchSize = 0
  private lenPtr: number
  private anchorName: number
  private nName: number
  private anchored = 0
  /** Tables built this call, and in the previous one (anchored until the next call begins). */
  private now = new Generation()
  private before = new Generation()
  private beforeName: number
  /** Twins found untouched since the Lua code last ran. */
  private untouched = new Map<number, boolean>()
  private readonly memory: TableMemory | null
  private cacheName: number
  /** Stack index of the string cache table while a call is marshalled (0: none). */
  private cacheAt = 0
  /** Stack index of this call's anchor table while marshalling (0: none). */
  private anchorAt = 0
  /** Interned strings: JS string → index in the cache table; data pointer → JS string. */
  private interned = new Map<string, number>()
  private byPointer = new Map<number, string>()
  private internedBytes = 0
  /** Strings kept in the cache table without a JS key (binaries, ill-formed text), at negative indices. */
  private pinned = 0
  private onPath = new Set<number>()
  private active = false

  constructor(private readonly api: LuaApi, private readonly L: number) {
    this.memory = TableMemory.probe(api, L)
    this.lenPtr = api._malloc(8)
    const name = utf8.encode('ao-tab-anchors\0')
    this.anchorName = api._malloc(name.length)
    api.HEAPU8.set(name, this.anchorName)
    this.nName = api._malloc(2)
    api.HEAPU8.set([110, 0], this.nName)
    const before = utf8.encode('ao-tab-anchors-before\0')
    this.beforeName = api._malloc(before.length)
    api.HEAPU8.set(before, this.beforeName)
    const cache = utf8.encode('ao-tab-strings\0')
    this.cacheName = api._malloc(cache.length)
    api.HEAPU8.set(cache, this.cacheName)
  }

  /** Whether untouched tables are told by their memory (the layout probe passed). */
  get readsTableMemory(): boolean { return this.memory !== null }

  /**
   * Put the string cache on the stack (its index is used until `leave`).
   * Between calls a full cache is dropped and started again.
   */
  enter(): void {
    const { api, L } = this
    if (this.cacheAt !== 0) throw new Error('LuaMarshal.enter: already entered')
    const full = this.interned.size + this.pinned >= INTERN_MAX_COUNT || this.internedBytes >= INTERN_MAX_BYTES
    if (full || api._lua_getfield(L, LUA_REGISTRYINDEX, this.cacheName) !== T_TABLE) {
      if (!full) api._lua_settop(L, -2)
      api._lua_createtable(L, 0, 0)
      api._lua_pushvalue(L, -1)
      api._lua_setfield(L, LUA_REGISTRYINDEX, this.cacheName)
      this.interned.clear()
      this.byPointer.clear()
      this.internedBytes = 0
      this.pinned = 0
      // Their strings may now be collected and their addresses reused: the
      // tables built so far are no longer told untouched by their memory.
      this.now.clear()
      this.before.clear()
    }
    this.cacheAt = api._lua_gettop(L)
    this.untouched.clear()
    if (this.active) {
      api._lua_getfield(L, LUA_REGISTRYINDEX, this.anchorName)
      this.anchorAt = api._lua_gettop(L)
    }
  }

  /** The caller restores the stack below what `enter` pushed. */
  leave(): void {
    this.cacheAt = 0
    this.anchorAt = 0
  }

  /** Push values as one packed list, `{n = count, ...}` (table.pack's shape). */
  pushPacked(values: Value[]): void {
    const { api, L } = this
    api._lua_createtable(L, values.length, 1)
    for (let i = 0; i < values.length; i++) {
      this.push(values[i]!, 1)
      api._lua_rawseti(L, -2, BigInt(i + 1))
    }
    api._lua_pushinteger(L, BigInt(values.length))
    api._lua_setfield(L, -2, this.nName)
  }

  /** The values of a packed list (`{n = count, ...}`) at a stack index. */
  readPacked(idx: number): Value[] {
    const { api, L } = this
    const at = idx < 0 ? api._lua_gettop(L) + idx + 1 : idx
    if (api._lua_type(L, at) !== T_TABLE) return []
    api._lua_getfield(L, at, this.nName)
    const n = api._lua_isinteger(L, -1) ? Number(api._lua_tointegerx(L, -1, 0)) : 0
    api._lua_settop(L, -2)
    const out: Value[] = []
    for (let i = 1; i <= n; i++) {
      api._lua_rawgeti(L, at, BigInt(i))
      try { out.push(this.readAt(api._lua_gettop(L), 1)) } finally { api._lua_settop(L, -2) }
    }
    return out
  }

  /**
   * Start a call: tables pushed from now on are kept alive (and recognized)
   * until the call after it begins, so the next call can copy those it
   * pushes again (a process state's unchanged parts, slot after slot).
   */
  begin(): void {
    const { api, L } = this
    api._lua_getfield(L, LUA_REGISTRYINDEX, this.anchorName)
    api._lua_setfield(L, LUA_REGISTRYINDEX, this.beforeName)
    api._lua_createtable(L, 0, 0)
    api._lua_setfield(L, LUA_REGISTRYINDEX, this.anchorName)
    this.anchored = 0
    // The generation before last is dropped; its maps are reused.
    const old = this.before
    old.clear()
    this.before = this.now
    this.now = old
    this.active = true
  }

  end(): void {
    this.active = false
  }

  private anchorTop(): void {
    const { api, L } = this
    api._lua_pushvalue(L, -1)
    api._lua_rawseti(L, this.anchorAt, BigInt(++this.anchored))
  }

  private ensureScratch(n: number): number {
    if (n > this.scratchSize) {
      if (this.scratch) this.api._free(this.scratch)
      this.scratchSize = Math.max(n, 256, this.scratchSize * 2)
      this.scratch = this.api._malloc(this.scratchSize)
    }
    return this.scratch
  }

  // ---------------------------------------------------------------- JS → Lua

  /**
   * Push one value; throws BadInput for what Lua cannot hold. True when
   * reading it back gives an equal value (a string stays a string, a message
   * a message), so an untouched table can be answered with its twin.
   */
  push(v: Value, depth = 0): boolean {
    if (depth > MAX_DEPTH) throw new LuaValueTooDeep('a value nested more than 200 deep cannot be passed to Lua')
    const { api, L } = this
    if (typeof v === 'string') return this.pushString(v)
    if (v instanceof Uint8Array) { this.pushBytes(v); return false }
    if (typeof v === 'bigint') {
      if (v >= INT64_MIN && v <= INT64_MAX) { api._lua_pushinteger(L, v); return true }
      this.pushString(v.toString())
      return false
    }
    if (v instanceof Float) { api._lua_pushnumber(L, v.value); return true }
    if (v === true || v === false) { api._lua_pushboolean(L, v ? 1 : 0); return true }
    if (isAtom(v)) { this.pushString(atomName(v)); return false }
    if (v instanceof Link) { this.pushString(v.id); return false }
    if (this.memory !== null && this.anchorAt !== 0 && (Array.isArray(v) || isMessage(v))) {
      const exact = this.pushCopy(v, depth)
      if (exact !== undefined) return exact
    }
    if (Array.isArray(v)) return this.pushList(v, v, depth, true)
    if (isMessage(v)) {
      if (isNumberedMessage(v)) {
        const list: Value[] = []
        for (let i = 1; i in v; i++) list.push(v[String(i)]!)
        // It comes back as a list, not as this message.
        return this.pushList(list, v, depth, false)
      }
      return this.pushMap(v, depth)
    }
    throw new BadInput('a value that cannot be passed to Lua')
  }

  private pushList(list: Value[], twin: Message | Value[], depth: number, isList: boolean): boolean {
    const { api, L } = this
    if (!api._lua_checkstack(L, 4)) throw new LuaValueTooDeep('the Lua stack cannot hold this value')
    api._lua_createtable(L, list.length, 0)
    let exact = isList
    for (let i = 0; i < list.length; i++) {
      if (!this.push(list[i]!, depth + 1)) exact = false
      api._lua_rawseti(L, -2, BigInt(i + 1))
    }
    this.remember(twin, exact)
    return exact
  }

  private pushMap(m: Message, depth: number): boolean {
    const { api, L } = this
    if (!api._lua_checkstack(L, 4)) throw new LuaValueTooDeep('the Lua stack cannot hold this value')
    const keys = Object.keys(m)
    api._lua_createtable(L, 0, keys.length)
    // An empty table reads back as an empty list.
    let exact = keys.length > 0
    for (const k of keys) {
      const x = m[k]
      if (x === undefined) { exact = false; continue }
      if (!this.pushString(k)) exact = false
      if (!this.push(x, depth + 1)) exact = false
      api._lua_rawset(L, -3)
    }
    this.remember(m, exact)
    return exact
  }

  private remember(twin: Message | Value[], exact: boolean): void {
    if (this.anchorAt === 0) return
    this.register(this.api._lua_topointer(this.L, -1), twin, exact)
  }

  /** Know the table on top of the stack (at `ptr`) as built from `twin`, and anchor it. */
  private register(ptr: number, twin: Message | Value[], exact: boolean): void {
    const t: Twin = { twin, exact, fp: this.memory ? this.memory.fingerprint(ptr) : undefined }
    // A JS value that can still change is remembered as it was pushed (its values, not deeply).
    if (t.fp && !isImmutable(twin)) t.was = Array.isArray(twin) ? twin.slice() : Object.entries(twin).flat()
    this.now.add(ptr, t)
    this.anchorTop()
  }

  private twinAt(ptr: number): Twin | undefined {
    return this.now.tables.get(ptr) ?? this.before.tables.get(ptr)
  }

  /**
   * A table built from its twin whose memory (and its nested tables') is as it
   * was built, and whose twin is too: a frozen one cannot change; a mutable one
   * still holds the very values it was pushed with (nested values are the
   * nested tables' twins, checked in turn).
   */
  private isUntouched(ptr: number): boolean {
    const known = this.untouched.get(ptr)
    if (known !== undefined) return known
    const t = this.twinAt(ptr)
    const fp = t?.fp
    let ok = fp !== undefined && this.memory!.same(ptr, fp) && twinAsPushed(t!)
    if (ok) for (const c of fp!.children) if (!this.isUntouched(c)) { ok = false; break }
    this.untouched.set(ptr, ok)
    return ok
  }

  /**
   * A list built this call or the last that `v` extends at its end or at its
   * start (a history that grows by one entry a slot), and where its items
   * sit in `v`.
   */
  private extended(v: Value[]): { src: number; at: number } | undefined {
    const head = this.now.heads.get(v[0]!) ?? this.before.heads.get(v[0]!)
    const p = head === undefined ? undefined : this.twinAt(head)!.twin as Value[]
    if (p !== undefined && p.length < v.length && p.every((x, i) => x === v[i])) return { src: head!, at: 0 }
    const tail = this.now.tails.get(v[v.length - 1]!) ?? this.before.tails.get(v[v.length - 1]!)
    const q = tail === undefined ? undefined : this.twinAt(tail)!.twin as Value[]
    if (q === undefined || q.length >= v.length) return undefined
    const at = v.length - q.length
    return q.every((x, i) => x === v[at + i]) ? { src: tail!, at } : undefined
  }

  /**
   * Push `v` by copying, inside the VM, an untouched table already built
   * from it (this call or the last), or from a list it extends, then pushing
   * the new items. Exactness as `push` answers; undefined when there is no
   * such table.
   */
  private pushCopy(v: Message | Value[], depth: number): boolean | undefined {
    let src = this.now.built.get(v) ?? this.before.built.get(v)
    let at = 0
    if (src === undefined && Array.isArray(v) && v.length > LIST_EXTEND_MIN) {
      const found = this.extended(v)
      if (found === undefined) return undefined
      ;({ src, at } = found)
    }
    if (src === undefined || !this.isUntouched(src)) return undefined
    const twin = this.twinAt(src)!
    const size = Array.isArray(v) ? v.length : twin.fp!.alimit
    const copied = this.copyTable(src, size, at)
    if (copied === undefined) return undefined
    let exact = twin.exact
    if (size !== twin.fp!.alimit) {
      const { api, L } = this
      const list = v as Value[]
      const end = at + twin.fp!.alimit
      for (let i = 0; i < list.length; i++) {
        if (i === at) { i = end - 1; continue }
        if (!this.push(list[i]!, depth + 1)) exact = false
        api._lua_rawseti(L, -2, BigInt(i + 1))
      }
    }
    this.register(copied, v, exact)
    return exact
  }

  /** Copy the untouched table `src` and its nested tables; the copy is left on the stack. */
  private copyTable(src: number, size: number, at: number): number | undefined {
    const { api, L } = this
    const fp = this.twinAt(src)!.fp!
    if (!api._lua_checkstack(L, 4)) return undefined
    const kids: number[] = []
    for (const c of fp.children) {
      const k = this.copyTable(c, this.twinAt(c)!.fp!.alimit, 0)
      if (k === undefined) return undefined
      kids.push(k)
      // Anchored until the call after next; off the stack.
      const twin = this.twinAt(c)!
      this.register(k, twin.twin, twin.exact)
      api._lua_settop(L, -2)
    }
    if (!this.memory!.copy(L, src, fp, kids, size, at)) return undefined
    return api._lua_topointer(L, -1)
  }

  /** True when the string reads back as itself (well-formed text). */
  private pushString(s: string): boolean {
    const { api, L } = this
    const cached = this.cacheAt !== 0 ? this.interned.get(s) : undefined
    if (cached !== undefined) {
      api._lua_rawgeti(L, this.cacheAt, BigInt(cached))
      return true
    }
    const n = s.length
    let len = -1
    if (n <= 64) {
      const p = this.ensureScratch(n)
      const heap = api.HEAPU8
      let i = 0
      for (; i < n; i++) {
        const c = s.charCodeAt(i)
        if (c >= 0x80) break
        heap[p + i] = c
      }
      if (i === n) len = n
    }
    const ascii = len >= 0
    if (len < 0) {
      const p = this.ensureScratch(n * 3)
      len = utf8.encodeInto(s, api.HEAPU8.subarray(p, p + n * 3)).written
    }
    api._lua_pushlstring(L, this.scratch, len)
    const exact = ascii || s.isWellFormed()
    if (this.cacheAt !== 0 && exact) this.intern(s, len, api._lua_tolstring(L, -1, 0))
    else this.pin(len)
    return exact
  }

  /** Keep the string on top of the stack in the cache as `s`. */
  private intern(s: string, len: number, pointer: number): void {
    const { api, L } = this
    const id = this.interned.size + 1
    api._lua_pushvalue(L, -1)
    api._lua_rawseti(L, this.cacheAt, BigInt(id))
    this.interned.set(s, id)
    this.byPointer.set(pointer, s)
    this.internedBytes += len
  }

  private pushBytes(b: Uint8Array): void {
    const p = this.ensureScratch(b.length)
    this.api.HEAPU8.set(b, p)
    this.api._lua_pushlstring(this.L, p, b.length)
    this.pin(b.length)
  }

  /**
   * Keep the string on top of the stack alive as long as the cache (a table
   * built now may be copied in later calls, and compared by its memory while
   * the cache lives): what the host pushes is never collected under a table
   * it may still take for untouched.
   */
  private pin(len: number): void {
    if (this.cacheAt === 0) return
    const { api, L } = this
    api._lua_pushvalue(L, -1)
    api._lua_rawseti(L, this.cacheAt, BigInt(-++this.pinned))
    this.internedBytes += len
  }

  // ---------------------------------------------------------------- Lua → JS

  /** The value at a stack index (absolute or relative). */
  read(idx: number): Value {
    const { api, L } = this
    const at = idx < 0 ? api._lua_gettop(L) + idx + 1 : idx
    return this.readAt(at, 0)
  }

  private readAt(at: number, depth: number): Value {
    const { api, L } = this
    switch (api._lua_type(L, at)) {
      case T_BOOLEAN: return api._lua_toboolean(L, at) !== 0
      case T_NUMBER: return api._lua_isinteger(L, at) ? api._lua_tointegerx(L, at, 0) : new Float(api._lua_tonumberx(L, at, 0))
      case T_STRING: return this.readString(at)
      case T_TABLE: return this.readTable(at, depth)
      default: return NIL
    }
  }

  private readString(at: number): string | Uint8Array {
    const { api, L } = this
    const p = api._lua_tolstring(L, at, this.lenPtr)
    const n = api.HEAPU32[this.lenPtr >>> 2]!
    const known = this.byPointer.get(p)
    if (known !== undefined) return known
    const heap = api.HEAPU8
    let s: string | undefined
    if (n <= 64) {
      let ascii = true
      for (let i = 0; i < n; i++) if (heap[p + i]! >= 0x80) { ascii = false; break }
      if (ascii) s = String.fromCharCode.apply(null, heap.subarray(p, p + n) as unknown as number[])
    }
    if (s === undefined) {
      const text = tryUtf8(heap.subarray(p, p + n))
      if (text === null) return heap.slice(p, p + n)
      s = text
    }
    // A string the script made, likely to cross again (a new key, a new ID).
    if (n >= INTERN_MIN && this.cacheAt !== 0 && !this.interned.has(s)) {
      api._lua_pushvalue(L, at)
      this.intern(s, n, p)
      api._lua_settop(L, -2)
    }
    return s
  }

  private readTable(at: number, depth: number): Value {
    const { api, L } = this
    if (depth >= MAX_DEPTH) throw new LuaValueTooDeep('a Lua value nested more than 200 deep cannot be returned')
    const ptr = api._lua_topointer(L, at)
    let asBuilt: Twin | undefined
    if (this.memory !== null && this.isUntouched(ptr)) {
      const t = this.twinAt(ptr)!
      if (t.exact) return freezeMessage(t.twin)
      // Untouched, it reads as it read before.
      if (t.read !== undefined) return t.read
      asBuilt = t
    }
    if (this.onPath.has(ptr)) throw new LuaCyclicValue('cannot convert a table that contains itself')
    if (!api._lua_checkstack(L, 4)) throw new LuaValueTooDeep('the Lua stack cannot hold this value')
    this.onPath.add(ptr)
    const entries: KeyEntry[] = []
    let listLike = true
    try {
      api._lua_pushnil(L)
      while (api._lua_next(L, at) !== 0) {
        const top = api._lua_gettop(L)
        const kt = api._lua_type(L, top - 1)
        const vt = api._lua_type(L, top)
        if ((kt === T_STRING || kt === T_NUMBER || kt === T_BOOLEAN) &&
          (vt === T_STRING || vt === T_NUMBER || vt === T_BOOLEAN || vt === T_TABLE)) {
          let e: KeyEntry
          if (kt === T_STRING) {
            const k = this.readString(top - 1)
            e = { rank: 4, num: 0, text: typeof k === 'string' ? k : utf8Lenient(k), value: null }
            listLike = false
          } else if (kt === T_NUMBER) {
            if (api._lua_isinteger(L, top - 1)) {
              const k = api._lua_tointegerx(L, top - 1, 0)
              e = { rank: 1, num: Number(k), text: k.toString(), value: null }
            } else {
              const x = api._lua_tonumberx(L, top - 1, 0)
              e = { rank: 1, num: x, text: luaNumberText(x), value: null }
              listLike = false
            }
          } else {
            const b = api._lua_toboolean(L, top - 1) !== 0
            e = { rank: 2, num: b ? 1 : 0, text: b ? 'true' : 'false', value: null }
            listLike = false
          }
          e.value = this.readAt(top, depth + 1)
          entries.push(e)
        }
        api._lua_settop(L, top - 1)
      }
    } finally {
      this.onPath.delete(ptr)
    }
    let out: Message | Value[]
    const list = listLike ? asList(entries) : undefined
    if (list) out = list
    else {
      if (entries.length > 1) entries.sort(compareKeys)
      const m = emptyMessage()
      for (const e of entries) m[e.text] = e.value
      // Keys 1..n some of which are text: a list too (src/lua/codec.ts).
      out = orderedList(m) ?? m
    }
    const twin = this.twinAt(ptr)?.twin
    // Frozen, so that their IDs are cached (src/core/id.ts): a process state's
    // unchanged parts are then hashed once, not on every slot.
    const read = freezeMessage(twin !== undefined && sameShape(twin, out) ? twin : out)
    if (asBuilt !== undefined) asBuilt.read = read
    return read
  }
}

/** Integer keys exactly 1..n (n ≥ 0) → the values in order; otherwise undefined. */
function asList(entries: KeyEntry[]): Value[] | undefined {
  const n = entries.length
  const out = new Array<Value>(n)
  const seen = new Uint8Array(n + 1)
  for (const e of entries) {
    const i = e.num
    if (!Number.isInteger(i) || i < 1 || i > n || seen[i]) return undefined
    seen[i] = 1
    out[i - 1] = e.value
  }
  return out
}
