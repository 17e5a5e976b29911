/**
 * message@1.0 (spec §1.6): the default device. Every key it does not name
 * is a plain (case-insensitive) lookup; private keys are never readable.
 */
import { binaryText } from '../core/value.ts'
import { Atom, emptyMessage, isMessage, message, type Message, type Value } from '../core/value.ts'
import { ok, notFound, error, type Device, type ResolveContext, type Outcome } from '../core/device.ts'
import { isPrivateKey, normalizeKey, sortKeys } from '../core/keys.ts'
import { directGet } from '../core/resolver.ts'
import { messageId, accumulate, nativeId, type IdScope } from '../core/id.ts'
import { toB64Url } from '../core/bytes.ts'
import { commitMessage, verifyMessage } from '../codecs/commitments.ts'
import { toTabm, numberedToList } from '../codecs/structured.ts'
import { commitmentsOf, committedKeys, HTTPSIG } from '../codecs/httpsig/commitment.ts'
import { stringifyTyped } from '../core/typed-json.ts'
import { BadInput, Unauthorized } from '../core/errors.ts'

/** Keys a `set` request carries that are never set (HyperBEAM ?DEVICE_KEYS + set-mode). */
const NOT_SET = new Set(['id', 'commitments', 'committers', 'keys', 'path', 'set', 'remove', 'verify', 'set-mode'])

const text = binaryText

const isUnset = (v: Value | undefined): boolean => v instanceof Atom && v.name === 'unset'

function copy(m: Message): Message {
  const out = emptyMessage()
  for (const k of Object.keys(m)) out[k] = m[k]!
  return out
}

/** get: exact key, then case-insensitive; private keys are not found. */
function get(key: string, base: Message): Outcome {
  if (isPrivateKey(normalizeKey(key))) return notFound(`key ${key} is private`)
  const v = directGet(base, key)
  return v === undefined ? notFound(`no key ${JSON.stringify(key)}`) : ok(v)
}

export function publicKeys(m: Message): string[] {
  return sortKeys(Object.keys(m).filter((k) => !isPrivateKey(normalizeKey(k))))
}

function deepMerge(a: Message, b: Message): Message {
  const out = copy(a)
  for (const k of Object.keys(b)) {
    const x = out[k]
    const y = b[k]!
    out[k] = isMessage(x) && isMessage(y) ? deepMerge(x, y) : y
  }
  return out
}

/** Selected commitments of a message, by `committers` / `commitments` in the request (default: all). */
function selectCommitments(base: Message, req: Message, dflt: 'all' | 'none'): string[] {
  const comms = commitmentsOf(base)
  const ids = Object.keys(comms)
  const pick = (v: Value | undefined): string[] | 'all' | 'none' | undefined => {
    if (v === undefined) return undefined
    if (Array.isArray(v)) return v.map((x) => text(x) ?? '')
    const t = text(v)
    return t === 'all' || t === 'none' ? t : t === undefined ? undefined : [t]
  }
  const committers = pick(directGet(req, 'committers'))
  const byId = pick(directGet(req, 'commitments'))
  if (committers === undefined && byId === undefined) {
    if (dflt === 'all') return ids
    return ids.filter((id) => text(comms[id]!['commitment-device']) === HTTPSIG && comms[id]!['committer'] === undefined)
  }
  const out = new Set<string>()
  if (byId === 'all') ids.forEach((id) => out.add(id))
  else if (Array.isArray(byId)) byId.forEach((id) => { if (id in comms) out.add(id) })
  const who = committers === 'all' ? undefined : Array.isArray(committers) ? committers : null
  if (committers !== undefined && committers !== 'none') {
    for (const id of ids) {
      const c = text(comms[id]!['committer'])
      if (c !== undefined && (who === undefined || who!.includes(c))) out.add(id)
    }
  }
  if (out.size === 0 && committers !== undefined) {
    // No committers matched: the unsigned (HMAC) commitments, as HyperBEAM.
    return ids.filter((id) => text(comms[id]!['commitment-device']) === HTTPSIG && comms[id]!['committer'] === undefined)
  }
  return [...out]
}

function committedOf(base: Message, ids: string[], raw: boolean): string[] {
  const comms = commitmentsOf(base)
  const lists = ids.map((id) => committedKeys(comms[id]!))
  if (lists.length === 0) return []
  const all: string[] = []
  for (const l of lists) for (const k of l) if (!all.includes(k)) all.push(k)
  const common = all.filter((k) => lists.every((l) => l.includes(k)))
  return raw ? common : common.map((k) => (k.endsWith('+link') ? k.slice(0, -5) : k))
}

/** The message a commit/verify request is about: `target` names a key of the request, else the base. */
function findTarget(base: Message, req: Message): Message {
  const t = text(directGet(req, 'target'))
  if (t === undefined || t === 'self' || t === 'base') return base
  const v = directGet(req, t)
  if (!isMessage(v)) throw new BadInput(`target ${JSON.stringify(t)} is not a message in the request`)
  return v
}

