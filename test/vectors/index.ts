/** Every vector suite; run by test/unit/vectors.test.ts (Node) and test/browser (Chromium worker). */
import type { SuiteLoader } from './harness.ts'

export const suites: SuiteLoader[] = [
]
