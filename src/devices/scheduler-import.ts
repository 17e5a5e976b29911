/**
 * Importing assignments made by another node (a copy of a schedule now, gossip
 * next): `importAssignment` stores an assignment signed by a scheduler of the
 * process as if this node had made it, once it has checked, in this order:
 *
 *   1. it has an integer `slot` ≥ 0, a `process`, a `hash-chain` and names a
 *      message (`body`, or `message` as an ID)              AssignmentMalformed 400
 *   2. its `process` is the process's signed ID          AssignmentWrongProcess 400
 *      and the process message is signed and verifies    ProcessMessageInvalid 400
 *   3. it carries a signature                                AssignmentUnsigned 400
 *      and every commitment verifies                 AssignmentSignatureInvalid 400
 *   4. a committer is in the process's `scheduler`
 *      (or `scheduler-location`) list                  AssignmentNotByScheduler 403
 *   5. the message (given, else the inline `body`, else the one the store holds)
 *      has the ID the assignment names, is signed and its commitments verify
 *                                                       AssignedMessageInvalid 400
 *   6. its slot is free: the identical assignment (same signed ID) already there
 *      is a no-op success, another one                               SlotTaken 409
 *   7. its slot is exactly the next (slot 0 for a fresh process)
 *                                                       AssignmentOutOfOrder 409
 *   8. `hash-chain` = next_hashchain(previous link, message ID)
 *                                                      AssignmentChainBroken 409
 *
 * Then it is written as scheduler.ts writes its own (writeAssignment: message,
 * assignment, index, slot link last) on the same queue and head as local
 * assignments, so a node that schedules the process too continues after it.
 * HyperBEAM's closest path (dev_scheduler:cache_remote_schedule) writes the
 * assignments of a remote schedule into the cache without any of these checks.
 *
 * The scheduler@1.0 `import` key: the assignment is the request's `assignment`
 * (else its `body`), the message its `message` (optional when the assignment's
 * body is inline or the node holds it; a body sent as a link is stored inline), the process the request's `process` or the stored message
 * named by the assignment's `process`. Answers `{process, slot, assignment: <id>,
 * imported: true|false}` (false: it was already there). Over HTTP, send them as
 * a json@1.0 body (`codec-device: json@1.0`): an httpsig multipart body drops
 * the `signature` of nested commitments today (wire.ts encodePart encodes each
 * part with tabmToHttp, which drops a `signature` key as if it were the part's
 * signature header), so a nested assignment would arrive unsigned and be refused.
 */
import { isMessage, Link, message, toInt, type Message, type Value } from '../core/value.ts'
import { ok, type Outcome, type ResolveContext } from '../core/device.ts'
import { directGet } from '../core/resolver.ts'
import { messageId } from '../core/id.ts'
import { fromB64 } from '../core/bytes.ts'
import { verifyMessage } from '../codecs/commitments.ts'
import { committersOf } from './meta.ts'
import {
  AssignedMessageInvalid, AssignmentChainBroken, AssignmentMalformed, AssignmentNotByScheduler, AssignmentOutOfOrder,
  AssignmentSignatureInvalid, AssignmentUnsigned, AssignmentWrongProcess, MessageNotFound, ProcessMessageInvalid, SlotTaken, StoreFailed,
} from '../core/errors.ts'
import type { Store } from '../store/store.ts'
import { fromTabm } from '../codecs/structured.ts'
import type { Tabm } from '../codecs/tabm.ts'
import {
  assignedMessageId, headOf, nextHashChainFromId, parseSchedulers, queued, readAssignment, scheduledAssignment, text,
  validlySigned, withOnlyCommitted, writeAssignment,
} from './scheduler.ts'

export interface ImportResult {
  slot: bigint
  /** The signed ID of the assignment. */
  id: string
  /** False when the identical assignment was already stored. */
  imported: boolean
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i])