const same = (a: Value | undefined, b: Value | undefined): boolean => {
  try { return stringifyTyped(a as Value) === stringifyTyped(b as Value) } catch { return false }
}

export const messageDevice: Device = {
  name: 'message@1.0',
  info: () => ({ default: (key, base) => get(key, base) }),
  keys: {
    get: (base, req) => {
      const k = text(directGet(req, 'key')) ?? text(directGet(req, 'item'))
      return k === undefined ? notFound('get needs a key') : get(k, base)
    },
    keys: (base) => ok(publicKeys(base)),
    set: (base, req) => {
      const toSet = Object.keys(req).filter((k) => !NOT_SET.has(normalizeKey(k)) && !isPrivateKey(normalizeKey(k)))
      const unset = toSet.filter((k) => isUnset(req[k]))
      let result = copy(base)
      for (const k of unset) for (const bk of Object.keys(result)) if (normalizeKey(bk) === normalizeKey(k)) delete result[bk]
      const values = emptyMessage()
      for (const k of toSet) if (!isUnset(req[k])) values[k] = req[k]!
      // Keys already present under another case are replaced, not duplicated.
      for (const k of Object.keys(values)) for (const bk of Object.keys(result)) if (bk !== k && normalizeKey(bk) === normalizeKey(k)) delete result[bk]
      const explicit = text(directGet(req, 'set-mode')) === 'explicit'
      result = explicit ? Object.assign(result, values) : deepMerge(result, values)
      if ('priv' in base) result['priv'] = base['priv']!
      // Overwriting a committed key with a different value drops every commitment.
      if ('commitments' in base) {
        const committed = committedOf(base, Object.keys(commitmentsOf(base)), false).map((k) => normalizeKey(k))
        const changed = [...Object.keys(values), ...unset].some((k) => committed.includes(normalizeKey(k)) && !same(directGet(result, k), directGet(base, k)))
        if (changed) delete result['commitments']
      }
      return ok(result)
    },
    set_path: (base, req) => {
      const v = directGet(req, 'value')
      const out = copy(base)
      if (v === undefined || isUnset(v)) delete out['path']
      else out['path'] = v
      return ok(out)
    },
    remove: (base, req) => {
      const items = directGet(req, 'items')
      const item = directGet(req, 'item')
      const list = Array.isArray(items) ? items : isMessage(items) ? numberedToList(items) : item !== undefined ? [item] : []
      const out = copy(base)
      for (const k of list) { const t = text(k as Value); if (t !== undefined) delete out[t] }
      return ok(out)
    },
    id: (base, req) => {
      const committers = text(directGet(req, 'committers'))
      const commitments = text(directGet(req, 'commitments'))
      if (committers === undefined && commitments === undefined) return ok(messageId(base, 'unsigned'))
      const scope: IdScope = commitments === 'all' ? 'all-commitments' : committers === 'all' ? 'signed' : 'unsigned'
      if (committers !== undefined && committers !== 'all' && committers !== 'none') {
        const ids = selectCommitments(base, req, 'none')
        if (ids.length > 0) return ok(ids.length === 1 ? ids[0]! : toB64Url(accumulate(ids.map(nativeId))))
      }
      return ok(messageId(base, scope))
    },
    commit: async (base, req, ctx) => {
      const target = findTarget(base, req)
      const type = text(directGet(req, 'type')) ?? 'signed'
      const device = text(directGet(req, 'commitment-device')) ?? text(ctx.node['commitment_device']) ?? HTTPSIG
      if (type !== 'unsigned' && !ctx.wallet) throw new Unauthorized('this node has no wallet to sign with')
      return ok(await commitMessage(target, { type: type === 'unsigned' || type === 'hmac-sha256' ? 'unsigned' : 'signed', wallet: ctx.wallet, device }))
    },
    committed: (base, req) => {
      const ids = selectCommitments(base, req, 'all')
      return ok(committedOf(base, ids, directGet(req, 'raw') === true))
    },
    committers: (base) => {
      const comms = commitmentsOf(base)
      const out: string[] = []
      for (const id of Object.keys(comms)) {
        const c = text(comms[id]!['committer'])
        if (c !== undefined && !out.includes(c)) out.push(c)
      }
      return ok(out)
    },
    verify: async (base, req) => {
      const target = findTarget(base, req)
      const { verified } = await verifyMessage(target)
      return ok(verified)
    },
    index: async (base, req, ctx: ResolveContext) => {
      const dflt = ctx.node['default_index']
      if (dflt === undefined) return error('No default index message set.')
      const idxPath = text(ctx.node['default_index_path']) ?? 'index'
      const merged = isMessage(dflt) ? Object.assign(copy(base), dflt) : Object.assign(copy(base), { device: dflt })
      return ctx.resolve(merged, Object.assign(copy(req), { path: idxPath }))
    },
  },
}


