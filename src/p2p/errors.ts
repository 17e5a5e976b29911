/** Typed errors of the network layer (one class per condition, with the HTTP status to answer). */
import { AoError, BadInput, UpstreamFailed } from '../core/errors.ts'

/** A gossip payload (or a catch-up frame) over the size limit (413). */
export class PayloadTooLarge extends AoError { static override status = 413 }
/** Bytes that are not a typed-JSON message (400). */
export class InvalidPayload extends BadInput {}
/** A node announcement that is malformed, unsigned, or names another peer than its sender (400). */
export class InvalidAnnouncement extends BadInput {}
/** A catch-up request that failed: peer unreachable, protocol error, or an answer that does not validate (502). */
export class CatchupFailed extends UpstreamFailed {}
/** A block could not be fetched from peers in time (504). */
export class BlockFetchTimeout extends AoError { static override status = 504 }
/** A network operation (p2p@1.0, a forwarded message, a quorum read) on a node that has not joined a network (503). */
export class NoNetwork extends AoError { static override status = 503 }
/** Nobody on the network follows the process, so a forwarded message would reach no scheduler (503). */
export class NoPeers extends AoError { static override status = 503 }
/** An attestation without the keys it needs (process, integer slot, assignment, hash-chain, result, hashpath, node) (400). */
export class InvalidAttestation extends BadInput {}
