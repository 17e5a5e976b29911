/**
 * multipass@1.0 (spec §4.4; HyperBEAM dev_multipass): in a stack, asks for
 * another pass until `pass` reaches `passes` (both default 1). Every key but
 * `keys` and `set` (message@1.0's) answers `pass` with the base while
 * `pass < passes`, else ok with the base.
 */
import { type Device, type Outcome } from '../core/device.ts'
import { directGet } from '../core/resolver.ts'
import { toInt } from '../core/value.ts'
import type { Message } from '../core/value.ts'

function handle(_key: string, base: Message): Outcome {
  const passes = toInt(directGet(base, 'passes')) ?? 1n
  const pass = toInt(directGet(base, 'pass')) ?? 1n
  return pass < passes ? { status: 'pass', value: base } : { status: 'ok', value: base }
}

export const multipassDevice: Device = {
  name: 'multipass@1.0',
  info: () => ({ handler: handle, excludes: ['keys', 'set'] }),
  keys: {},
}
