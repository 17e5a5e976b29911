/**
 * Functions run IN a page of the PWA (passed to Playwright's page.evaluate,
 * which sends their source): the dApp helpers bound to the tab's node, kept at
 * `window.page` for the page functions that follow. They may use only what
 * the page has (`aoDapp`, `aoNode`) and their argument.
 */

/** The dApp helpers and the test wallet, straight to the tab's node (no service worker needed). */
export async function pageSetup({ jwk }) {
  const ao = await aoDapp()
  const w = await ao.loadJwk(jwk)
  const f = (p, init) => aoNode.fetch(p, init)
  window.page = { ao, w, post: (p, m) => ao.post(p, m, f), get: (p) => ao.get(p, f) }
  return w.address
}

/** A hyper-token-shaped Lua process spawned at this page's node, scheduled by `scheduler`. */
export async function pageSpawn({ lua, start, scheduler }) {
  const { ao, w, post } = window.page
  const proc = await ao.sign({
    device: 'process@1.0', type: 'Process', 'scheduler-device': 'scheduler@1.0', 'execution-device': 'lua@5.3a',
    scheduler, authority: [scheduler],
    module: ao.message({ 'content-type': 'application/lua', body: lua }),
    balance: ao.message({ [w.address]: BigInt(start) }),
  }, w)
  const r = await post('/~scheduler@1.0/schedule', proc)
  return { status: r.status, text: r.text.slice(0, 300), slot: String(r.msg.slot), pid: ao.signedId(proc) }
}
