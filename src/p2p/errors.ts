/** Typed errors of the network layer (one class per condition, with the HTTP status to answer). */
import { AoError, BadInput, UpstreamFailed } from '../core/errors.ts'

/** A gossip payload (or a catch-up frame) over the size limit (413). */
export class PayloadTooLarge extends AoError { static override status = 413 }
/** Bytes that are not a typed-JSON message (400). */
export class InvalidPayload extends BadInput {}
/** A payload whose commitments do not verify, or that is not committed by whom it must be (400). */
export class UnverifiedPayload extends BadInput {}
/** A node announcement that is malformed, unsigned, or names another peer than its sender (400). */
export class InvalidAnnouncement extends BadInput {}
/** A catch-up request that failed: peer unreachable, protocol error, or an answer that does not validate (502). */
export class CatchupFailed extends UpstreamFailed {}
/** The node has not joined a network (no libp2p host) (503). */
export class NotJoined extends AoError { static override status = 503 }
/** A block could not be fetched from peers in time (504). */
export class BlockFetchTimeout extends AoError { static override status = 504 }
