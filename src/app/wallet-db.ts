/**
 * The node's wallet across reloads: its JWK in IndexedDB (database
 * `ao-tab-wallet`, store `keys`, key `node`), loaded with loadJwk; a fresh
 * RSA-4096 wallet is generated and stored on first start. A tiny helper over
 * the raw IndexedDB API, usable in a worker.
 *
 * The JWK is origin storage in plain text, as an Arweave keyfile on disk is:
 * anything that runs on this origin can read it.
 */
import { generateWallet, loadJwk, type RsaJwk, type Wallet } from '../crypto/wallet.ts'

const DB_NAME = 'ao-tab-wallet'
const STORE = 'keys'
const KEY = 'node'

const done = <T>(r: IDBRequest<T>): Promise<T> =>
  new Promise((ok, fail) => {
    r.onsuccess = () => ok(r.result)
    r.onerror = () => fail(r.error)
  })

function open(): Promise<IDBDatabase> {
  const r = indexedDB.open(DB_NAME, 1)
  r.onupgradeneeded = () => r.result.createObjectStore(STORE)
  return done(r)
}

const read = (db: IDBDatabase): Promise<RsaJwk | undefined> =>
  done(db.transaction(STORE, 'readonly').objectStore(STORE).get(KEY))

/** Stores `jwk` unless a JWK is already there (another tab won the race); returns what is stored. */
async function addOrRead(db: IDBDatabase, jwk: RsaJwk): Promise<RsaJwk> {
  try {
    await done(db.transaction(STORE, 'readwrite').objectStore(STORE).add(jwk, KEY))
    return jwk
  } catch (e) {
    if ((e as DOMException | null)?.name !== 'ConstraintError') throw e
    const stored = await read(db)
    if (!stored) throw e
    return stored
  }
}

export interface NodeWallet {
  wallet: Wallet
  /** True when this start generated it. */
  created: boolean
}

/**
 * The stored wallet, or a new one. A stored JWK that does not load is an
 * error (InvalidWallet), never silently replaced: that would change the
 * node's address.
 */
export async function loadNodeWallet(): Promise<NodeWallet> {
  const db = await open()
  try {
    const stored = await read(db)
    if (stored) return { wallet: await loadJwk(stored), created: false }
    const wallet = await generateWallet()
    const kept = await addOrRead(db, wallet.jwk)
    return kept.n === wallet.jwk.n ? { wallet, created: true } : { wallet: await loadJwk(kept), created: false }
  } finally {
    db.close()
  }
}
