/**
 * The host's peer identity kept in a file (Node only), so a restarted relay
 * or node keeps its peer ID and therefore its multiaddrs. The file holds the
 * libp2p protobuf encoding of an Ed25519 private key (mode 0600).
 */
import { readFile, writeFile, rename, mkdir } from 'node:fs/promises'
import { dirname } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { StoreFailed } from '../core/errors.ts'

/** The file name used beside a node's store directory. */
export const PEER_KEY_FILE = 'peer-key'

export async function loadOrCreatePeerKey(file: string): Promise<PrivateKey> {
  let bytes: Uint8Array | undefined
  try {
    bytes = new Uint8Array(await readFile(file))
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new StoreFailed(`cannot read the peer key ${file}: ${(e as Error).message}`)
  }
  if (bytes !== undefined) {
    try {
      return privateKeyFromProtobuf(bytes)
    } catch (e) {
      throw new StoreFailed(`the peer key ${file} is not a libp2p private key: ${(e as Error).message}`)
    }
  }
  const key = await generateKeyPair('Ed25519')
  try {
    await mkdir(dirname(file), { recursive: true })
    const tmp = `${file}.${process.pid}.tmp`
    await writeFile(tmp, privateKeyToProtobuf(key), { mode: 0o600 })
    await rename(tmp, file)
  } catch (e) {
    throw new StoreFailed(`cannot write the peer key ${file}: ${(e as Error).message}`)
  }
  return key
}
