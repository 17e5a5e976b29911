/**
 * The gossipsub service every host runs (host.ts in Node, browser-host.ts in
 * a tab): StrictSign (gossipsub's default), a message's ID the SHA-256 of its
 * data (payloads are canonical, see payload.ts, so the same message published
 * by two peers is one message), and publishing allowed before a topic has
 * peers (a lone node still schedules; a duplicate publish is not an error).
 * Browser-pure.
 */
import { gossipsub, type GossipsubOpts } from '@libp2p/gossipsub'
import { sha256 } from '../crypto/hash.ts'

const contentMsgId = (msg: { data: Uint8Array }): Uint8Array => sha256(msg.data)

/** The gossipsub service with our defaults, `extra` over them (tests lower heartbeat intervals and so on). */
export function pubsubService(extra: Partial<GossipsubOpts> = {}): ReturnType<typeof gossipsub> {
  return gossipsub({
    allowPublishToZeroTopicPeers: true,
    ignoreDuplicatePublishError: true,
    msgIdFn: contentMsgId,
    ...extra,
  })
}
