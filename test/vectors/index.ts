/** Every vector suite; run by test/unit/vectors.test.ts (Node) and test/browser (Chromium worker). */
import type { SuiteLoader } from './harness.ts'
import { idsSuite } from './ids.suite.ts'
import { hashpathSuite } from './hashpath.suite.ts'
import { codecsSuite } from './codecs.suite.ts'
import { signedSuite } from './signed.suite.ts'
import { structuredFieldsSuite } from './structured-fields.suite.ts'
import { smokeSuite } from './smoke.suite.ts'
import { ans104Suite } from './ans104.suite.ts'
import { pathsSuite } from './paths.suite.ts'
import { snpSuite } from './snp.suite.ts'

export const suites: SuiteLoader[] = [
  ans104Suite,
  idsSuite,
  hashpathSuite,
  codecsSuite,
  signedSuite,
  structuredFieldsSuite,
  smokeSuite,
  pathsSuite,
  snpSuite,
]
