/**
 * Arweave wallets: RSA-4096 JWKs (e = 65537) as HyperBEAM's ar_wallet writes
 * them ({kty, ext, e, n, d, p, q, dp, dq, qi}, base64url). The address is
 * base64url(sha256(n)). Keys live in WebCrypto; nothing here is hand-rolled.
 */
import { fromB64, toB64Url, utf8 } from '../core/bytes.ts'
import { InvalidWallet } from '../core/errors.ts'
import { sha256 } from './hash.ts'
import { cachePublicKey, rsaPssSign, type PssHash } from './rsa.ts'

export interface RsaJwk {
  kty: 'RSA'
  ext?: boolean
  n: string
  e: string
  d: string
  p: string
  q: string
  dp: string
  dq: string
  qi: string
}

export interface Wallet {
  readonly jwk: RsaJwk
  /** The modulus: 512 bytes for an RSA-4096 key (the ANS-104 `owner`). */
  readonly n: Uint8Array
  /** base64url(sha256(n)). */
  readonly address: string
  /** The RSA-PSS signing key for a hash (MGF1 with the same hash). */
  privateKey(hash: PssHash): CryptoKey
  /** The RSA-PSS verifying key for a hash. */
  publicKey(hash: PssHash): CryptoKey
  /** RSA-PSS sign; salt defaults to the digest length (HyperBEAM's rsa_pss convention). */
  sign(hash: PssHash, data: Uint8Array, saltLength?: number): Promise<Uint8Array>
  /** ANS-104 / ar_wallet signing: RSA-PSS SHA-256, salt 32. */
  signSha256(data: Uint8Array): Promise<Uint8Array>
  /** httpsig rsa-pss-sha512 signing: RSA-PSS SHA-512, salt 64. */
  signSha512(data: Uint8Array): Promise<Uint8Array>
}

const FIELDS = ['n', 'e', 'd', 'p', 'q', 'dp', 'dq', 'qi'] as const
const MODULUS_BYTES = 512
const HASHES: PssHash[] = ['SHA-256', 'SHA-512']
const SALT: Record<PssHash, number> = { 'SHA-256': 32, 'SHA-512': 64 }

/** The Arweave address of an RSA modulus: base64url(sha256(n)). */
export const ownerAddress = (n: Uint8Array): string => toB64Url(sha256(n))

function field(jwk: Record<string, unknown>, name: string): Uint8Array {
  const v = jwk[name]
  if (typeof v !== 'string' || v.length === 0) throw new InvalidWallet(`JWK field ${name} is missing`)
  try {
    return fromB64(v)
  } catch {
    throw new InvalidWallet(`JWK field ${name} is not base64url`)
  }
}

/** Load an RSA JWK (Arweave keyfile) into WebCrypto keys. */
export async function loadJwk(jwk: object): Promise<Wallet> {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) throw new InvalidWallet('a JWK must be an object')
  const j = jwk as Record<string, unknown>
  if (j.kty !== 'RSA') throw new InvalidWallet(`JWK kty must be RSA, not ${String(j.kty)}`)
  const bytes: Record<string, Uint8Array> = {}
  for (const f of FIELDS) bytes[f] = field(j, f)
  const e = bytes.e!
  let i = 0
  while (i < e.length && e[i] === 0) i++
  if (e.length - i !== 3 || e[i] !== 1 || e[i + 1] !== 0 || e[i + 2] !== 1) throw new InvalidWallet('JWK public exponent must be 65537')
  const n = bytes.n!
  if (n.length !== MODULUS_BYTES || n[0] === 0) throw new InvalidWallet(`JWK modulus must be 4096 bits, got ${n.length} bytes`)
  const clean: RsaJwk = { kty: 'RSA', ext: true, e: 'AQAB', n: toB64Url(n) } as RsaJwk
  for (const f of FIELDS) if (f !== 'n' && f !== 'e') clean[f] = toB64Url(bytes[f]!)

  const priv = {} as Record<PssHash, CryptoKey>
  const pub = {} as Record<PssHash, CryptoKey>
  const subtle = globalThis.crypto.subtle
  try {
    for (const hash of HASHES) {
      const alg = hash === 'SHA-256' ? 'PS256' : 'PS512'
      priv[hash] = await subtle.importKey('jwk', { ...clean, alg, key_ops: ['sign'] }, { name: 'RSA-PSS', hash }, false, ['sign'])
      pub[hash] = await subtle.importKey('jwk', { kty: 'RSA', n: clean.n, e: clean.e, alg, ext: true, key_ops: ['verify'] },
        { name: 'RSA-PSS', hash }, false, ['verify'])
    }
  } catch (err) {
    throw new InvalidWallet(`JWK is not a usable RSA key: ${(err as Error).message}`)
  }

  // A JWK whose private parts do not belong to n imports fine and signs garbage: check once.
  const probe = new Uint8Array(utf8('ao wallet self-test'))
  const sig = new Uint8Array(await subtle.sign({ name: 'RSA-PSS', saltLength: 32 }, priv['SHA-256'], probe))
  if (!(await subtle.verify({ name: 'RSA-PSS', saltLength: 32 }, pub['SHA-256'], sig, probe))) {
    throw new InvalidWallet('JWK private key does not match its modulus')
  }
  for (const hash of HASHES) cachePublicKey(n, hash, pub[hash])

  const wallet: Wallet = {
    jwk: clean,
    n,
    address: ownerAddress(n),
    privateKey: (hash) => priv[hash],
    publicKey: (hash) => pub[hash],
    sign: (hash, data, saltLength = SALT[hash]) => rsaPssSign(wallet, hash, saltLength, data),
    signSha256: (data) => rsaPssSign(wallet, 'SHA-256', 32, data),
    signSha512: (data) => rsaPssSign(wallet, 'SHA-512', 64, data),
  }
  return wallet
}

/** A fresh RSA-4096 wallet (e = 65537), exportable through `wallet.jwk`. */
export async function generateWallet(): Promise<Wallet> {
  const pair = await globalThis.crypto.subtle.generateKey(
    { name: 'RSA-PSS', modulusLength: 4096, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    true,
    ['sign', 'verify'],
  )
  const jwk = await globalThis.crypto.subtle.exportKey('jwk', pair.privateKey)
  return loadJwk(jwk)
}
