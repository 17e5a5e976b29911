/** Validation outcomes of gossip payloads, as gossipsub's TopicValidatorResult strings. */
import { TopicValidatorResult } from '@libp2p/gossipsub'

/** accept: deliver and forward; reject: drop and lower the sender's score; ignore: drop (duplicates, our own trouble). */
export type Verdict = 'accept' | 'reject' | 'ignore'

export function toResult(v: Verdict): TopicValidatorResult {
  return v === 'accept' ? TopicValidatorResult.Accept : v === 'reject' ? TopicValidatorResult.Reject : TopicValidatorResult.Ignore
}

/** A bounded set of recently seen IDs (oldest forgotten first). */
export class SeenSet {
  private readonly ids = new Set<string>()
  constructor(private readonly limit = 10_000) {}
  has(id: string): boolean { return this.ids.has(id) }
  add(id: string): void {
    this.ids.add(id)
    if (this.ids.size > this.limit) this.ids.delete(this.ids.values().next().value as string)
  }
}
