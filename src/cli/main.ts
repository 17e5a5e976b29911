/**
 * `ao`: a command-line tool for people debugging AO-Core messages. Reads and
 * writes the typed-JSON message format (see README).
 */
import '../p2p/polyfill.ts' // Node 20: Promise.withResolvers, before any libp2p code runs (ao relay, ao serve --bootstrap)
import { useNodeHashes } from '../crypto/node-hashes.ts'
import { parseTypedJson, stringifyTyped } from '../core/typed-json.ts'
import { isMessage, type Message, type Value } from '../core/value.ts'
import { messageId } from '../core/id.ts'
import { baseHashpath, extendHashpath, hashpathAlg, requestPart } from '../core/hashpath.ts'
import { toTabm, fromTabm } from '../codecs/structured.ts'
import { commitHmac, commitmentsOf, commitmentSignatureBase, hmacCommitment, toHttp, fromHttp, HTTPSIG } from '../codecs/httpsig/index.ts'
import { tabmToFlat, serializeFlat, deserializeFlat, flatToTabm } from '../codecs/flat.ts'
import { tabmToJson, jsonToMessage } from '../codecs/json.ts'
import { commitMessage, verifyMessage } from '../codecs/commitments.ts'
import { loadJwk } from '../crypto/wallet.ts'
import { AoError, BadInput, UnknownCodec } from '../core/errors.ts'
import { CliUsage, parseArgs, readInput, readText, writeOut } from './io.ts'
import { ans104Cli } from './ans104.ts'
import { parsePathString } from '../core/path.ts'
import type { Tabm } from '../codecs/tabm.ts'
import type { HttpMessage } from '../codecs/httpsig/types.ts'

useNodeHashes()

const USAGE = `usage: ao <command> [options] FILE      (FILE may be - for standard input)

  ao id FILE                                   unsigned ID and ID over all committers
  ao sigbase FILE                              the HMAC signature base, byte for byte
  ao hashpath FILE                             {"base": msg, "requests": [msg, ...]} -> hashpath after each step
  ao path 'HYPERPATH'                          the parsed message list
  ao encode --codec httpsig|flat|json|ans104 [--bundle] FILE
  ao decode --codec httpsig|flat|json|ans104 FILE
  ao sign --wallet JWK [--codec httpsig|ans104] FILE
  ao verify [--codec ans104] FILE              exit 0 verified, 1 not verified, 2 bad input
  ao serve [--port 8734] [--host 127.0.0.1] [--wallet JWK] [--store DIR] [--static DIR]
           [--bootstrap MULTIADDR]... [--p2p-port N] [--p2p-ws-port M] [--relay]
                                               the node's HTTP API (and the built PWA with --static);
                                               with --bootstrap it joins the network through that peer,
                                               with --relay it is also the relay/bootstrap peer
  ao relay [--port 9090] [--ws-port 9091] [--host 127.0.0.1] [--store DIR] [--wallet JWK]
                                               the relay/bootstrap peer: prints its multiaddrs, runs until a signal
  ao snp verify --report FILE [--cert VCEK_OR_VLEK] [--at ISO-DATE]
                                               an SEV-SNP report against AMD's roots: exit 0 verified, 1 not, 2 bad input`

function readMessage(file: string | undefined): Message | Value[] {
  const v = parseTypedJson(readText(file))
  if (!isMessage(v) && !Array.isArray(v)) throw new BadInput('FILE must hold a typed-JSON message (an object) or list')
  return v as Message | Value[]
}

const out = (v: unknown): void => writeOut(stringifyTyped(v as Value, 2) + '\n')

function codecOf(opts: Record<string, string | true>, allowed: string[], dflt?: string): string {
  const c = opts['codec'] ?? dflt
  if (c === undefined || c === true) throw new CliUsage('--codec is required')
  if (!allowed.includes(c)) throw new UnknownCodec(`unknown codec ${JSON.stringify(c)} (one of: ${allowed.join(', ')})`)
  return c
}

/** An HTTP message as JSON: {"headers": {...}, "body": text | {"@b64": ...} | null}. */
function httpToJson(http: HttpMessage): Message {
  const headers = Object.create(null) as Message
  for (const k of Object.keys(http)) if (k !== 'body') headers[k] = http[k]!
  const m = Object.create(null) as Message
  m['headers'] = headers
  m['body'] = http['body'] ?? null
  return m
}

function jsonToHttp(v: Value): HttpMessage {
  if (!isMessage(v) || !isMessage(v['headers'])) throw new BadInput('httpsig input must be {"headers": {...}, "body": ...}')
  const http = Object.create(null) as HttpMessage
  for (const [k, val] of Object.entries(v['headers'] as Message)) {
    if (typeof val !== 'string' && !(val instanceof Uint8Array)) throw new BadInput(`header ${k} is not a binary`)
    http[k.toLowerCase()] = val
  }
  const body = v['body']
  if (body !== undefined && body !== null) {
    if (typeof body !== 'string' && !(body instanceof Uint8Array)) throw new BadInput('body is not a binary')
    http['body'] = body
  }
  return http
}

