/**
 * dedup@1.0 (spec §4.10; HyperBEAM dev_dedup): answers `skip` for a subject it
 * has already seen, so that a stack runs a message once however often it is
 * assigned.
 *
 *   subject: the key named by `dedup-subject` (base, then request; default
 *   `body`), read from the base then the request; `request` means the whole
 *   request. Only on the first pass (`pass` absent or 1). The signed IDs of the
 *   subjects seen are kept in the base's `dedup` list (newest first), so they
 *   live in the process state (HyperBEAM: the same key).
 *
 * `keys`, `set`, `id` and `commit` are message@1.0's. (HyperBEAM means to exclude
 * them too, but spells the info key `exclude`, so its `id` and `commit` run the
 * dedup check instead.)
 */
import { isMessage, toInt, type Message, type Value } from '../core/value.ts'
import { ok, type Device, type Outcome } from '../core/device.ts'
import { directGet } from '../core/resolver.ts'
import { messageId } from '../core/id.ts'
import { copy, text } from './scheduler.ts'

function handle(_key: string, base: Message, req: Message): Outcome {
  const subjectKey = text(directGet(base, 'dedup-subject')) ?? text(directGet(req, 'dedup-subject')) ?? 'body'
  const subject: Value | undefined = subjectKey === 'request' ? req : directGet(base, subjectKey) ?? directGet(req, subjectKey)
  const firstPass = (toInt(directGet(base, 'pass')) ?? 1n) === 1n
  if (!firstPass || subject === undefined) return ok(base)
  const id = isMessage(subject) || Array.isArray(subject) ? messageId(subject, 'signed')
    : subject instanceof Uint8Array || typeof subject === 'string' ? messageId(subject) : messageId(String(subject))
  const seenV = directGet(base, 'dedup')
  const seen = Array.isArray(seenV) ? seenV : []
  if (seen.some((s) => text(s) === id)) return { status: 'skip', value: base }
  const out = copy(base)
  out['dedup'] = [id, ...seen]
  return ok(out)
}

export const dedupDevice: Device = {
  name: 'dedup@1.0',
  info: () => ({ default: handle, excludes: ['keys', 'set', 'id', 'commit'] }),
  keys: {},
}
