/** Small structured-field helpers for the httpsig wire format (RFC 8941 subsets HyperBEAM emits). */
import { toB64 } from '../../core/bytes.ts'
import { UnencodableValue } from '../../core/errors.ts'

/** An SF string: printable ASCII only, `"` and `\` escaped. */
export function sfString(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x20 || c > 0x7e) throw new UnencodableValue('value cannot be an SF string (non-printable or non-ASCII)')
  }
  return '"' + s.replace(/[\\"]/g, (m) => '\\' + m) + '"'
}

export const sfBinary = (b: Uint8Array): string => ':' + toB64(b) + ':'

/** `content-digest: sha-256=:<b64>:` */
export const contentDigestValue = (digest: Uint8Array): string => 'sha-256=' + sfBinary(digest)

/**
 * HyperBEAM writes component names into the params line without checking
 * that they are valid SF strings (a key may be any UTF-8); so do we, escaping
 * only `"` and `\`.
 */
export const sfStringLoose = (s: string): string =>
  s.indexOf('"') < 0 && s.indexOf('\\') < 0 ? '"' + s + '"' : '"' + s.replace(/[\\"]/g, (m) => '\\' + m) + '"'
