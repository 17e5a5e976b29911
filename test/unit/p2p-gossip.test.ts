/**
 * ProcessGossip's validation rules without a network: each payload goes
 * through the topic validator it registers, as gossipsub would call it, and
 * the verdict, the counters and the delivery to handlers are checked.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { GossipSub, GossipsubMessage, Message as PubsubMessage, TopicValidatorFn } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import { message, type Message } from '../../src/core/value.ts'
import { commitMessage } from '../../src/codecs/commitments.ts'
import { messageId } from '../../src/core/id.ts'
import { utf8 } from '../../src/core/bytes.ts'
import { loadJwk, type Wallet } from '../../src/crypto/wallet.ts'
import { ProcessGossip, type AssignmentValidator, type GossipMeta } from '../../src/p2p/gossip.ts'
import { encodePayload } from '../../src/p2p/payload.ts'
import { processTopic, type ProcessChannel } from '../../src/p2p/topics.ts'
import { nodeFixtures } from './node-fixtures.ts'

/** Just enough of gossipsub: validators, subscriptions, the delivery event. */
class FakePubsub extends EventTarget {
  topicValidators = new Map<string, TopicValidatorFn>()
  subscribed = new Set<string>()
  published: Array<[string, Uint8Array]> = []
  score = { params: { topics: {} as Record<string, unknown> } }
  subscribe(t: string): void { this.subscribed.add(t) }
  unsubscribe(t: string): void { this.subscribed.delete(t) }
  getSubscribers(): PeerId[] { return [] }
  async publish(t: string, d: Uint8Array) { this.published.push([t, d]); return { recipients: [] } }
  getScore(): number { return 0 }
}

let w1: Wallet, w2: Wallet
let from: PeerId
beforeAll(async () => {
  ;[w1, w2] = await Promise.all(['key-1.json', 'key-2.json'].map(async (f) => loadJwk(await nodeFixtures.json(`hyperbeam-data/test/${f}`))))
  from = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
})

const PID = 'P'.repeat(43)

function setup(o: { validateAssignment?: AssignmentValidator; max?: number; verifies?: boolean } = {}) {
  const ps = new FakePubsub()
  const g = new ProcessGossip(ps as unknown as GossipSub, {
    ...(o.validateAssignment ? { validateAssignment: o.validateAssignment } : {}), ...(o.max ? { maxPayloadBytes: o.max } : {}),
    ...(o.verifies ? { assignmentValidatorVerifies: true } : {}),
  })
  const got: Array<[ProcessChannel, Message, GossipMeta]> = []
  g.subscribe(PID, {
    message: (m, meta) => got.push(['messages', m, meta]),
    assignment: (m, meta) => got.push(['assignments', m, meta]),
    attestation: (m, meta) => got.push(['attestations', m, meta]),
  })
  /** Run a payload through the topic's validator and, if accepted, deliver it as gossipsub would. */
  const offer = async (channel: ProcessChannel, data: Uint8Array): Promise<string> => {
    const topic = processTopic(PID, channel)
    const msg = { type: 'signed', from, topic, data, sequenceNumber: 1n, signature: new Uint8Array(), key: undefined } as unknown as PubsubMessage
    const v = await ps.topicValidators.get(topic)!(from, msg)
    if (v === 'accept') ps.dispatchEvent(new CustomEvent<GossipsubMessage>('gossipsub:message', { detail: { propagationSource: from, msgId: 'x', msg } }))
    return v
  }
  return { ps, g, got, offer }
}

const signed = (m: Record<string, unknown>, w: Wallet = w1): Promise<Message> => commitMessage(message(m as Record<string, never>), { wallet: w })

