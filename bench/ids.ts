/**
 * Unsigned message IDs per second, against the raw HMAC-SHA256 rate over the
 * very signature-base bytes each ID hashes (the ceiling: an ID is that HMAC).
 * Once per hash backend: @noble (what a browser tab runs) and node:crypto
 * (what `ao` installs in Node); the baseline uses the same backend as the IDs.
 */
import { compare, fmt } from './harness.ts'
import { freezeMessage, messageId } from '../src/core/id.ts'
import { toTabm } from '../src/codecs/structured.ts'
import { hmacCommitment, commitmentSignatureBase } from '../src/codecs/httpsig/commitment.ts'
import { hashBackend, hmacAo, nobleHashes, useHashBackend, type HashBackend } from '../src/crypto/hash.ts'
import { nodeHashes } from '../src/crypto/node-hashes.ts'
import { emptyMessage, Float, type Message } from '../src/core/value.ts'

function small(): Message {
  return Object.assign(emptyMessage(), { a: 'b', num: 7n })
}
function fortyKeys(): Message {
  const m = emptyMessage()
  for (let i = 1; i <= 36; i++) m[`f${String(i).padStart(2, '0')}`] = String(i * 7)
  m['at'] = true
  m['fl'] = new Float(2.5)
  m['i1'] = 1n
  m['i2'] = -2n
  return m
}
function nested(): Message {
  return Object.assign(emptyMessage(), {
    top: Object.assign(emptyMessage(), { m: 1n, mid: Object.assign(emptyMessage(), { leaf: 'x', n: 2n }) }),
    k: 'v',
  })
}

export interface IdRow { name: string; backend: string; ids: number; hmac: number; ratio: number }

export function benchIds(): IdRow[] {
  const before = hashBackend()
  try {
    return [nobleHashes, nodeHashes].flatMap((b) => { useHashBackend(b); return idRows(b) })
  } finally {
    useHashBackend(before)
  }
}

function idRows(backend: HashBackend): IdRow[] {
  const rows: IdRow[] = []
  const cases = [['small message {a, num}', small], ['40-key message', fortyKeys], ['3-level nested message', nested]] as const
  for (const [name, make] of cases) {
    const msg = make()
    const t = toTabm(msg, { linkify: 'discard' })
    const base = commitmentSignatureBase(t, hmacCommitment(t)[1])
    // Cold: a mutable message, hashed afresh every time (nested: one HMAC per level).
    const cold = compare(() => messageId(msg), () => hmacAo(base))
    rows.push({ name: `${name}, ${base.length}-byte base`, backend: backend.name, ids: cold.subject, hmac: cold.baseline, ratio: cold.ratio })
    if (name.startsWith('3-level')) {
      // A new top-level message over frozen sub-messages whose IDs are cached.
      const top = freezeMessage(nested()['top'] as Message)
      const warm = compare(() => messageId(Object.assign(emptyMessage(), { top, k: 'v' })), () => hmacAo(base))
      rows.push({ name: `${name}, frozen sub-messages (cached IDs)`, backend: backend.name, ids: warm.subject, hmac: warm.baseline, ratio: warm.ratio })
    }
  }
  return rows
}

export function printIds(rows: IdRow[]): void {
  console.log('\nUnsigned IDs per second vs raw HMAC-SHA256 over the same signature base, per hash backend (the baseline on the same backend)')
  console.log('| message | hashes | IDs/s | HMAC/s (baseline) | ratio |')
  console.log('|---|---|---:|---:|---:|')
  for (const r of rows) console.log(`| ${r.name} | ${r.backend} | ${fmt(r.ids)} | ${fmt(r.hmac)} | ${r.ratio.toFixed(2)} |`)
}
