/** CLI input/output helpers (Node only). */
import { readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { loadJwk, type Wallet } from '../crypto/wallet.ts'
import { BadInput } from '../core/errors.ts'

export class CliUsage extends BadInput {}
export class CliFileError extends BadInput {}

/** Read FILE, or standard input for `-`. */
export function readInput(file: string | undefined): Uint8Array {
  if (file === undefined) throw new CliUsage('missing FILE (use - for standard input)')
  try {
    return new Uint8Array(readFileSync(file === '-' ? 0 : file))
  } catch (e) {
    throw new CliFileError(`cannot read ${file === '-' ? 'standard input' : file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`)
  }
}

export const readText = (file: string | undefined): string => new TextDecoder().decode(readInput(file))

export function writeOut(data: string | Uint8Array): void {
  process.stdout.write(typeof data === 'string' ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength))
}

/** Parse `--flag value` and `--flag` options; the rest are positional. */
export function parseArgs(argv: string[], valued: string[], flags: string[]): { opts: Record<string, string | true>; rest: string[] } {
  const opts: Record<string, string | true> = {}
  const rest: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a.startsWith('--') && a.length > 2) {
      const eq = a.indexOf('=')
      const name = eq > 0 ? a.slice(2, eq) : a.slice(2)
      if (valued.includes(name)) {
        const v = eq > 0 ? a.slice(eq + 1) : argv[++i]
        if (v === undefined) throw new CliUsage(`--${name} needs a value`)
        opts[name] = v
      } else if (flags.includes(name) && eq < 0) opts[name] = true
      else throw new CliUsage(`unknown option --${name}`)
    } else rest.push(a)
  }
  return { opts, rest }
}

/** A wallet from a JWK file (`--wallet`): a missing or non-JSON file is BadInput. */
export async function walletFromFile(file: string): Promise<Wallet> {
  let jwk: unknown
  try {
    jwk = JSON.parse(await readFile(file, 'utf8'))
  } catch (e) {
    throw new BadInput(`--wallet ${file}: ${(e as NodeJS.ErrnoException).code ?? 'not a JSON file'}`)
  }
  return loadJwk(jwk as object)
}
