/**
 * Shared by the browser tests: launch Debian's Chromium through playwright-core
 * with a fresh profile, and small helpers for temp dirs and deadlines.
 */
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
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
