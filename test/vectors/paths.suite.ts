/** HyperBEAM `paths` vectors: hb_singleton:from(Request) → the message list, or a rejection. */
import type { SuiteLoader, VectorCase } from './harness.ts'
import { category, str } from './oracle.ts'
import { deepEqual, ok, rejects } from './assert.ts'
import { fromJson } from '../../src/core/typed-json.ts'
import { isMessage, type Message } from '../../src/core/value.ts'
import { parsePath, renderPath } from '../../src/core/path.ts'
import { AoError, InvalidPath } from '../../src/core/errors.ts'

export const pathsSuite: SuiteLoader = async (fx) => {
  const cases: VectorCase[] = []
  for (const c of await category(fx, 'paths')) {
    const request = fromJson(c.request)
    const name = str(c.name)
    cases.push({
      name: `path ${name.length > 80 ? name.slice(0, 77) + '…' : name}`,
      run: async () => {
        ok(isMessage(request), 'request is a message')
        if (c.rejected) {
          const e = await rejects(() => parsePath(request as Message), 'InvalidPath', 'parsePath')
          ok(e instanceof InvalidPath && e instanceof AoError, 'typed error')
          ok((e as AoError).status >= 400 && (e as AoError).status < 600, 'HTTP status')
          return
        }
        const got = parsePath(request as Message)
        deepEqual(got, fromJson(c.messages), 'messages')
        // to/1 then from/1 is idempotent on what from/1 produced (as HyperBEAM's own tests check).
        const again = parsePath(renderPath(got))
        deepEqual(parsePath(renderPath(again)), again, 'render/parse fixpoint')
      },
    })
  }
  return { name: 'paths (hb_singleton)', cases }
}
