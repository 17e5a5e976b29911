/**
 * Bundled by store.e2e.js: runs in a Chromium module Web Worker on real
 * IndexedDB. `?phase=empty` checks a fresh origin holds nothing, `write`
 * stores exact values, links and a chunked snapshot, `check` (after a page
 * reload) reads them back and compares their canonical encodings, so every
 * type (bigint, Float, Atom, Link, Uint8Array vs string, null prototypes)
 * must have survived. Reports `{ ok, phase, detail | error }` by postMessage.
 */
import { IdbStore } from '../../src/store/idb.ts'
import { encodeValue } from '../../src/store/encoding.ts'
import { openIdbBlocks } from '../../src/snapshot/idb-blockstore.ts'
import { CHUNK_SIZE, getSnapshot, putSnapshot } from '../../src/snapshot/index.ts'
import { Atom, Float, Link, message, type Message, type Value } from '../../src/core/value.ts'
import type { Stored } from '../../src/store/store.ts'

const scope = globalThis as unknown as { postMessage(m: unknown): void; location: Location }
const STORE_DB = 'e2e-store'
const BLOCKS_DB = 'e2e-blocks'

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')

function values(): [string, Stored][] {
  const nested = message([
    ['int', 2n ** 200n], ['neg', -(2n ** 70n) - 1n], ['one', new Float(1)], ['negZero', new Float(-0)], ['nan', new Float(NaN)],
    ['atom', new Atom('ok')], ['t', true], ['n', null], ['bin', new Uint8Array([0, 255, 128])], ['utf8Bytes', new Uint8Array([104, 105])],
    ['str', 'héllo 🌍'], ['link', new Link('OAbBb5bvbUYh3BqcHCEBwWZOsVjcC8kbnIoydUcE_fI')], ['__proto__', 'a plain key'],
    ['list', [1n, 'a', [new Float(2.5), message({ deep: [null, new Atom('x')] })], []]],
  ])
  return [
    ['computed/pid/slot/0', nested], ['computed/pid/slot/1', [nested, 3n] as Value[]], ['data/str', 'just text'],
    ['data/bytes', new Uint8Array([0xff, 0xfe, 0x00])], ['data/utf8-bytes', new Uint8Array([97, 98, 99])],
  ]
}

const heap = (): Uint8Array => Uint8Array.from({ length: 2 * CHUNK_SIZE + 777 }, (_, i) => (i * 31 + (i >> 9)) & 0xff)
const snapshotState = (): Value => message({ process: 'pid', slot: 41n, heap: heap() })

async function run(phase: string): Promise<string> {
  const store = await IdbStore.open(STORE_DB)
  const blocks = await openIdbBlocks(BLOCKS_DB)
  if (phase === 'empty') {
    for (const [p] of values()) if ((await store.read(p)) !== undefined) throw new Error(`${p} exists on a fresh profile`)
    if ((await store.read('computed/pid/latest')) !== undefined) throw new Error('the snapshot message exists on a fresh profile')
    return 'nothing stored yet'
  }
  if (phase === 'write') {
    for (const [p, v] of values()) await store.write(p, v)
    await store.link('computed/pid/latest', 'computed/pid/slot/1')
    const ref = await putSnapshot(blocks, snapshotState(), message({ process: 'pid', slot: 41n }))
    await store.write('snapshot/pid/41', ref.message)
    // Rough figures for whoever sizes work on this store (not asserted: machines differ).
    const small = message({ balance: 10n ** 18n, slot: 1n, body: 'x'.repeat(200) })
    const N = 300
    let t = performance.now()
    for (let i = 0; i < N; i++) await store.write(`bench/seq/${i}`, small)
    const seq = Math.round(N / ((performance.now() - t) / 1000))
    t = performance.now()
    await Promise.all(Array.from({ length: N }, (_, i) => store.write(`bench/par/${i}`, small)))
    const par = Math.round(N / ((performance.now() - t) / 1000))
    t = performance.now()
    for (let i = 0; i < N; i++) {
      await store.batch([
        { op: 'write', path: `bench/batch/r${i}`, value: small },
        { op: 'link', path: `bench/batch/slot/${i}`, target: `bench/batch/r${i}` },
        { op: 'link', path: `bench/batch/id/${i}`, target: `bench/batch/r${i}` },
      ])
    }
    const batches = Math.round(N / ((performance.now() - t) / 1000))
    t = performance.now()
    for (let i = 0; i < N; i++) await store.read(`bench/seq/${i}`)
    const reads = Math.round(N / ((performance.now() - t) / 1000))
    return `wrote ${values().length} values, a link and snapshot ${ref.cid}; ` +
      `IdbStore here: ${seq} sequential writes/s, ${par} concurrent writes/s, ${batches} batches (a value + 2 links)/s, ${reads} reads/s`
  }
  if (phase === 'check') {
    const dbs = (await indexedDB.databases()).map((d) => d.name)
    for (const d of [STORE_DB, BLOCKS_DB]) if (!dbs.includes(d)) throw new Error(`IndexedDB has no database ${d} (has ${dbs.join(', ')})`)
    for (const [p, v] of values()) {
      const got = await store.read(p)
      if (got === undefined) throw new Error(`${p} did not survive the reload`)
      if (hex(encodeValue(got)) !== hex(encodeValue(v))) throw new Error(`${p} came back different`)
      if (v instanceof Uint8Array && !(got instanceof Uint8Array)) throw new Error(`${p}: bytes came back as ${typeof got}`)
    }
    const nested = (await store.read('computed/pid/slot/0')) as Message
    if (Object.getPrototypeOf(nested) !== null || !Object.keys(nested).includes('__proto__')) throw new Error('a message lost its null prototype')
    if (hex(encodeValue((await store.read('computed/pid/latest'))!)) !== hex(encodeValue(values()[1]![1]))) throw new Error('the link did not survive')
    const list = await store.list('computed/pid')
    if (list.join(',') !== 'latest,slot') throw new Error(`list computed/pid gave ${list}`)
    const msg = (await store.read('snapshot/pid/41')) as Message
    const restored = await getSnapshot(blocks, msg)
    if (hex(encodeValue(restored)) !== hex(encodeValue(snapshotState()))) throw new Error('the snapshot restored different')
    return `all values, the link and snapshot ${msg['snapshot-cid'] as string} (${msg['snapshot-size']} bytes) survived`
  }
  throw new Error(`unknown phase ${phase}`)
}

const phase = new URL(scope.location.href).searchParams.get('phase') ?? ''
run(phase).then(
  (detail) => scope.postMessage({ ok: true, phase, detail }),
  (e: unknown) => scope.postMessage({ ok: false, phase, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) }),
)
