/**
 * Whether a Lua table changed, told from its memory instead of walking it
 * through the C API. A table the host built for a call (the process state,
 * its `dedup` history) usually comes back untouched, and reading it again
 * element by element costs several wasm calls per entry; comparing its
 * entries' bytes with a fingerprint taken when it was built costs a few
 * nanoseconds per entry.
 *
 * This reads Lua 5.4's `Table` struct (lobject.h) as wasmoon's wasm32 build
 * lays it out, so `probe` first checks that layout on a table it builds and
 * changes; when anything differs (another Lua, another build) it answers null
 * and callers read tables the slow way.
 *
 * Sound, not exact: equal bytes mean equal contents (Lua's GC does not move
 * objects, strings are immutable, a nested table is compared in turn), while
 * a rewrite that leaves the contents equal may still count as a change. That
 * holds while the strings and tables a fingerprint points to stay alive, so
 * that nothing new can take their addresses: src/lua/marshal.ts keeps them.
 */
import type { LuaApi } from './marshal.ts'

// Offsets in `Table`: CommonHeader (next, tt, marked), flags, lsizenode,
// alimit, array, node, lastfree, metatable, gclist.
const TT = 4, FLAGS = 6, LSIZENODE = 7, ALIMIT = 8, ARRAY = 12, NODE = 16, LASTFREE = 20, METATABLE = 24
/** sizeof(TValue): an 8-byte Value and a tag byte, padded. */
const TVALUE = 16
/** sizeof(Node): value, value tag, key tag, chain offset, key. */
const NODE_SIZE = 24
/** `flags` bit set while `alimit` is only a hint of the array size. */
const BITRAS = 0x80
const LUA_VTABLE = 5
/** Tags of collectable values have bit 6 set (ctb). */
const TAG_TABLE = LUA_VTABLE | 0x40
const TAG_INT = 3
const TAG_SHORT_STRING = 4 | 0x40

/** A table's header and the meaningful words of its entries (padding left out). */
export interface Fingerprint {
  alimit: number
  flags: number
  lsize: number
  array: number
  node: number
  /** Entries in the hash part (0 when it is the shared dummy node). */
  nsize: number
  words: Uint32Array
  /** Tables held as values, compared in turn. */
  children: number[]
}

const isPow2 = (x: number): boolean => (x & (x - 1)) === 0

/** luaH_realasize: the array part's size. */
function arraySize(alimit: number, flags: number): number {
  if ((flags & BITRAS) === 0 || isPow2(alimit)) return alimit
  let s = alimit - 1
  s |= s >>> 1; s |= s >>> 2; s |= s >>> 4; s |= s >>> 8; s |= s >>> 16
  return (s >>> 0) + 1
}

export class TableMemory {
  private constructor(private readonly api: LuaApi) {}

  /** A reader for this module's tables, or null when its layout is not the expected one. */
  static probe(api: LuaApi, L: number): TableMemory | null {
    const top = api._lua_gettop(L)
    try {
      const mem = new TableMemory(api)
      api._lua_createtable(L, 3, 2)
      for (let i = 1; i <= 3; i++) { api._lua_pushinteger(L, BigInt(100 + i)); api._lua_rawseti(L, -2, BigInt(i)) }
      const key = api._malloc(2)
      api.HEAPU8.set([107, 0], key)
      api._lua_pushlstring(L, key, 1)
      api._lua_createtable(L, 0, 0)
      api._lua_rawset(L, -3)
      api._free(key)
      const t = api._lua_topointer(L, -1)
      const h8 = api.HEAPU8, h32 = api.HEAPU32
      const node = h32[(t + NODE) >>> 2]!, array = h32[(t + ARRAY) >>> 2]!
      if (h8[t + TT] !== LUA_VTABLE || h8[t + LSIZENODE] !== 1 || h32[(t + ALIMIT) >>> 2] !== 3 ||
        (h8[t + FLAGS]! & BITRAS) !== 0 || h32[(t + METATABLE) >>> 2] !== 0 ||
        h32[(t + LASTFREE) >>> 2] !== node + 2 * NODE_SIZE) return null
      for (let i = 0; i < 3; i++) {
        const p = array + i * TVALUE
        if (h32[p >>> 2] !== 101 + i || h32[(p >>> 2) + 1] !== 0 || h8[p + 8] !== TAG_INT) return null
      }
      let found = 0
      for (let i = 0; i < 2; i++) {
        const p = node + i * NODE_SIZE
        if (h8[p + 8] === TAG_TABLE && h8[p + 9] === TAG_SHORT_STRING) found++
      }
      if (found !== 1) return null
      const fp = mem.fingerprint(t)
      if (fp.children.length !== 1 || !mem.same(t, fp)) return null
      api._lua_pushinteger(L, 7n)
      api._lua_rawseti(L, -2, 2n)
      if (mem.same(t, fp)) return null
      return mem
    } catch {
      return null
    } finally {
      api._lua_settop(L, top)
    }
  }

