/**
 * Attestations without a network: the message format (made, read, verified),
 * the table (own vs. others, disputes, equivocation, waiting), and the quorum
 * rule (tallyQuorum: verified / pending / disagreement, disputed wallets never
 * counted).
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { message } from '../../src/core/value.ts'
import { verifyMessage } from '../../src/codecs/commitments.ts'
import { generateWallet, type Wallet } from '../../src/crypto/wallet.ts'
import { AttestationTable, makeAttestation, readAttestation } from '../../src/p2p/attestations.ts'
import { disputeFromMessage, disputeMessage, tallyQuorum, type AttestationFacts, type Dispute } from '../../src/devices/p2p.ts'

const PID = 'P'.repeat(43)
const facts = (o: Partial<AttestationFacts> = {}): AttestationFacts => ({ slot: 3n, assignment: 'a'.repeat(43), hashChain: 'c'.repeat(43), result: 'r'.repeat(43), hashpath: 'h'.repeat(43) + '/' + 'i'.repeat(43), ...o })
const meta = (id: string) => ({ id, announced: true })

describe('attestations', () => {
  let w: Wallet
  beforeAll(async () => { w = await generateWallet() }, 30_000)

  it('an attestation is committed by its node and reads back to the same facts; a malformed one is refused', async () => {
    const m = await makeAttestation(w, PID, facts())
    const v = await verifyMessage(m)
    expect(v.verified).toBe(true)
    expect(v.committers).toEqual([w.address])
    expect(readAttestation(m)).toEqual({ process: PID, node: w.address, ...facts() })
    expect(() => readAttestation(message({ ...m, slot: 'three' }))).toThrow(/InvalidAttestation|integer/)
    expect(() => readAttestation(message({ process: PID, slot: 1n }))).toThrowError(expect.objectContaining({ name: 'InvalidAttestation', status: 400 }))
  })

  it('the table disputes whoever differs from this node\'s own attestation, before or after it is known, and equivocators', () => {
    const t = new AttestationTable('me')
    expect(t.add(PID, 'early-liar', facts({ result: 'x'.repeat(43) }), meta('1'))).toBe(true)
    expect(t.add(PID, 'honest', facts(), meta('2'))).toBe(true)
    expect(t.disputed(PID).size).toBe(0) // nothing to compare with yet
    expect(t.add(PID, 'me', facts(), meta('3'))).toBe(true)
    expect([...t.disputed(PID).keys()]).toEqual(['early-liar'])
    t.add(PID, 'late-liar', facts({ hashpath: 'z' }), meta('4'))
    t.add(PID, 'other-assignment', facts({ assignment: 'q'.repeat(43) }), meta('5'))
    expect([...t.disputed(PID).keys()].sort()).toEqual(['early-liar', 'late-liar', 'other-assignment'])
    expect(t.disputed(PID).get('late-liar')).toMatchObject({ slot: 3n, hashpath: 'z', reason: expect.stringMatching(/own computation/) })
    // The same wallet saying two things about one slot.
    expect(t.add(PID, 'honest', facts({ result: 'y'.repeat(43) }), meta('6'))).toBe(false)
    expect(t.disputed(PID).get('honest')?.reason).toMatch(/two different results/)
    expect(t.slot(PID, 3n)[0]!.own).toBe(true)
    expect(t.slots(PID)).toEqual([3n])
    expect(t.disputed('Q'.repeat(43)).size).toBe(0)
  })

  it('each new dispute is told once (to be kept); a restored dispute is not counted, and is not told again', () => {
    const told: [string, Dispute][] = []
    const t = new AttestationTable('me', { onDispute: (pid, d) => told.push([pid, d]) })
    t.add(PID, 'me', facts(), meta('0'))
    t.add(PID, 'liar', facts({ hashpath: 'bad' }), meta('1'))
    t.add(PID, 'liar', facts({ hashpath: 'worse' }), meta('2')) // already disputed: not told again
    expect(told).toEqual([[PID, t.disputed(PID).get('liar')]])
    expect(disputeFromMessage(disputeMessage(told[0]![1]))).toEqual(told[0]![1])
    expect(disputeFromMessage(message({ address: 'a', slot: 'one' }))).toBeUndefined()
    // A restarted node's table, given the kept dispute: the wallet stays uncounted.
    const again = new AttestationTable('me', { onDispute: (pid, d) => told.push([pid, d]) })
    again.restoreDispute(PID, told[0]![1])
    again.restoreDispute(PID, { ...told[0]![1], address: 'me' }) // never this node itself
    expect([...again.disputed(PID).keys()]).toEqual(['liar'])
    const own = facts()
    for (const a of ['me', 'b', 'liar']) again.add(PID, a, own, meta(a))
    expect(tallyQuorum(again.slot(PID, 3n), own, 3, again.disputed(PID))).toMatchObject({ verdict: 'pending', agreeing: ['me', 'b'], excluded: ['liar'] })
    expect(told).toHaveLength(1)
  })

  it('next() resolves at the next attestation of the slot, or after the timeout', async () => {
    const t = new AttestationTable('me')
    const t0 = Date.now()
    const p = t.next(PID, 3n, 5_000)
    setTimeout(() => t.add(PID, 'x', facts(), meta('1')), 20)
    await p
    expect(Date.now() - t0).toBeLessThan(1_000)
    const t1 = Date.now()
    await t.next(PID, 4n, 60)
    expect(Date.now() - t1).toBeGreaterThanOrEqual(50)
  })

  it('the quorum rule: verified at K agreeing wallets (differing ones reported, not counted); 409 below K with a difference; 202 otherwise; disputed never counted', () => {
    const own = facts()
    const t = new AttestationTable('me')
    t.add(PID, 'me', own, meta('0'))
    t.add(PID, 'b', own, meta('1'))
    let r = tallyQuorum(t.slot(PID, 3n), own, 3, t.disputed(PID))
    expect(r).toMatchObject({ verdict: 'pending', agreeing: ['me', 'b'], differing: [] })
    t.add(PID, 'liar', facts({ hashpath: 'bad' }), meta('2'))
    r = tallyQuorum(t.slot(PID, 3n), own, 3, t.disputed(PID))
    expect(r.verdict).toBe('disagreement')
    expect(r.differing.map((e) => [e.address, e.hashpath])).toEqual([['liar', 'bad']])
    t.add(PID, 'c', own, meta('3'))
    r = tallyQuorum(t.slot(PID, 3n), own, 3, t.disputed(PID))
    expect(r).toMatchObject({ verdict: 'verified', agreeing: ['me', 'b', 'c'] })
    expect(r.differing).toHaveLength(1)
    // At a later slot the liar attests the right thing: still not counted.
    const own4 = facts({ slot: 4n, result: 's'.repeat(43) })
    for (const a of ['me', 'b', 'liar']) t.add(PID, a, own4, meta(`4${a}`))
    r = tallyQuorum(t.slot(PID, 4n), own4, 3, t.disputed(PID))
    expect(r).toMatchObject({ verdict: 'pending', agreeing: ['me', 'b'], excluded: ['liar'] })
  })
})
