/** HyperBEAM `ids` vectors: TABM, signature base, unsigned ID and id_all. */
import type { SuiteLoader, VectorCase } from './harness.ts'
import { category, typed, typedValue, vectorBytes, str } from './oracle.ts'
import { deepEqual, equal, ok } from './assert.ts'
import { toTabm } from '../../src/codecs/structured.ts'
import { fromTabm } from '../../src/codecs/structured.ts'
import { hmacCommitment, commitmentSignatureBase, verifyCommitment, committedKeys } from '../../src/codecs/httpsig/commitment.ts'
import { messageId } from '../../src/core/id.ts'
import { bytesEqual, toB64Url } from '../../src/core/bytes.ts'
import { hmacAo } from '../../src/crypto/hash.ts'
import { emptyMessage, type Message } from '../../src/core/value.ts'
import { listToNumbered } from '../../src/codecs/structured.ts'

/** More than 32 keys: HyperBEAM orders by its HAMT; we sort (see README, "Deliberate differences"). */
const HAMT_CASES = new Set(['33-keys-hamt', '40-keys-mixed-types'])

export const idsSuite: SuiteLoader = async (fx) => {
  const cases: VectorCase[] = []
  for (const c of await category(fx, 'ids')) {
    const name = str(c.name)
    const input = typedValue(c.input) as Message
    cases.push({
      name: `${name}: TABM`,
      run: () => deepEqual(toTabm(input, { linkify: 'discard' }), typed(c.tabm), 'tabm'),
    })
    if (HAMT_CASES.has(name)) {
      cases.push({
        name: `${name}: our ID uses sorted order, and HyperBEAM's HAMT-ordered commitment verifies in its carried order`,
        run: async () => {
          const t = toTabm(input, { linkify: 'discard' })
          const ours = messageId(input)
          ok(ours !== str(c.unsigned_id), 'sorted-order ID differs from the HAMT-order ID')
          const comm = emptyMessage()
          comm['commitment-device'] = 'httpsig@1.0'
          comm['type'] = 'hmac-sha256'
          comm['keyid'] = 'ao'
          comm['committed'] = listToNumbered((c.hmac_committed_keys as string[]).map(String))
          comm['signature'] = str(c.hmac_commitment_id)
          ok(await verifyCommitment(t, comm), 'HyperBEAM commitment verifies')
          ok(bytesEqual(commitmentSignatureBase(t, comm), vectorBytes(c.signature_base)), 'carried-order signature base')
        },
      })
      continue
    }
    cases.push({
      name: `${name}: commit-time signature base and HMAC ID`,
      run: () => {
        const t = toTabm(input, { linkify: 'discard' })
        const [id, comm] = hmacCommitment(t)
        equal(id, str(c.hmac_commitment_id), 'hmac commitment id')
        deepEqual(committedKeys(comm), (c.hmac_committed_keys as unknown[]).map(String), 'committed keys')
        const expectedBase = vectorBytes(c.commit_time_signature_base ?? c.signature_base)
        equal(toB64Url(hmacAo(expectedBase)), id, 'HMAC of the vector base equals our ID')
      },
    })
    cases.push({
      name: `${name}: verify-time signature base`,
      run: () => {
        const t = toTabm(input, { linkify: 'discard' })
        const [, comm] = hmacCommitment(t)
        ok(bytesEqual(commitmentSignatureBase(t, comm), vectorBytes(c.signature_base)), 'signature base')
      },
    })
    cases.push({
      name: `${name}: unsigned ID and id_all`,
      run: () => {
        equal(messageId(input, 'unsigned'), str(c.unsigned_id), 'unsigned id')
        equal(messageId(input, 'signed'), str(c.id_all), 'id_all')
      },
    })
    const j = JSON.stringify(c.input)
    if (!/"[^"]*[A-Z][^"]*":/.test(j) && !j.includes('"priv')) cases.push({
      name: `${name}: TABM decodes back to the input`,
      run: () => deepEqual(fromTabm(toTabm(input, { linkify: false })), input, 'round trip'),
    })
  }
  return { name: 'HyperBEAM vectors: ids', cases }
}