  fingerprint(t: number): Fingerprint {
    const h8 = this.api.HEAPU8, h32 = this.api.HEAPU32
    const alimit = h32[(t + ALIMIT) >>> 2]!, flags = h8[t + FLAGS]!, lsize = h8[t + LSIZENODE]!
    const array = h32[(t + ARRAY) >>> 2]!, node = h32[(t + NODE) >>> 2]!
    const asize = arraySize(alimit, flags)
    // A table without a hash part shares the dummy node (lastfree is NULL).
    const nsize = h32[(t + LASTFREE) >>> 2] === 0 ? 0 : 2 ** lsize
    const words = new Uint32Array(asize * 3 + nsize * 6)
    const children: number[] = []
    let w = 0
    for (let i = 0; i < asize; i++) {
      const b = array + i * TVALUE, p = b >>> 2
      const tag = h8[b + 8]!
      words[w++] = h32[p]!; words[w++] = h32[p + 1]!; words[w++] = tag
      if (tag === TAG_TABLE) children.push(h32[p]!)
    }
    for (let i = 0; i < nsize; i++) {
      const b = node + i * NODE_SIZE, p = b >>> 2
      const tag = h8[b + 8]!
      words[w++] = h32[p]!; words[w++] = h32[p + 1]!; words[w++] = tag | (h8[b + 9]! << 8)
      words[w++] = h32[p + 3]!; words[w++] = h32[p + 4]!; words[w++] = h32[p + 5]!
      if (tag === TAG_TABLE) children.push(h32[p]!)
    }
    return { alimit, flags, lsize, array, node, nsize, words, children }
  }

  /**
   * Push a new table with the entries of `src` (fingerprinted as `fp` and
   * found untouched), copied byte for byte, its nested tables replaced by
   * `kids` (copies made the same way, in `fp.children` order). It is the
   * table pushing the same value again would build: same sizes, same slots,
   * so the same iteration order. For a list that grew, `size` is the new
   * array size and the copied items start at index `at` (0-based); the other
   * slots are left for the caller to fill. False, with nothing pushed, when
   * the array size is only a hint.
   */
  copy(L: number, src: number, fp: Fingerprint, kids: number[], size = fp.alimit, at = 0): boolean {
    const api = this.api
    const grows = size !== fp.alimit
    if ((fp.flags & BITRAS) !== 0 || (grows && fp.nsize > 0) || at + fp.alimit > size) return false
    const asize = fp.alimit
    api._lua_createtable(L, size, fp.nsize)
    const t = api._lua_topointer(L, -1)
    const h8 = api.HEAPU8, h32 = api.HEAPU32
    const array = h32[(t + ARRAY) >>> 2]! + at * TVALUE, node = h32[(t + NODE) >>> 2]!
    h8.copyWithin(array, fp.array, fp.array + asize * TVALUE)
    if (fp.nsize > 0) {
      h8.copyWithin(node, fp.node, fp.node + fp.nsize * NODE_SIZE)
      h32[(t + LASTFREE) >>> 2] = node + (h32[(src + LASTFREE) >>> 2]! - fp.node)
    }
    h8[t + FLAGS] = fp.flags
    let k = 0
    for (let i = 0; i < asize && k < kids.length; i++) {
      const b = array + i * TVALUE
      if (h8[b + 8] === TAG_TABLE) { h32[b >>> 2] = kids[k++]!; h32[(b >>> 2) + 1] = 0 }
    }
    for (let i = 0; i < fp.nsize && k < kids.length; i++) {
      const b = node + i * NODE_SIZE
      if (h8[b + 8] === TAG_TABLE) { h32[b >>> 2] = kids[k++]!; h32[(b >>> 2) + 1] = 0 }
    }
    return true
  }

  /** The table's header and entries are as fingerprinted (nested tables are the caller's to check). */
  same(t: number, fp: Fingerprint): boolean {
    const h8 = this.api.HEAPU8, h32 = this.api.HEAPU32
    if (h8[t + TT] !== LUA_VTABLE || h32[(t + ALIMIT) >>> 2] !== fp.alimit || h8[t + FLAGS] !== fp.flags ||
      h8[t + LSIZENODE] !== fp.lsize || h32[(t + ARRAY) >>> 2] !== fp.array || h32[(t + NODE) >>> 2] !== fp.node ||
      h32[(t + METATABLE) >>> 2] !== 0) return false
    const { words, array, node } = fp
    const asize = arraySize(fp.alimit, fp.flags)
    let w = 0
    for (let i = 0; i < asize; i++) {
      const b = array + i * TVALUE, p = b >>> 2
      if (h32[p] !== words[w] || h32[p + 1] !== words[w + 1] || h8[b + 8] !== words[w + 2]) return false
      w += 3
    }
    for (let b = node; w < words.length; b += NODE_SIZE, w += 6) {
      const p = b >>> 2
      if (h32[p] !== words[w] || h32[p + 1] !== words[w + 1] || (h8[b + 8]! | (h8[b + 9]! << 8)) !== words[w + 2] ||
        h32[p + 3] !== words[w + 3] || h32[p + 4] !== words[w + 4] || h32[p + 5] !== words[w + 5]) return false
    }
    return true
  }
}
