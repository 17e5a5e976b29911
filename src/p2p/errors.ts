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