/** Check an assignment for a process (and the message it assigns) and store it as the next slot. */
export async function importAssignment(store: Store, processMsg: Message, assignmentIn: Message, msgIn?: Message): Promise<ImportResult> {
  const pid = messageId(processMsg, 'signed')
  const assignment = withOnlyCommitted(assignmentIn)
  const slot = toInt(directGet(assignment, 'slot'))
  const proc = text(directGet(assignment, 'process'))
  const chainText = text(directGet(assignment, 'hash-chain'))
  const named = assignedMessageId(assignment)
  if (slot === undefined || slot < 0n || proc === undefined || chainText === undefined || named === undefined) {
    throw new AssignmentMalformed('an assignment needs an integer slot ≥ 0, a process, a hash-chain and the message it assigns')
  }
  let chain: Uint8Array
  try { chain = fromB64(chainText) } catch { throw new AssignmentMalformed(`hash-chain ${JSON.stringify(chainText.slice(0, 60))} is not base64url`) }
  if (proc !== pid) throw new AssignmentWrongProcess(`the assignment is for process ${proc}, not ${pid}`)
  // The scheduler list below is the process's only if the process message is the signed one.
  if (!(await validlySigned(processMsg))) throw new ProcessMessageInvalid(`process ${pid} is not signed, or its commitments do not verify`)

  const committers = committersOf(assignment)
  if (committers.length === 0) throw new AssignmentUnsigned(`assignment ${slot} of ${pid} carries no signature`)
  if (!(await verifyMessage(assignment)).verified) throw new AssignmentSignatureInvalid(`a commitment of assignment ${slot} of ${pid} does not verify`)
  const schedulers = parseSchedulers(directGet(processMsg, 'scheduler') ?? directGet(processMsg, 'scheduler-location'))
  if (!committers.some((c) => schedulers.includes(c))) {
    throw new AssignmentNotByScheduler(`assignment ${slot} of ${pid} is committed by ${committers.join(', ')}, none of the process's schedulers (${schedulers.join(', ')})`)
  }

  const body = directGet(assignment, 'body')
  // The message itself: given, inline, or (an assignment that links it) held by this node.
  const held = msgIn || isMessage(body) ? undefined : await store.read(named)
  const given = msgIn ? withOnlyCommitted(msgIn) : isMessage(body) ? body : isMessage(held) ? held : undefined
  if (!given) throw new AssignedMessageInvalid(`message ${named} is neither inline, nor given, nor held by this node`)
  if (messageId(given, 'signed') !== named) throw new AssignedMessageInvalid(`the message given is ${messageId(given, 'signed')}, the assignment names ${named}`)
  if (!(await validlySigned(given))) throw new AssignedMessageInvalid(`message ${named} is not signed, or its commitments do not verify`)
  // A body sent as a link is stored inline (the signature covers the body by its ID either way), so the process can compute it.
  const toStore = body instanceof Link ? message({ ...assignment, body: given }) : assignment

  const id = messageId(assignment, 'signed')
  const head = await headOf(store, pid)
  return queued(head, async () => {
    // Assignments this node is still storing come first.
    await head.stored
    // Above the head nothing is stored (this node is the store's only writer), so only a slot at or below it is read.
    const stored = slot <= head.written ? await readAssignment(store, pid, slot) : undefined
    if (stored) {
      if (messageId(stored, 'signed') === id) return { slot, id, imported: false }
      throw new SlotTaken(`slot ${slot} of ${pid} holds assignment ${messageId(stored, 'signed')}, not ${id}`)
    }
    if (slot !== head.current + 1n) throw new AssignmentOutOfOrder(`slot ${slot} of ${pid} is not the next one (${head.current + 1n})`)
    const expected = nextHashChainFromId(head.chain, named)
    if (!sameBytes(chain, expected)) throw new AssignmentChainBroken(`the hash-chain of slot ${slot} of ${pid} does not extend slot ${head.current}'s with message ${named}`)
    // A message already scheduled at an earlier slot keeps that slot in the index (read alongside the process check).
    const [indexed] = await Promise.all([scheduledAssignment(store, pid, named), ensureProcessStored(store, pid, processMsg)])
    await writeAssignment(store, pid, slot, toStore, given, { index: indexed === undefined })
    head.current = slot
    head.written = slot
    head.chain = chain
    return { slot, id, imported: true }
  })
}

/** Process IDs whose process message this node has stored (per store). */
const processesStored = new WeakMap<Store, Set<string>>()

async function ensureProcessStored(store: Store, pid: string, processMsg: Message): Promise<void> {
  let known = processesStored.get(store)
  if (!known) { known = new Set(); processesStored.set(store, known) }
  if (known.has(pid)) return
  if ((await store.read(pid)) === undefined) await store.write(pid, withOnlyCommitted(processMsg))
  known.add(pid)
}

/**
 * A message as a json@1.0 request carries it (TABM: `ao-types` not applied) in
 * its structured form; the signed ID and the signatures do not change.
 */
function typed(v: Value | undefined): Value | undefined {
  return isMessage(v) && 'ao-types' in v ? fromTabm(v as unknown as Tabm) : v
}

/** scheduler@1.0 `import`. */
export async function importKey(_base: Message, req: Message, ctx: ResolveContext): Promise<Outcome> {
  const store = ctx.store
  if (!store) throw new StoreFailed('scheduler@1.0 import needs a store')
  const a = typed(directGet(req, 'assignment') ?? directGet(req, 'body'))
  if (!isMessage(a)) throw new AssignmentMalformed('import needs the assignment as the request\'s `assignment` or `body`')
  const m = typed(directGet(req, 'message'))
  const pid = text(directGet(a, 'process'))
  let proc = typed(directGet(req, 'process'))
  if (!isMessage(proc) || messageId(proc, 'signed') !== pid) proc = pid === undefined ? undefined : await store.read(pid) as Value | undefined
  if (!isMessage(proc)) throw new MessageNotFound(`process ${pid ?? '(none named)'} is not available on this node: send it as \`process\``)
  const r = await importAssignment(store, proc, a, isMessage(m) ? m : undefined)
  return ok(message({ process: pid!, slot: r.slot, assignment: r.id, imported: r.imported, 'cache-control': 'no-store' }))
}
