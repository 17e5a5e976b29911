/**
 * Where wasmoon's glue.wasm is: the one place Node and the browser differ.
 * In Node wasmoon finds its own file (undefined here); in a browser build the
 * URL must be given, or wasmoon would fetch it from unpkg. Vite turns the
 * `?url` import into a hashed asset of the build (precached by the PWA).
 */
let override: string | undefined

/** Use this URL for glue.wasm (e.g. a page that serves it elsewhere). */
export function setLuaWasmUrl(url: string | undefined): void {
  override = url
}

const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string'

export async function luaWasmUrl(): Promise<string | undefined> {
  if (override !== undefined) return override
  if (isNode) return undefined
  const mod = await import('wasmoon/dist/glue.wasm?url')
  return mod.default
}
