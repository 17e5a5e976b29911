/**
 * Vector suites run unchanged in Node (vitest) and in a Chromium Web Worker
 * (test/browser). A suite reads its known answers through `Fixtures`, paths
 * relative to the shared folder beside the repository (`../shared`).
 */
export interface Fixtures {
  /** JSON parsed with lossless-json: numbers arrive as LosslessNumber (exact big integers). */
  json<T = any>(rel: string): Promise<T>
  bytes(rel: string): Promise<Uint8Array>
  /** File names (not paths) in a folder of the shared data, sorted. */
  list(relDir: string): Promise<string[]>
}

export interface VectorCase { name: string; run: () => void | Promise<void> }
export interface VectorSuite { name: string; cases: VectorCase[] }
export type SuiteLoader = (fx: Fixtures) => Promise<VectorSuite>
