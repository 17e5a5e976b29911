/**
 * test-device@1.0 (HyperBEAM dev_test): the device HyperBEAM's own tests use
 * to exercise resolution.
 *
 *   info         `{status: 200, body: {description, version, paths}}`
 *   test_func    "GOOD_FUNCTION"
 *   index        `{content-type: text/html, body: "i like <name>!"}` (name default "turtles")
 *   load         the base with `device: test-device@1.0`
 *   init         the base with `already-seen: []`
 *   compute      the base with `random-key: random-value`, `results/assignment-slot`
 *                = the request's `slot`, and that slot put in front of `already-seen`
 *   restore      `already-seen` copied to the private `priv/test-key/started-state`;
 *                without it: error "No viable state to restore."
 *   mul          `{state: <base state>, results: [a * b]}` for the request's `args: [a, b]`
 *   snapshot     `{}`
 *   postprocess  the request's `body`; sets `postprocessor-called: true` in the node message
 *   delay        waits `duration` ms (base, then request; default 750), then returns the
 *                base's `return`, else the request's `body`, else `{result: slept}`
 *
 * Left out, because they only make sense inside the BEAM: `update_state` and
 * `increment_counter` send Erlang messages to a test worker process found by
 * PID in hb_name. Every other key is message@1.0's on the base (HyperBEAM's
 * `default => dev_message`).
 */
import { emptyMessage, isMessage, message, type Message, type Value } from '../core/value.ts'
import { error, ok, type Device } from '../core/device.ts'
import { directGet } from '../core/resolver.ts'
import { getKey, setKeys } from '../core/ao.ts'
import { numberedToList } from '../codecs/structured.ts'
import { BadInput } from '../core/errors.ts'
import { text } from './httpsig.ts'

const NAME = 'test-device@1.0'

const PATHS: Record<string, string> = {
  info: 'Get device info',
  test_func: 'Test function',
  compute: 'Compute function',
  init: 'Initialize function',
  restore: 'Restore function',
  mul: 'Multiply function',
  snapshot: 'Snapshot function',
  response: 'Response function',
  update_state: 'Update state function',
}

function copy(m: Message): Message {
  const out = emptyMessage()
  for (const k of Object.keys(m)) out[k] = m[k]!
  return out
}

const listOf = (v: Value | undefined): Value[] | undefined =>
  Array.isArray(v) ? v : isMessage(v) ? numberedToList(v) : undefined

function integer(v: Value | undefined, what: string): bigint {
  if (typeof v === 'bigint') return v
  const t = text(v)
  if (t !== undefined && /^-?\d+$/.test(t)) return BigInt(t)
  throw new BadInput(`${what} must be an integer`)
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

export const testDevice: Device = {
  name: NAME,
  keys: {
    info: () => ok(message({
      status: 200n,
      body: message({
        description: 'Test device for testing the AO-Core framework',
        version: '1.0',
        paths: message(PATHS),
      }),
    })),
    test_func: () => ok('GOOD_FUNCTION'),
    index: async (base, _req, ctx) => {
      const name = await getKey(base, 'name', ctx, 'turtles')
      return ok(message({ 'content-type': 'text/html', body: `i like ${text(name) ?? 'turtles'}!` }))
    },
    load: (base) => ok(Object.assign(copy(base), { device: NAME })),
    init: async (base, _req, ctx) => ok(await setKeys(base, message({ 'already-seen': [] }), ctx)),
    compute: async (base, req, ctx) => {
      const slot = directGet(req, 'slot')
      if (slot === undefined) return error('compute needs a `slot` in the request')
      const seen = listOf(await getKey(base, 'already-seen', ctx)) ?? []
      return ok(await setKeys(base, message({
        'random-key': 'random-value',
        results: message({ 'assignment-slot': slot }),
        'already-seen': [slot, ...seen],
      }), ctx))
    },
    restore: async (base, _req, ctx) => {
      const seen = await getKey(base, 'already-seen', ctx)
      if (seen === undefined) return error('No viable state to restore.')
      const out = copy(base)
      const priv = isMessage(base['priv']) ? copy(base['priv']) : emptyMessage()
      const testKey = isMessage(priv['test-key']) ? copy(priv['test-key']) : emptyMessage()
      testKey['started-state'] = seen
      priv['test-key'] = testKey
      out['priv'] = priv
      return ok(out)
    },
    mul: (base, req) => {
      const args = listOf(directGet(req, 'args'))
      if (!args || args.length !== 2) throw new BadInput('mul needs `args`: a list of two integers')
      const out = emptyMessage()
      const state = directGet(base, 'state')
      if (state !== undefined) out['state'] = state
      out['results'] = [integer(args[0], 'args/1') * integer(args[1], 'args/2')]
      return ok(out)
    },
    snapshot: () => ok(emptyMessage()),
    postprocess: (_base, req, ctx) => {
      const body = directGet(req, 'body')
      if (body === undefined) throw new BadInput('postprocess needs a `body`')
      ctx.node['postprocessor-called'] = true
      return ok(body)
    },
    delay: async (base, req, ctx) => {
      const d = directGet(base, 'duration') ?? directGet(req, 'duration')
      const ms = d === undefined ? 750 : Number(integer(d, 'duration'))
      if (ms < 0 || ms > 60_000) throw new BadInput('duration must be between 0 and 60000 ms')
      await sleep(ms)
      const ret = await getKey(base, 'return', ctx)
      if (ret !== undefined) return ok(ret)
      return ok(directGet(req, 'body') ?? message({ result: 'slept' }))
    },
  },
}