const asMessage = (t: Tabm): Message | Value[] => fromTabm(t)

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...args] = argv
  switch (cmd) {
    case 'id': {
      const { rest } = parseArgs(args, [], [])
      const msg = readMessage(rest[0])
      out({ id: messageId(msg, 'unsigned'), id_all: messageId(msg, 'signed') })
      return 0
    }
    case 'sigbase': {
      const { rest } = parseArgs(args, [], [])
      const msg = readMessage(rest[0])
      const t = toTabm(msg, { linkify: 'discard' })
      const comms = commitmentsOf(t)
      const existing = Object.keys(comms).find((id) => comms[id]!['type'] === 'hmac-sha256')
      if (existing) writeOut(commitmentSignatureBase(t, comms[existing]!))
      else {
        const bare = Object.assign(Object.create(null), t) as Tabm
        delete bare['commitments']
        writeOut(commitmentSignatureBase(bare, hmacCommitment(bare)[1]))
      }
      return 0
    }
    case 'hashpath': {
      const { rest } = parseArgs(args, [], [])
      const input = parseTypedJson(readText(rest[0]))
      if (!isMessage(input) || !isMessage(input['base']) || !Array.isArray(input['requests'])) {
        throw new BadInput('hashpath input must be {"base": msg, "requests": [msg, ...]}')
      }
      const base = input['base'] as Message
      const alg = hashpathAlg(base)
      let hp = baseHashpath(base)
      const steps: string[] = []
      for (const r of input['requests'] as Value[]) {
        const req = isMessage(r) ? r : typeof r === 'string' ? ({ path: r } as Message) : null
        if (req === null) throw new BadInput('each request must be a message or a path string')
        hp = extendHashpath(hp, requestPart(req), alg)
        steps.push(hp)
      }
      out(steps)
      return 0
    }
    case 'path': {
      const { rest } = parseArgs(args, [], [])
      if (rest[0] === undefined) throw new CliUsage('missing HYPERPATH')
      out(parsePathString(rest[0]))
      return 0
    }
    case 'encode': {
      const { opts, rest } = parseArgs(args, ['codec'], ['bundle'])
      const codec = codecOf(opts, ['httpsig', 'flat', 'json', 'ans104'])
      const msg = readMessage(rest[0])
      if (codec === 'ans104') { writeOut(await ans104Cli.encode(msg)); return 0 }
      const t = toTabm(msg, { linkify: opts['bundle'] ? false : 'discard' })
      if (codec === 'httpsig') out(httpToJson(toHttp(commitHmac(t))))
      else if (codec === 'flat') writeOut(serializeFlat(tabmToFlat(t)))
      else writeOut(tabmToJson(t) + '\n')
      return 0
    }
    case 'decode': {
      const { opts, rest } = parseArgs(args, ['codec'], [])
      const codec = codecOf(opts, ['httpsig', 'flat', 'json', 'ans104'])
      if (codec === 'ans104') out(await ans104Cli.decode(readInput(rest[0])))
      else if (codec === 'httpsig') out(asMessage(fromHttp(jsonToHttp(parseTypedJson(readText(rest[0])) as Value))))
      else if (codec === 'flat') out(asMessage(flatToTabm(deserializeFlat(readInput(rest[0])))))
      else out(jsonToMessage(readText(rest[0])))
      return 0
    }
    case 'sign': {
      const { opts, rest } = parseArgs(args, ['wallet', 'codec'], [])
      const codec = codecOf(opts, ['httpsig', 'ans104'], 'httpsig')
      if (typeof opts['wallet'] !== 'string') throw new CliUsage('--wallet JWK is required')
      let jwk: unknown
      try { jwk = JSON.parse(readText(opts['wallet'])) } catch (e) { if (e instanceof AoError) throw e; throw new BadInput('the wallet file is not JSON') }
      const wallet = await loadJwk(jwk as object)
      const msg = readMessage(rest[0])
      if (Array.isArray(msg)) throw new BadInput('only a message (not a list) can be signed')
      out(await commitMessage(msg, { wallet, device: codec === 'ans104' ? 'ans104@1.0' : HTTPSIG }))
      return 0
    }
    case 'verify': {
      const { opts, rest } = parseArgs(args, ['codec'], [])
      const codec = opts['codec'] === undefined ? 'message' : codecOf(opts, ['ans104', 'httpsig'])
      let msg: Message
      if (codec === 'ans104') msg = await ans104Cli.decode(readInput(rest[0]))
      else {
        const m = readMessage(rest[0])
        if (Array.isArray(m)) throw new BadInput('a list has no commitments')
        msg = m
      }
      const v = await verifyMessage(msg)
      out({ id: messageId(msg, 'signed'), verified: v.verified, committers: v.committers })
      return v.verified ? 0 : 1
    }
    case 'serve': {
      const { serveCommand } = await import('./serve.ts')
      return serveCommand(args)
    }
    case 'relay': {
      const { relayCommand } = await import('./relay.ts')
      return relayCommand(args)
    }
    case 'snp': {
      const { snpCommand } = await import('./snp.ts')
      return snpCommand(args)
    }
    case undefined: case 'help': case '--help': case '-h':
      writeOut(USAGE + '\n')
      return cmd === undefined ? 2 : 0
    default:
      throw new CliUsage(`unknown command ${JSON.stringify(cmd)}\n${USAGE}`)
  }
}

export async function run(argv: string[]): Promise<void> {
  try {
    process.exitCode = await main(argv)
  } catch (e) {
    const err = e as Error
    const name = err instanceof AoError ? err.name : err?.name ?? 'Error'
    process.stderr.write(`ao: ${name}: ${String(err?.message ?? err).split('\n')[0]}\n`)
    process.exitCode = 2
  }
}

