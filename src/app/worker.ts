/**
 * The shell's module Web Worker: the page reaches it through comlink. For now
 * it only computes HyperBEAM unsigned IDs; the node itself moves in here later.
 */
import { expose } from 'comlink'
import { unsignedId } from '../core/id.ts'
import { parseTypedJson } from '../core/typed-json.ts'
import { isMessage } from '../core/value.ts'
import { InvalidTypedJson } from '../core/errors.ts'

const api = {
  /** Resolves once the worker and the core it imports have loaded. */
  ping(): 'ready' { return 'ready' },

  /** The unsigned ID of a message written as typed JSON. Throws the core's typed errors. */
  unsignedId(text: string): string {
    const msg = parseTypedJson(text)
    if (!isMessage(msg)) throw new InvalidTypedJson('a message is a JSON object, e.g. {"a":"b"}')
    return unsignedId(msg)
  },
}

export type ShellWorker = typeof api

expose(api)
