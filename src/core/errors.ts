/**
 * One error class per condition. Each carries the HTTP status HyperBEAM
 * would answer with (spec §1.7), so the HTTP layer never has to guess.
 */
export class AoError extends Error {
  static status = 500
  readonly status: number
  constructor(message: string, status?: number) {
    super(message)
    this.name = new.target.name
    this.status = status ?? (new.target as unknown as { status: number }).status
  }
}

/** Input that is not what the codec or parser expects (HyperBEAM: 400). */
export class BadInput extends AoError { static override status = 400 }
export class InvalidBase64 extends BadInput {}
export class InvalidUtf8 extends BadInput {}
export class InvalidTypedJson extends BadInput {}
export class InvalidStructuredField extends BadInput {}
export class InvalidAoType extends BadInput {}
export class InvalidFloat extends BadInput {}
export class InvalidInteger extends BadInput {}
export class InvalidHashpath extends BadInput {}
export class CannotAccumulate extends BadInput {}
export class InvalidPath extends BadInput {}
export class PathSegmentTooLong extends InvalidPath {}
export class UnknownPathType extends InvalidPath {}
export class FlatCollision extends BadInput {}
export class InvalidJson extends BadInput {}
export class InvalidMultipart extends BadInput {}
export class InvalidSignatureHeader extends BadInput {}
export class InvalidCommitment extends BadInput {}
export class UnsupportedCommitment extends BadInput {}
export class InvalidWallet extends BadInput {}
export class InvalidDataItem extends BadInput {}
export class InvalidAvro extends InvalidDataItem {}
export class UnknownCodec extends BadInput {}
/** A message could not be converted because a value has no encoding. */
export class UnencodableValue extends BadInput {}
export class ContentDigestMismatch extends BadInput {}
/** A data item field that HyperBEAM forbids in a TABM (`id`, `owner`, `signature`, ...). */
export class ReservedItemField extends InvalidDataItem {}
/** ans104@1.0 bundles (nested maps, values of 4096 bytes or more) are not supported. */
export class UnsupportedBundle extends BadInput {}
/** RSA parameters that cannot be used (salt too long, wrong key size). */
export class InvalidRsaParams extends BadInput {}
/** Sub-paths `(…)` nested deeper than the parser allows. */
export class PathTooDeep extends InvalidPath {}
/** Re-entering a resolution that is already running (HyperBEAM: 508). */
export class InfiniteRecursion extends AoError { static override status = 508 }
/** A device name that is not preloaded. */
export class UnknownDevice extends AoError { static override status = 404 }
/** A device (other than message@1.0) with no function for the key and no fallback. */
export class UnresolvableKey extends AoError { static override status = 404 }
/** `only-if-cached` and no cached result (HyperBEAM: 504). */
export class NotCached extends AoError { static override status = 504 }
/** A message referenced by ID that the store does not hold. */
export class MessageNotFound extends AoError { static override status = 404 }
/** A resolution step gave a status that cannot continue a path (HyperBEAM: 422). */
export class InvalidIntermediateStatus extends AoError { static override status = 422 }
/** A request that must be committed by someone in particular and is not. */
export class Unauthorized extends AoError { static override status = 401 }
export class Forbidden extends AoError { static override status = 403 }
/** A peer or upstream that could not be reached (relay@1.0). */
export class UpstreamFailed extends AoError { static override status = 502 }
/** A store could not read or write (disk full, permissions, I/O error). */
export class StoreFailed extends AoError { static override status = 500 }
/** An SEV-SNP attestation report that is not 1184 bytes or not the `sev` crate's JSON form. */
export class InvalidSnpReport extends BadInput {}
/** A VCEK/VLEK/AMD certificate that cannot be parsed as X.509 DER or PEM. */
export class InvalidSnpCertificate extends BadInput {}
/** An snp@1.0 verify request without what it needs (report, address, node-message or its ID). */
export class InvalidSnpMessage extends BadInput {}
/** An OVMF firmware image (or layout) whose SEV metadata cannot be read. */
export class InvalidOvmf extends BadInput {}
/** snp@1.0 generate on a machine with no SEV-SNP guest interface (configfs-tsm or /dev/sev-guest). */
export class SnpHardwareUnavailable extends AoError { static override status = 503 }
/** The SEV-SNP hardware is there but refused or failed the report request. */
export class SnpGenerateFailed extends AoError { static override status = 500 }
/** snp@1.0 generate on a node that has no wallet (HyperBEAM: no_wallet_available). */
export class SnpNoWallet extends AoError { static override status = 500 }
/** snp@1.0 generate with an empty `snp_trusted` list (HyperBEAM: no_trusted_configs). */
export class SnpNoTrustedConfigs extends AoError { static override status = 500 }
/** A peer answered the SNP relay protocol with something that is not an SNP evidence message. */
export class SnpRelayFailed extends UpstreamFailed {}
/** An assignment to import with no signature. */
export class AssignmentUnsigned extends BadInput {}
/** An assignment to import with a commitment that does not verify (altered, or forged). */
export class AssignmentSignatureInvalid extends BadInput {}
/** An assignment without an integer `slot`, a `process` or a `hash-chain`, or naming no message. */
export class AssignmentMalformed extends BadInput {}
/** A process message (given to import assignments for, or to schedule for) that is unsigned or does not verify. */
export class ProcessMessageInvalid extends BadInput {}
/** An assignment for another process than the one it is imported into. */
export class AssignmentWrongProcess extends BadInput {}
/** An assignment committed by no address of the process's `scheduler` list. */
export class AssignmentNotByScheduler extends AoError { static override status = 403 }
/** An assignment whose slot is not the one after the newest stored (a gap). */
export class AssignmentOutOfOrder extends AoError { static override status = 409 }
/** An assignment whose `hash-chain` does not extend the stored chain with its message. */
export class AssignmentChainBroken extends AoError { static override status = 409 }
/** Another assignment already holds the slot. */
export class SlotTaken extends AoError { static override status = 409 }
/** The message given with an assignment is not the one it names, or its commitments do not verify. */
export class AssignedMessageInvalid extends BadInput {}
