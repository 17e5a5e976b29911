/**
 * Just enough of Erlang's term syntax to read HyperBEAM's `.eterm` fixtures
 * (file:consult): maps `#{K => V}`, lists, binaries `<<"…">>`, integers and
 * atoms. Binaries become strings, integers bigints, atoms Atom/true/false.
 */
import { atom, emptyMessage, type Message, type Value } from '../../src/core/value.ts'

export function parseEterm(src: string): Value {
  let i = 0
  const skip = (): void => {
    for (;;) {
      while (i < src.length && /\s/.test(src[i]!)) i++
      if (src[i] === '%') { while (i < src.length && src[i] !== '\n') i++; continue }
      return
    }
  }
  const expect = (s: string): void => {
    skip()
    if (!src.startsWith(s, i)) throw new Error(`eterm: expected ${s} at ${i}: ${src.slice(i, i + 20)}`)
    i += s.length
  }
  const value = (): Value => {
    skip()
    if (src.startsWith('#{', i)) {
      i += 2
      const m: Message = emptyMessage()
      skip()
      if (src[i] === '}') { i++; return m }
      for (;;) {
        const k = value()
        expect('=>')
        m[String(k)] = value()
        skip()
        if (src[i] === ',') { i++; continue }
        expect('}')
        return m
      }
    }
    if (src[i] === '[') {
      i++
      const out: Value[] = []
      skip()
      if (src[i] === ']') { i++; return out }
      for (;;) {
        out.push(value())
        skip()
        if (src[i] === ',') { i++; continue }
        expect(']')
        return out
      }
    }
    if (src.startsWith('<<"', i)) {
      i += 3
      let s = ''
      while (src[i] !== '"') {
        if (src[i] === '\\') { i++; s += src[i] === 'n' ? '\n' : src[i]!; i++ }
        else s += src[i++]!
      }
      i++
      expect('>>')
      return s
    }
    const m = /^-?[0-9]+/.exec(src.slice(i))
    if (m) { i += m[0].length; return BigInt(m[0]) }
    const a = /^[a-z][a-zA-Z0-9_@]*/.exec(src.slice(i))
    if (a) { i += a[0].length; return atom(a[0]) }
    throw new Error(`eterm: unexpected ${src.slice(i, i + 20)}`)
  }
  const v = value()
  skip()
  if (src[i] === '.') i++
  return v
}
