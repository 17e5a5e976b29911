/** HyperBEAM's HTTP API as one Web-standard handler (spec §5). Being written; see issue 3. */
import type { AoNode } from './node.ts'

export async function handleHttp(_node: AoNode, _request: Request): Promise<Response> {
  return new Response('not yet', { status: 501 })
}
