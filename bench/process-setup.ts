/**
 * Shared setup of the process benchmarks: the test wallets, a node, a spawned
 * Lua process and N signed messages scheduled on it (signing runs `width` at a
 * time: WebCrypto signs on the thread pool).
 */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'lossless-json'
import { createNode, type AoNode, type NodeOptions } from '../src/node/node.ts'
import { message, type Message } from '../src/core/value.ts'
import { commitMessage } from '../src/codecs/commitments.ts'
export { commitAll } from '../src/codecs/commitments.ts'
import { messageId } from '../src/core/id.ts'
import { loadJwk, type Wallet } from '../src/crypto/wallet.ts'

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..')
export const SHARED = process.env['AO_SHARED'] ?? resolve(ROOT, '../shared')

export async function testWallets(): Promise<[Wallet, Wallet]> {
  const load = (f: string) => loadJwk(parse(readFileSync(resolve(SHARED, 'hyperbeam-data/test', f), 'utf8')) as never)
  return [await load('key-1.json'), await load('key-2.json')]
}

export const sharedText = (rel: string): string => readFileSync(resolve(SHARED, rel), 'utf8')

export interface Spawned { node: AoNode; proc: Message; pid: string }

/** A node whose wallet schedules a Lua process with `module` and extra process keys. */
export async function spawnLua(wallet: Wallet, module: string, keys: Record<string, never> | Message, opts: NodeOptions = {}): Promise<Spawned> {
  const node = await createNode({ wallet, ...opts })
  const proc = await commitMessage(message({
    device: 'process@1.0', type: 'Process', 'scheduler-device': 'scheduler@1.0', 'execution-device': 'lua@5.3a',
    scheduler: wallet.address, authority: [wallet.address],
    module: message({ 'content-type': 'application/lua', body: module }), ...keys,
  }), { wallet })
  const o = await node.resolve(message({ device: 'scheduler@1.0' }), message({ path: 'schedule', method: 'POST', body: proc }))
  if (o.status !== 'ok') throw new Error(`spawn failed: ${o.status}`)
  return { node, proc, pid: messageId(proc, 'signed') }
}


/** Schedule signed messages in order; throws unless each gets the next slot. */
export async function scheduleAll(s: Spawned, msgs: Message[]): Promise<void> {
  for (let i = 0; i < msgs.length; i++) {
    const o = await s.node.resolve(s.proc, message({ path: 'schedule', method: 'POST', body: msgs[i]! }))
    const slot = o.status === 'ok' ? (o.value as Message)['slot'] : undefined
    if (slot !== BigInt(i + 1)) throw new Error(`message ${i} was not scheduled at slot ${i + 1}: ${o.status}`)
  }
}

export async function computeTo(s: Spawned, slot: number): Promise<Message> {
  const o = await s.node.resolvePath(`/${s.pid}~process@1.0/compute&slot+integer=${slot}`)
  if (o.status !== 'ok') throw new Error(`compute to slot ${slot} failed: ${o.status} ${JSON.stringify(String((o.value as Message)?.['body'] ?? ''))}`)
  return o.value as Message
}
