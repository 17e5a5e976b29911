/**
 * Shared by the browser tests and benches: launch Debian's Chromium through
 * playwright-core with a fresh profile, and small helpers for temp dirs,
 * deadlines and running a build step.
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
]

export const tempDir = (prefix) => mkdtemp(join(tmpdir(), `ao-tab-${prefix}-`))
export const removeDir = (dir) => (dir ? rm(dir, { recursive: true, force: true }) : undefined)

/** A persistent context on a fresh profile; `close()` also removes the profile. */
export async function launch() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: install it with 'apt-get install -y chromium' (or set CHROMIUM_PATH)`)
  }
  const profile = await tempDir('profile')
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM, headless: true, args: ARGS,
    })
    return {
      context,
      async close() {
        await context.close().catch(() => {})
        await removeDir(profile)
      },
    }
  } catch (e) {
    await removeDir(profile)
    throw e
  }
}

/** Rejects after `ms` with `what` in the message; `clear()` cancels it. */
export function deadline(ms, what) {
  let timer
  const promise = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${Math.round(ms / 1000)} s`)), ms)
  })
  return { promise, clear: () => clearTimeout(timer) }
}

/** One line per error: multi-line messages are folded so each failure stays on its own line. */
export const oneLine = (s) => String(s).trim().replace(/\s*\n\s*/g, ' | ')

/** The repository root (this file is test/browser/chromium.js). */
export const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..')

/** Run a command in the repository root to its end; resolves with its output, rejects on a non-zero exit. */
export function run(cmd, args) {
  return new Promise((ok, fail) => {
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d) => { out += d })
    child.stderr.on('data', (d) => { out += d })
    child.on('error', fail)
    child.on('close', (code) => (code === 0 ? ok(out) : fail(new Error(`${args.join(' ')} exited ${code}:\n${out}`))))
  })
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** Polls `f` until it returns a truthy value without `wait` (returned) or `ms` passes (throws with `what` and the last value). */
export async function until(f, what, ms = 30_000, every = 100) {
  const end = Date.now() + ms
  let last
  for (;;) {
    last = await f()
    if (last && !last.wait) return last
    if (Date.now() > end) throw new Error(`${what}: not within ${ms / 1000} s (last: ${JSON.stringify(last?.wait ?? last)?.slice(0, 600)})`)
    await sleep(every)
  }
}
