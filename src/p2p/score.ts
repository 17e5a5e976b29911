/**
 * Peer scoring of our topics. gossipsub only scores topics that have topic
 * parameters, and looks them up when it scores, so a topic is scored from
 * the moment we subscribe to it (process topics are created at run time).
 *
 * What counts: invalid messages (P4, weight −10 × count², decaying by 5 % a
 * second): one rejected payload costs −10, three cost −90, below gossipsub's
 * graylist threshold (−80), after which the peer's RPCs are ignored. Mesh
 * delivery deficits (P3, P3b) are switched off: a quiet process is no fault
 * of its peers. Time in mesh and first deliveries earn a little (≤ +3, ≤ +5).
 */
import type { GossipSub } from '@libp2p/gossipsub'
import { createTopicScoreParams, type TopicScoreParams, type PeerScore } from '@libp2p/gossipsub/score'

export const TOPIC_SCORE: Partial<TopicScoreParams> = {
  topicWeight: 1,
  timeInMeshWeight: 0.05,
  timeInMeshQuantum: 1000,
  timeInMeshCap: 60,
  firstMessageDeliveriesWeight: 0.5,
  firstMessageDeliveriesDecay: 0.9,
  firstMessageDeliveriesCap: 10,
  meshMessageDeliveriesWeight: 0,
  meshFailurePenaltyWeight: 0,
  invalidMessageDeliveriesWeight: -10,
  invalidMessageDeliveriesDecay: 0.95,
}

type Scored = { score: PeerScore; getScore(peerId: string): number }

/** Score a topic with TOPIC_SCORE (the pubsub must be @libp2p/gossipsub's GossipSub). */
export function scoreTopic(pubsub: GossipSub, topic: string): void {
  const params = (pubsub as unknown as Scored).score.params
  params.topics[topic] ??= createTopicScoreParams(TOPIC_SCORE)
}

/** A peer's current gossipsub score (0 for a peer it knows nothing about). */
export function peerScore(pubsub: GossipSub, peerId: string): number {
  return (pubsub as unknown as Scored).getScore(peerId)
}
