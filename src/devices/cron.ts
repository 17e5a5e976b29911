/**
 * cron@1.0 (HyperBEAM dev_cron): runs a request later, once or every interval,
 * through the node's HTTP pipeline (meta@1.0's handleRequest).
 *
 *   once   `cron-path`: that path is requested (with the request's other keys)
 *          right away, in the background. Answers the task ID (the request's
 *          signed ID).
 *   every  `cron-path` and `interval` (`<n>-<unit>`, unit millisecond(s),
 *          second(s), minute(s), hour(s) or day(s)): the path is requested now
 *          and then each interval after the previous run ends. Answers the task ID.
 *   stop   `task`: stops a task: `{status: 200, body: {message, task_id}}`;
 *          an unknown task is an error.
 *   info   what the device offers.
 * Tasks belong to the node (its node message); errors of a run are logged and
 * the task goes on. Timers do not keep a Node process alive.
 */
import { message, type Message, type Value } from '../core/value.ts'
import { error, ok, type Device, type ResolveContext } from '../core/device.ts'
import { directGet } from '../core/resolver.ts'
import { messageId } from '../core/id.ts'
import { handleRequest } from './meta.ts'
import { copy, text } from './scheduler.ts'

interface Task { stop(): void }
const tasks = new WeakMap<Message, Map<string, Task>>()

function tasksOf(ctx: ResolveContext): Map<string, Task> {
  let m = tasks.get(ctx.node)
  if (!m) { m = new Map(); tasks.set(ctx.node, m) }
  return m
}

const UNITS: Array<[string, number]> = [['millisecond', 1], ['second', 1000], ['minute', 60_000], ['hour', 3_600_000], ['day', 86_400_000]]

/** parse_time: `<amount>-<unit>` in milliseconds, or undefined. */
export function parseTime(s: string): number | undefined {
  const m = /^(-?\d+)-(.+)$/.exec(s)
  if (!m) return undefined
  const unit = m[2]!.toLowerCase()
  const u = UNITS.find(([name]) => unit.startsWith(name))
  return u ? Number(m[1]) * u[1] : undefined
}

function unref(t: ReturnType<typeof setTimeout>): void {
  (t as unknown as { unref?: () => void }).unref?.()
}

function runOnce(path: string, req: Message, ctx: ResolveContext): Promise<Message | undefined> {
  const singleton = copy(req)
  singleton['path'] = path
  return handleRequest(singleton, { ...ctx, active: new Set(), cacheControl: [] }).catch((e) => {
    console.error('cron@1.0: task failed', path, e)
    return undefined
  })
}

export const cronDevice: Device = {
  name: 'cron@1.0',
  info: () => ({ exports: ['info', 'once', 'every', 'stop'] }),
  keys: {
    info: () => ok(message({
      status: 200n,
      body: message({
        description: 'Cron device for scheduling messages',
        version: '1.0',
        paths: message({
          info: 'Get device info',
          once: 'Schedule a one-time message',
          every: 'Schedule a recurring message',
          stop: 'Stop a scheduled task {task}',
        }),
      }),
    })),
    once: (_base, req, ctx) => {
      const path = text(directGet(req, 'cron-path'))
      if (path === undefined) return error('No cron path found in message.')
      const id = messageId(req, 'signed')
      const rest = copy(req)
      delete rest['cron-path']
      const all = tasksOf(ctx)
      let stopped = false
      const t = setTimeout(() => { if (!stopped) void runOnce(path, rest, ctx).finally(() => all.delete(id)) }, 0)
      unref(t)
      all.set(id, { stop: () => { stopped = true; clearTimeout(t) } })
      return ok(id)
    },
    every: (_base, req, ctx) => {
      const path = text(directGet(req, 'cron-path'))
      if (path === undefined) return error('No cron path found in message.')
      const interval = text(directGet(req, 'interval'))
      if (interval === undefined) return error('No interval found in message.')
      const ms = parseTime(interval)
      if (ms === undefined) return error(`Invalid time unit or amount: ${interval}`)
      if (ms <= 0) return error('Invalid interval value.')
      const id = messageId(req, 'signed')
      const rest = copy(req)
      delete rest['cron-path']
      delete rest['interval']
      let stopped = false
      let timer: ReturnType<typeof setTimeout> | undefined
      const loop = async (): Promise<void> => {
        if (stopped) return
        await runOnce(path, rest, ctx)
        if (stopped) return
        timer = setTimeout(() => void loop(), ms)
        unref(timer)
      }
      timer = setTimeout(() => void loop(), 0)
      unref(timer)
      tasksOf(ctx).set(id, { stop: () => { stopped = true; if (timer) clearTimeout(timer) } })
      return ok(id)
    },
    stop: (_base, req, ctx) => {
      const task = text(directGet(req, 'task'))
      if (task === undefined) return error('No task ID found in message.')
      const all = tasksOf(ctx)
      const t = all.get(task)
      if (!t) return error('Task not found.')
      t.stop()
      all.delete(task)
      return ok(message({ status: 200n, body: message({ message: 'Task stopped successfully', task_id: task as Value }) }))
    },
  },
}
