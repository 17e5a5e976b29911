/** Typed errors of snapshots and their blocks. */
import { AoError, BadInput } from '../core/errors.ts'

/** Snapshot bytes that are not a snapshot, or are damaged (bad header, bad encoding, wrong size). */
export class SnapshotCorrupt extends AoError { static override status = 500 }
/** A snapshot written by a format version this node does not read. */
export class SnapshotVersionUnsupported extends AoError { static override status = 501 }
/** A block whose bytes do not hash to its CID (altered or torn on the way or at rest). */
export class BlockCorrupt extends AoError { static override status = 500 }
/** A block the blockstore does not hold. */
export class BlockNotFound extends AoError { static override status = 404 }
/** A CID (or snapshot message) this node cannot use: not a CID, or not sha2-256 with raw/dag-cbor. */
export class InvalidSnapshotRef extends BadInput {}
