/** Runs every vector suite of test/vectors in Node. */
import { describe, it } from 'vitest'
import { suites } from '../vectors/index.ts'
import { nodeFixtures } from './node-fixtures.ts'

for (const load of suites) {
  const suite = await load(nodeFixtures)
  describe(suite.name, () => {
    for (const c of suite.cases) it(c.name, c.run)
  })
}
