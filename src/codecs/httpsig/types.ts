import type { Binary } from '../../core/value.ts'

/** An HTTP message as HyperBEAM's httpsig codec sees it: lower-case header names plus an optional `body`. */
export interface HttpMessage { [field: string]: Binary }

/** The largest value (bytes) that travels as a header; larger ones go to the body. */
export const MAX_HEADER_LENGTH = 4096
