/** HyperBEAM `hashpath` and `hash_chain` vectors. */
import type { SuiteLoader, VectorCase } from './harness.ts'
import { category, typed, str } from './oracle.ts'
import { equal, rejects } from './assert.ts'
import { baseHashpath, hashpath, hashpathAlg, extendHashpath, requestPart } from '../../src/core/hashpath.ts'
import { messageId } from '../../src/core/id.ts'
import { emptyMessage } from '../../src/core/value.ts'
import { toB64Url, utf8, concatBytes, fromB64 } from '../../src/core/bytes.ts'
import { sha256 } from '../../src/crypto/hash.ts'

export const hashpathSuite: SuiteLoader = async (fx) => {
  const cases: VectorCase[] = []
  for (const c of await category(fx, 'hashpath')) {
    const base = typed(c.base)
    cases.push({
      name: `hashpath ${str(c.name)}`,
      run: async () => {
        equal(baseHashpath(base), str(c.base_hashpath_or_id_all), 'base hashpath')
        // Each step's result carries the previous hashpath in priv (and the base's hashpath-alg).
        let current = base
        for (const [i, step] of (c.steps as any[]).entries()) {
          if (step.skipped) continue
          const req = typed(step.request)
          if (step.rejected) {
            await rejects(() => hashpath(current, req), undefined, `step ${i + 1}`)
            continue
          }
          if (step.request_id_all !== null) equal(messageId(req, 'all-commitments'), str(step.request_id_all), `step ${i + 1} request id`)
          const hp = hashpath(current, req)
          equal(hp, str(step.hashpath), `step ${i + 1} hashpath`)
          const next = emptyMessage()
          next['result'] = 'r'
          const priv = emptyMessage()
          priv['hashpath'] = hp
          next['priv'] = priv
          if (hashpathAlg(base) === 'accumulate-256') next['hashpath-alg'] = 'accumulate-256'
          current = next
        }
      },
    })
  }
  cases.push({
    name: 'a two-ID hashpath is 87 bytes; requestPart of a path-only request is its first part',
    run: () => {
      const id = messageId(typed({ a: '1' }))
      equal(extendHashpath(id, id).length, 87, 'length')
      equal(requestPart(typed({ path: '/x/y' })), 'x', 'first path part')
    },
  })
  for (const c of await category(fx, 'hash_chain')) {
    cases.push({
      name: `hash chain ${str(c.name)}`,
      run: () => {
        let prev = c.initial_hash_chain === '' ? new Uint8Array(0) : fromB64(str(c.initial_hash_chain))
        for (const [i, slot] of (c.slots as any[]).entries()) {
          const id = messageId(typed(slot.message), 'signed')
          equal(id, str(slot.id_all), `slot ${i} id`)
          prev = sha256(concatBytes(prev, utf8(id)))
          equal(toB64Url(prev), str(slot.hash_chain), `slot ${i} hash chain`)
        }
      },
    })
  }
  return { name: 'HyperBEAM vectors: hashpath and hash_chain', cases }
}
