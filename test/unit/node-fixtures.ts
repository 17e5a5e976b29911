/** Fixtures for Node: files of the shared folder beside the repository. */
import { readFile, readdir } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { resolve } from 'node:path'
import { parse as losslessParse } from 'lossless-json'
import type { Fixtures } from '../vectors/harness.ts'

export const SHARED = process.env.AO_SHARED ?? resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../shared')

export const nodeFixtures: Fixtures = {
  async json(rel) { return losslessParse(await readFile(resolve(SHARED, rel), 'utf8')) as any },
  async bytes(rel) { return new Uint8Array(await readFile(resolve(SHARED, rel))) },
  async list(rel) { return (await readdir(resolve(SHARED, rel))).sort() },
}