describe('ProcessGossip validation', () => {
  it('subscribing registers the three topics, their validators and their score parameters; unsubscribing removes them', () => {
    const { ps, g } = setup()
    for (const ch of ['messages', 'assignments', 'attestations'] as const) {
      const t = processTopic(PID, ch)
      expect(ps.subscribed.has(t)).toBe(true)
      expect(ps.topicValidators.has(t)).toBe(true)
      expect(ps.score.params.topics[t]).toMatchObject({ invalidMessageDeliveriesWeight: -10, meshMessageDeliveriesWeight: 0 })
    }
    const off = g.subscribe('Q'.repeat(43), {})
    expect(ps.subscribed.size).toBe(6)
    off()
    expect(ps.subscribed.size).toBe(3)
    g.close()
    expect(ps.subscribed.size).toBe(0)
    expect(ps.topicValidators.size).toBe(0)
  })

  it('messages: signed and verified for this process are accepted once; the rest rejected', async () => {
    const { offer, got } = setup({ max: 4096 })
    const m = await signed({ target: PID, n: 1n })
    expect(await offer('messages', encodePayload(m))).toBe('accept')
    expect(got).toHaveLength(1)
    expect(got[0]![2]).toMatchObject({ pid: PID, channel: 'messages', id: messageId(m, 'signed'), committers: [w1.address], from: from.toString() })
    expect(await offer('messages', encodePayload(message({ ...m, extra: 'x' })))).toBe('ignore') // same signed ID
    expect(await offer('messages', encodePayload(await signed({ target: `${PID}?hint=1`, n: 2n })))).toBe('accept') // a hint is not another process
    expect(await offer('messages', encodePayload(await signed({ target: 'Q'.repeat(43), n: 3n })))).toBe('reject') // another process
    expect(await offer('messages', encodePayload(message({ ...(await signed({ target: PID, n: 4n })), n: 5n })))).toBe('reject') // tampered
    expect(await offer('messages', encodePayload(await commitMessage(message({ target: PID, n: 6n }))))).toBe('reject') // HMAC only: not signed
    expect(await offer('messages', utf8('{"a":"' + 'x'.repeat(5000) + '"}'))).toBe('reject') // over the limit
    expect(await offer('messages', utf8('nope'))).toBe('reject')
    expect(got).toHaveLength(2)
  })

  it('assignments: for this process, an integer slot, and the node\'s verdict (a throwing validator is ignore)', async () => {
    const calls: Array<[string, Message, Message | undefined]> = []
    let verdict: 'accept' | 'reject' | 'ignore' | 'throw' = 'accept'
    const { offer, got, g } = setup({
      validateAssignment: async (pid, a, body) => {
        calls.push([pid, a, body])
        if (verdict === 'throw') throw new Error('the node broke')
        return verdict
      },
    })
    const body = await signed({ target: PID, n: 1n }, w2)
    const mk = (o: Record<string, unknown>) => signed({ process: PID, slot: 1n, 'hash-chain': 'h', body, ...o })
    expect(await offer('assignments', encodePayload(await mk({})))).toBe('accept')
    expect(calls[0]![0]).toBe(PID)
    expect(messageId(calls[0]![2]!, 'signed')).toBe(messageId(body, 'signed'))
    expect(await offer('assignments', encodePayload(await mk({ process: 'Q'.repeat(43) })))).toBe('reject')
    expect(await offer('assignments', encodePayload(await mk({ slot: '1' })))).toBe('reject')
    expect(await offer('assignments', encodePayload(await mk({ slot: -1n })))).toBe('reject')
    verdict = 'reject'
    expect(await offer('assignments', encodePayload(await mk({ slot: 2n })))).toBe('reject')
    verdict = 'ignore'
    expect(await offer('assignments', encodePayload(await mk({ slot: 3n })))).toBe('ignore')
    verdict = 'throw'
    expect(await offer('assignments', encodePayload(await mk({ slot: 4n })))).toBe('ignore')
    expect(got.map(([ch]) => ch)).toEqual(['assignments'])
    expect(g.counts.assignments).toEqual({ accept: 1, reject: 4, ignore: 2 })
  })

  it('attestations: committed by the wallet named in `node`', async () => {
    const { offer, got } = setup()
    const att = (o: Record<string, unknown>, w: Wallet) => signed({ process: PID, slot: 0n, assignment: 'a', 'hash-chain': 'h', result: 'r', hashpath: 'p', ...o }, w)
    expect(await offer('attestations', encodePayload(await att({ node: w1.address }, w1)))).toBe('accept')
    expect(await offer('attestations', encodePayload(await att({ node: w1.address, slot: 1n }, w2)))).toBe('reject') // w2 attests in w1's name
    expect(await offer('attestations', encodePayload(await att({ slot: 2n }, w1)))).toBe('reject') // no node
    expect(await offer('attestations', encodePayload(await att({ node: w2.address, process: 'Q'.repeat(43) }, w2)))).toBe('reject')
    expect(got).toHaveLength(1)
  })

  it('publishing: size-checked, marks the ID as seen (its echo is ignored), on the channel\'s topic', async () => {
    const { ps, g, offer } = setup({ max: 2048 })
    const m = await signed({ target: PID, n: 9n })
    const r = await g.publishMessage(PID, m)
    expect(r.id).toBe(messageId(m, 'signed'))
    expect(ps.published[0]![0]).toBe(processTopic(PID, 'messages'))
    expect(await offer('messages', ps.published[0]![1])).toBe('ignore')
    await expect(g.publishAttestation(PID, message({ data: 'x'.repeat(3000) }))).rejects.toMatchObject({ name: 'PayloadTooLarge' })
  })

  it('with assignmentValidatorVerifies, an assignment goes to the validator unverified (its verdict stands; origin passed); unsigned ones are still rejected', async () => {
    const seen: Array<[Message, string | undefined]> = []
    const verdicts: Array<'accept' | 'reject'> = ['reject', 'accept']
    const { offer, got } = setup({ verifies: true, validateAssignment: async (_p, x, _b, origin) => { seen.push([x, origin?.from]); return verdicts.shift()! } })
    const good = await signed({ process: PID, slot: 1n, n: 1n })
    const tampered = message({ ...good, n: 2n }) // commitments no longer verify: the validator (importAssignment) says reject
    expect(await offer('assignments', encodePayload(tampered))).toBe('reject')
    expect(await offer('assignments', encodePayload(good))).toBe('accept')
    expect(seen.map(([x, f]) => [x['n'], f])).toEqual([[2n, from.toString()], [1n, from.toString()]])
    expect(got.filter(([ch]) => ch === 'assignments')).toHaveLength(1)
    expect(await offer('assignments', encodePayload(message({ process: PID, slot: 2n })))).toBe('reject')
    expect(seen).toHaveLength(2) // an unsigned one never reaches the validator
  })
})
