/** HyperBEAM `signed` vectors: RSA-PSS-SHA512 httpsig commitments made with test/key-1.json. */
import type { SuiteLoader, VectorCase } from './harness.ts'
import { category, typed, vectorBytes, str } from './oracle.ts'
import { deepEqual, equal, ok } from './assert.ts'
import { toTabm } from '../../src/codecs/structured.ts'
import { commitmentSignatureBase, commitmentsOf, fromHttp } from '../../src/codecs/httpsig/index.ts'
import { commitMessage, verifyMessage } from '../../src/codecs/commitments.ts'
import { messageId } from '../../src/core/id.ts'
import { loadJwk } from '../../src/crypto/wallet.ts'
import { bytesEqual, fromUtf8 } from '../../src/core/bytes.ts'
import { emptyMessage, type Message } from '../../src/core/value.ts'
import type { HttpMessage } from '../../src/codecs/httpsig/types.ts'

export const signedSuite: SuiteLoader = async (fx) => {
  const cases: VectorCase[] = []
  const jwk = await fx.json('hyperbeam-data/test/key-1.json')
  for (const c of await category(fx, 'signed')) {
    const name = str(c.name)
    const signed = typed(c.signed_message)
    cases.push({
      name: `${name}: verifies, IDs and committers`,
      run: async () => {
        const v = await verifyMessage(signed)
        equal(v.verified, c.verify === true, 'verified')
        deepEqual(v.committers, (c.signers as unknown[]).map(String), 'committers')
        equal(messageId(signed, 'unsigned'), str(c.unsigned_id), 'unsigned id')
        equal(messageId(signed, 'signed'), str(c.signed_id_all), 'signed id')
        equal(messageId(signed, 'signed'), str(c.rsa_commitment_id), 'rsa commitment id')
      },
    })
    cases.push({
      name: `${name}: signature bases equal HyperBEAM's`,
      run: () => {
        const t = toTabm(signed, { linkify: 'discard' })
        const comms = commitmentsOf(t)
        for (const id of Object.keys(c.commitments_detail)) {
          const base = commitmentSignatureBase(t, comms[id]!)
          ok(bytesEqual(base, vectorBytes(c.commitments_detail[id].signature_base)), `base of ${id}`)
        }
      },
    })
    for (const t of c.tampered as any[]) {
      cases.push({
        name: `${name}: tampered (${str(t.kind)}) does not verify`,
        run: async () => equal((await verifyMessage(typed(t.message))).verified, t.verify === true, 'verified'),
      })
    }
    cases.push({
      name: `${name}: HyperBEAM's wire form decodes and verifies`,
      run: async () => {
        const http = typed(c.wire_headers) as unknown as HttpMessage
        if (c.wire_body !== null) http['body'] = fromUtf8(vectorBytes(c.wire_body))
        const decoded = fromHttp(http) as unknown as Message
        const v = await verifyMessage(decoded)
        equal(v.verified, c.wire_roundtrip_verify === true, 'wire verify')
      },
    })
    cases.push({
      name: `${name}: our own signature with key-1 verifies and has HyperBEAM's unsigned ID`,
      run: async () => {
        const wallet = await loadJwk(jwk)
        const input = typed(c.input)
        const ours = await commitMessage(input, { wallet })
        const v = await verifyMessage(ours)
        ok(v.verified, 'our signature verifies')
        deepEqual(v.committers, [wallet.address], 'committer')
        equal(messageId(ours, 'unsigned'), str(c.unsigned_id), 'unsigned id (HMAC stacked on the signed keys)')
        const tampered = emptyMessage()
        Object.assign(tampered, ours)
        const key = Object.keys(input)[0]!
        tampered[key] = 'tampered'
        equal((await verifyMessage(tampered)).verified, false, 'tampered copy')
      },
    })
  }
  return { name: 'HyperBEAM vectors: signed', cases }
}
