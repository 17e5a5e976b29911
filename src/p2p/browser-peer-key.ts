/**
 * The page's libp2p identity, kept in IndexedDB (database `ao-tab-peer`) so a
 * reloaded tab keeps its peer ID, hence its announced addresses. Browser-only.
 * The key is Ed25519, stored as libp2p's protobuf encoding.
 */
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'

export const DEFAULT_PEER_DB = 'ao-tab-peer'
const STORE = 'keys'
const KEY = 'peer-key'

function open(name: string): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(name, 1)
    req.onupgradeneeded = () => { req.result.createObjectStore(STORE) }
    req.onsuccess = () => resolve(req.result)
    req.onerror = () => reject(req.error ?? new Error(`cannot open IndexedDB ${name}`))
  })
}

function run<T>(db: IDBDatabase, mode: IDBTransactionMode, f: (s: IDBObjectStore) => IDBRequest): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = f(db.transaction(STORE, mode).objectStore(STORE))
    req.onsuccess = () => resolve(req.result as T)
    req.onerror = () => reject(req.error ?? new Error('IndexedDB request failed'))
  })
}

/** The stored peer key, or a new one (then stored). */
export async function loadPeerKey(name: string = DEFAULT_PEER_DB): Promise<{ key: PrivateKey; created: boolean }> {
  const db = await open(name)
  try {
    const bytes = await run<Uint8Array | undefined>(db, 'readonly', (s) => s.get(KEY))
    if (bytes instanceof Uint8Array) return { key: privateKeyFromProtobuf(bytes), created: false }
    const key = await generateKeyPair('Ed25519')
    await run(db, 'readwrite', (s) => s.put(privateKeyToProtobuf(key), KEY))
    return { key, created: true }
  } finally {
    db.close()
  }
}
